/** The token store, its durable lowdb adapter and the one-daemon-per-directory lock. */
export * from './types.js';
export {
  TokenStore,
  readStoreSnapshot,
  storeShapeProblem,
  emptyStoreData,
  type StoreSnapshot,
  type SnapshotState,
} from './token-store.js';
export { DurableFile, writeFileDurably, syncDirectory, FILE_MODE, DIR_MODE, type DurableFileOptions } from './durable-file.js';
export { acquireInstanceLock, LOCK_NAME, type InstanceLock } from './lock.js';
