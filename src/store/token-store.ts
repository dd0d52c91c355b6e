/**
 * The token store: one lowdb JSON document (./types.ts) behind the durable adapter.
 * Every mutation is applied to a copy, written durably, and only then becomes the state;
 * mutations run one at a time. A file that cannot be trusted is moved aside (kept, never
 * deleted) and the store starts empty, i.e. unauthorized.
 */
import { closeSync, constants as fsConstants, fchmodSync, fstatSync, mkdirSync, openSync, readdirSync, renameSync, unlinkSync } from 'node:fs';
import { lstat, open, readdir, stat } from 'node:fs/promises';
import { readSmallFile } from '../small-file.js';
import path from 'node:path';
import { Low } from 'lowdb';
import type { Logger } from 'pino';
import { PinauthError, isPinauthError } from '../errors.js';
import { validateStoreData } from '../generated/store-validator.js';
import { DIR_MODE, DurableFile, FILE_MODE, MAX_STORE_BYTES, storeIoError, syncDirectory, tempPrefix } from './durable-file.js';
import type { Account, PendingAuthorization, StoreData } from './types.js';
import { storeSchema } from './schema.js';
import { checkStateDirectory } from './state-dir.js';

/** Why `value` is not a StoreData, or null when it is one. Dates must parse too. */
export function storeShapeProblem(value: unknown): string | null {
  if (!validateStoreData(value)) {
    const e = validateStoreData.errors?.[0];
    return e ? `${e.instancePath || '/'} ${e.message ?? 'is invalid'}` : 'wrong shape';
  }
  const data = value as StoreData;
  for (const a of data.accounts) {
    if (Number.isNaN(Date.parse(a.createdAt))) return '/accounts: createdAt is not a date';
    if (a.verifiedAt !== null && Number.isNaN(Date.parse(a.verifiedAt))) return '/accounts: verifiedAt is not a date';
  }
  if (data.pending && Number.isNaN(Date.parse(data.pending.issuedAt))) return '/pending: issuedAt is not a date';
  return null;
}

/** A record the reader left out, and why. */
export interface DroppedRecord {
  what: 'account' | 'pending';
  /** The account's provider and user id when they are readable, for the log. */
  who?: string;
  reason: string;
}

export type TolerantRead = { data: StoreData; dropped: DroppedRecord[] } | { problem: string };

const MAX_ACCOUNTS = storeSchema.properties.accounts.maxItems;

function describeRecord(r: unknown): string | undefined {
  if (typeof r !== 'object' || r === null) return undefined;
  const { provider, userId } = r as Record<string, unknown>;
  return typeof provider === 'string' && typeof userId === 'string' ? `${provider.slice(0, 64)} user ${userId.slice(0, 64)}` : undefined;
}

/**
 * Read a parsed store document record by record: a document that is not one at all (not an
 * object, another version, no account list) is a problem for the whole file; a bad account
 * or pending record is left out, and the records beside it are kept. Each record is checked
 * by the one store schema, as a document holding only that record.
 */
export function readRecords(raw: unknown): TolerantRead {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return { problem: 'the document is not an object' };
  const doc = raw as Record<string, unknown>;
  if (doc.version !== 1) return { problem: '/version must be 1' };
  if (!Array.isArray(doc.accounts)) return { problem: '/accounts must be an array' };
  if (doc.accounts.length > MAX_ACCOUNTS) return { problem: `/accounts has more than ${MAX_ACCOUNTS} records` };
  const data = emptyStoreData();
  const dropped: DroppedRecord[] = [];
  for (const a of doc.accounts as unknown[]) {
    const reason = storeShapeProblem({ version: 1, accounts: [a], pending: null });
    if (reason === null) data.accounts.push(a as Account);
    else dropped.push({ what: 'account', reason, ...(describeRecord(a) ? { who: describeRecord(a)! } : {}) });
  }
  if (doc.pending !== null && doc.pending !== undefined) {
    const reason = storeShapeProblem({ version: 1, accounts: [], pending: doc.pending });
    if (reason === null) data.pending = doc.pending as PendingAuthorization;
    else dropped.push({ what: 'pending', reason });
  }
  return { data, dropped };
}

/** A record must be one the reader takes back: checked before every write. */
function assertStorable(data: StoreData): void {
  const problem = storeShapeProblem(data);
  if (problem !== null) throw new PinauthError('STORE_IO', `refusing to write a record the token store could not read back (${problem})`);
}

export function emptyStoreData(): StoreData {
  return { version: 1, accounts: [], pending: null };
}

// keys that must never reach the file through `extra` (the consumer secret above all)
const SECRET_EXTRA = /secret|signature|verifier|password|^pin$/i;

/** Only the known fields, so that nothing else (a consumer secret spread in by mistake) is written. */
function cleanAccount(a: Account): Account {
  const out: Account = {
    provider: a.provider,
    consumerKey: a.consumerKey,
    userId: a.userId,
    screenName: a.screenName,
    token: a.token,
    tokenSecret: a.tokenSecret,
    createdAt: a.createdAt,
    verifiedAt: a.verifiedAt,
  };
  if (a.extra) {
    const extra = Object.fromEntries(
      Object.entries(a.extra).filter(([k, v]) => typeof v === 'string' && !SECRET_EXTRA.test(k)),
    );
    if (Object.keys(extra).length > 0) out.extra = extra;
  }
  return out;
}

function cleanPending(p: PendingAuthorization): PendingAuthorization {
  return {
    provider: p.provider,
    consumerKey: p.consumerKey,
    token: p.token,
    tokenSecret: p.tokenSecret,
    authorizeUrl: p.authorizeUrl,
    issuedAt: p.issuedAt,
    ...(p.wrongPins ? { wrongPins: p.wrongPins } : {}),
  };
}

function sameKey(x: { provider: string; consumerKey: string }, provider: string, consumerKey: string): boolean {
  return x.provider === provider && x.consumerKey === consumerKey;
}

function deepFreeze<T>(o: T): T {
  if (typeof o === 'object' && o !== null) {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}

function octal(mode: number): string {
  return `0${(mode & 0o777).toString(8)}`;
}

/**
 * `path` opened without following a final symbolic link (O_NOFOLLOW), as a directory or a
 * non-blocking read-only file: its mode is checked and changed through the descriptor.
 *
 * Opening the store checks and repairs with synchronous calls: each takes microseconds on a
 * local disk, while an asynchronous one is a round trip through libuv's thread pool, and the
 * daemon's first request waits for the store (docs/performance.md, session 5).
 */
function openNoFollow(target: string, directory: boolean): number {
  const flags = fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW | (directory ? fsConstants.O_DIRECTORY : fsConstants.O_NONBLOCK);
  try {
    return openSync(target, flags);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ELOOP') throw new PinauthError('STORE_PERMISSIONS', `${target} is a symbolic link: refusing to follow it`);
    if ((e as NodeJS.ErrnoException).code === 'ENOTDIR') throw new PinauthError('STORE_IO', `${target} is not a directory`);
    throw e;
  }
}

/** Create the directory 0700, or repair a group/other-accessible one (warns). Never through another user's link. */
function ensurePrivateDirectory(dir: string, logger: Logger): void {
  checkStateDirectory(dir);
  try {
    mkdirSync(dir, { recursive: true, mode: DIR_MODE });
  } catch (e) {
    throw storeIoError('create the store directory', dir, e);
  }
  // Opened at its real path: the links on the way are checked (systemd's StateDirectory= with
  // DynamicUser= makes /var/lib/pinauthd a link to private/pinauthd), and O_NOFOLLOW then
  // refuses a link swapped in since.
  const { realPath } = checkStateDirectory(dir);
  let fd: number;
  let st;
  try {
    fd = openNoFollow(realPath, true);
  } catch (e) {
    if (isPinauthError(e)) throw e;
    throw storeIoError('open', dir, e);
  }
  try {
    try {
      st = fstatSync(fd);
    } catch (e) {
      throw storeIoError('stat', dir, e);
    }
    if ((st.mode & 0o077) === 0) return;
    if (st.mode & 0o1000) {
      // a shared sticky directory such as /tmp: never chmod it, and do not keep tokens in it
      throw new PinauthError(
        'STORE_PERMISSIONS',
        `store directory ${dir} is shared (mode ${octal(st.mode)}, sticky); use a private directory for store.path`,
      );
    }
    fchmodSync(fd, DIR_MODE);
  } catch (e) {
    if (isPinauthError(e)) throw e;
    throw new PinauthError(
      'STORE_PERMISSIONS',
      `store directory ${dir} is accessible to group/others (mode ${octal(st!.mode)}) and cannot be repaired (${(e as NodeJS.ErrnoException).code})`,
      { cause: e },
    );
  } finally {
    closeSync(fd);
  }
  logger.warn({ path: dir, was: octal(st.mode), now: octal(DIR_MODE) }, 'store directory was accessible to group/others; mode repaired to 0700');
}

/** Check the store file: a regular file (never a link), and 0600 (repaired with a warning). false: no file. */
function ensurePrivateFile(file: string, logger: Logger): boolean {
  let fd: number;
  try {
    fd = openNoFollow(file, false);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    if (isPinauthError(e)) throw e;
    throw storeIoError('open', file, e);
  }
  let st;
  try {
    st = fstatSync(fd);
    if (!st.isFile()) throw new PinauthError('STORE_IO', `${file} is not a regular file`);
    if ((st.mode & 0o077) === 0) return true;
    try {
      fchmodSync(fd, FILE_MODE);
    } catch (e) {
      throw new PinauthError(
        'STORE_PERMISSIONS',
        `token store ${file} is accessible to group/others (mode ${octal(st.mode)}) and cannot be repaired (${(e as NodeJS.ErrnoException).code})`,
        { cause: e },
      );
    }
  } finally {
    closeSync(fd);
  }
  logger.warn({ path: file, was: octal(st.mode), now: octal(FILE_MODE) }, 'token store file was accessible to group/others; mode repaired to 0600');
  return true;
}

/** Remove temp files a crash left between create and rename. */
function removeLeftovers(file: string, logger: Logger): void {
  const dir = path.dirname(file);
  const prefix = tempPrefix(file);
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (e) {
    throw storeIoError('list', dir, e);
  }
  for (const name of names.filter((n) => n.startsWith(prefix))) {
    try {
      unlinkSync(path.join(dir, name));
      logger.info({ path: path.join(dir, name) }, 'removed a temp file left by an interrupted write');
    } catch (e) {
      throw storeIoError('remove the leftover temp file', path.join(dir, name), e);
    }
  }
}

/** A free `<file>.corrupt-<time>[-n]` name for a copy kept aside. */
async function keptName(file: string): Promise<string> {
  const stamp = new Date().toISOString();
  let kept = `${file}.corrupt-${stamp}`;
  for (let n = 1; await lstat(kept).then(() => true, () => false); n++) kept = `${file}.corrupt-${stamp}-${n}`;
  return kept;
}

/** Move an untrusted store file aside (never deleted) and return where it went. */
async function moveAside(file: string): Promise<string> {
  const kept = await keptName(file);
  try {
    // the mode is set through a descriptor of the file itself, never through a name
    const fd = openNoFollow(file, false);
    try {
      renameSync(file, kept);
      fchmodSync(fd, FILE_MODE);
    } finally {
      closeSync(fd);
    }
    await syncDirectory(path.dirname(file));
  } catch (e) {
    if (isPinauthError(e)) throw e;
    throw storeIoError('move the unreadable token store aside to', kept, e);
  }
  return kept;
}

/**
 * The file held records the reader left out: a copy of it is kept aside when an account was
 * among them (a pending request token is worth nothing once unreadable), and the records that
 * were read are written back at once, so the next start finds a clean file. Returns the copy.
 */
async function dropRecords(file: string, db: Low<StoreData>, dropped: DroppedRecord[], logger: Logger): Promise<string | null> {
  const accounts = dropped.filter((d) => d.what === 'account');
  let kept: string | null = null;
  if (accounts.length > 0) {
    kept = await keptName(file);
    try {
      // the copy is a new file of ours (O_EXCL), 0600 before a byte is in it
      const fh = await open(kept, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL | fsConstants.O_NOFOLLOW, FILE_MODE);
      try {
        await fh.chmod(FILE_MODE);
        await fh.writeFile(await readSmallFile(file, MAX_STORE_BYTES, { noFollow: true }));
        await fh.sync();
      } finally {
        await fh.close();
      }
    } catch (e) {
      throw storeIoError('keep a copy of the token store at', kept, e);
    }
  }
  for (const d of dropped) {
    // a lost account is an error (someone has to authorize again); a lost pending code is not
    logger[d.what === 'account' ? 'error' : 'warn'](
      { path: file, record: d.what, ...(d.who ? { who: d.who } : {}), reason: d.reason, ...(kept ? { kept } : {}) },
      d.what === 'pending'
        ? 'left out an unreadable pending authorization in the token store (a new code will be asked for)'
        : `left out an unreadable account in the token store; the other accounts are kept${kept ? ` (the file as it was is kept at ${kept})` : ''}`,
    );
  }
  await db.write();
  return kept;
}

export class TokenStore {
  readonly path: string;
  /**
   * Where an unreadable store file was kept at open, else null: moved aside whole (the store
   * started empty), or copied aside when one of its accounts could not be read (the others
   * were kept).
   */
  readonly recoveredFrom: string | null;
  private readonly db: Low<StoreData>;
  private readonly adapter: DurableFile<StoreData>;
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;

  private constructor(file: string, db: Low<StoreData>, adapter: DurableFile<StoreData>, recoveredFrom: string | null) {
    this.path = file;
    this.db = db;
    this.adapter = adapter;
    this.recoveredFrom = recoveredFrom;
  }

  /**
   * Open (or create) the store at `file`. Directory 0700 and file 0600 are enforced, temp
   * leftovers removed, and an untrusted file moved aside (logged once at error).
   */
  static async open(file: string, logger: Logger): Promise<TokenStore> {
    const abs = path.resolve(file);
    ensurePrivateDirectory(path.dirname(abs), logger);
    removeLeftovers(abs, logger);
    const exists = ensurePrivateFile(abs, logger);
    const adapter = new DurableFile<StoreData>(abs);
    const db = new Low<StoreData>(adapter, emptyStoreData());
    let recoveredFrom: string | null = null;
    if (exists) {
      let read: TolerantRead;
      try {
        // the file exists, so null here is a document that is literally `null`
        read = readRecords(await adapter.read());
      } catch (e) {
        if (!isPinauthError(e, 'STORE_CORRUPT')) throw e;
        read = { problem: 'not valid JSON' };
      }
      if ('problem' in read) {
        recoveredFrom = await moveAside(abs);
        logger.error(
          { path: abs, kept: recoveredFrom, reason: read.problem, code: 'STORE_CORRUPT' },
          `token store was unreadable and was moved aside to ${recoveredFrom}; starting unauthorized`,
        );
      } else {
        db.data = { version: 1, accounts: read.data.accounts.map(cleanAccount), pending: read.data.pending ? cleanPending(read.data.pending) : null };
        if (read.dropped.length > 0) recoveredFrom = await dropRecords(abs, db, read.dropped, logger);
      }
    }
    return new TokenStore(abs, db, adapter, recoveredFrom);
  }

  /** A frozen copy of the whole document. */
  get data(): Readonly<StoreData> {
    return deepFreeze(structuredClone(this.db.data));
  }

  account(provider: string, consumerKey: string): Account | null {
    const a = this.db.data.accounts.find((x) => sameKey(x, provider, consumerKey));
    return a ? structuredClone(a) : null;
  }

  pending(provider: string, consumerKey: string): PendingAuthorization | null {
    const p = this.db.data.pending;
    return p && sameKey(p, provider, consumerKey) ? structuredClone(p) : null;
  }

  /** Replace the account for its provider + consumer key; clears the pending authorization for it. */
  async saveAccount(account: Account): Promise<void> {
    const clean = cleanAccount(account);
    await this.mutate((d) => {
      d.accounts = d.accounts.filter((x) => !sameKey(x, clean.provider, clean.consumerKey));
      d.accounts.push(clean);
      if (d.pending && sameKey(d.pending, clean.provider, clean.consumerKey)) d.pending = null;
      return true;
    });
  }

  /** No-op (nothing written) when there is no such account. */
  async markVerified(provider: string, consumerKey: string, at: Date): Promise<void> {
    await this.mutate((d) => {
      const a = d.accounts.find((x) => sameKey(x, provider, consumerKey));
      if (!a) return false;
      a.verifiedAt = at.toISOString();
      return true;
    });
  }

  /** No-op (nothing written) when there is no such account. */
  async removeAccount(provider: string, consumerKey: string): Promise<void> {
    await this.mutate((d) => {
      const before = d.accounts.length;
      d.accounts = d.accounts.filter((x) => !sameKey(x, provider, consumerKey));
      return d.accounts.length !== before;
    });
  }

  async savePending(pending: PendingAuthorization): Promise<void> {
    const clean = cleanPending(pending);
    await this.mutate((d) => {
      d.pending = clean;
      return true;
    });
  }

  async clearPending(): Promise<void> {
    await this.mutate((d) => {
      if (d.pending === null) return false;
      d.pending = null;
      return true;
    });
  }

  /** Waits for the writes in flight; later mutations reject. Safe to call twice. */
  async close(): Promise<void> {
    this.closed = true;
    await this.queue.catch(() => undefined);
    await this.adapter.flush();
  }

  /**
   * Run one mutation on a copy; when it reports a change, write the copy durably and only
   * then adopt it. One at a time, in call order.
   */
  private mutate(change: (draft: StoreData) => boolean): Promise<boolean> {
    if (this.closed) return Promise.reject(new PinauthError('STORE_IO', `token store ${this.path} is closed`));
    const run = async (): Promise<boolean> => {
      const draft = structuredClone(this.db.data);
      if (!change(draft)) return false;
      assertStorable(draft);
      const before = this.db.data;
      this.db.data = draft;
      try {
        await this.db.write();
      } catch (e) {
        this.db.data = before;
        throw e;
      }
      return true;
    };
    const result = this.queue.then(run, run);
    this.queue = result.catch(() => undefined);
    return result;
  }
}

export type SnapshotState = 'missing' | 'ok' | 'corrupt' | 'unreadable';

/** The document (when state is 'ok', else an empty one; holds token secrets: never print them) and what was found. */
export interface StoreSnapshot extends StoreData {
  path: string;
  state: SnapshotState;
  /** Why it is corrupt or unreadable. */
  reason?: string;
  /** File mode bits (e.g. 0o600) when the file exists. */
  mode?: number;
  /** Files kept aside by earlier recoveries (`tokens.json.corrupt-...`). */
  corruptFiles: string[];
  /** Records left out as unreadable (the daemon drops them at its next start). */
  dropped?: string[];
}

/** Read-only look at the store for `pinauthd status`: never writes, repairs or moves anything. */
export async function readStoreSnapshot(file: string): Promise<StoreSnapshot> {
  const abs = path.resolve(file);
  const base = path.basename(abs);
  const corruptFiles = await readdir(path.dirname(abs)).then(
    (names) => names.filter((n) => n.startsWith(`${base}.corrupt-`)).sort().map((n) => path.join(path.dirname(abs), n)),
    () => [] as string[],
  );
  const snap: StoreSnapshot = { ...emptyStoreData(), path: abs, state: 'missing', corruptFiles };
  try {
    snap.mode = (await lstat(abs)).mode & 0o7777;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return snap;
    return { ...snap, state: 'unreadable', reason: (e as NodeJS.ErrnoException).code ?? 'error' };
  }
  let raw: unknown;
  try {
    raw = await new DurableFile<unknown>(abs).read();
  } catch (e) {
    if (isPinauthError(e, 'STORE_CORRUPT')) return { ...snap, state: 'corrupt', reason: 'not valid JSON' };
    return { ...snap, state: 'unreadable', reason: isPinauthError(e) ? e.message : String(e) };
  }
  const read = readRecords(raw);
  if ('problem' in read) return { ...snap, state: 'corrupt', reason: read.problem };
  const dropped = read.dropped.map((d) => `${d.what}${d.who ? ` (${d.who})` : ''}: ${d.reason}`);
  return { ...snap, state: 'ok', accounts: read.data.accounts, pending: read.data.pending, ...(dropped.length ? { dropped } : {}) };
}
