/**
 * One daemon per state directory: `pinauthd.lock` holds the owner's pid. The lock file is
 * written under a temp name and hard-linked into place, so it is created atomically
 * (link fails with EEXIST like O_EXCL) and never seen empty. A lock whose pid is gone is
 * stale and taken over.
 *
 * Taking the lock uses synchronous calls: it happens once, at start, before anything else
 * could run, and a handful of libuv threadpool round trips (the first of them starting the
 * pool) cost the first screen ~2 ms more than the calls themselves.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, constants, linkSync, mkdirSync, openSync, readSync, unlinkSync, writeFileSync } from 'node:fs';
import { unlink } from 'node:fs/promises';
import path from 'node:path';
import { PinauthError } from '../errors.js';
import { DIR_MODE, FILE_MODE, storeIoError } from './durable-file.js';
import { checkStateDirectory } from './state-dir.js';

export const LOCK_NAME = 'pinauthd.lock';

export interface InstanceLock {
  readonly path: string;
  /** Remove the lock if it is still ours. Safe to call twice. */
  release(): Promise<void>;
}

/** Lock files this process holds: a lock with our own pid that is not here is stale (pid reuse after reboot). */
const heldHere = new Set<string>();

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: the process exists but belongs to someone else
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** At most 32 bytes, never through a link or from a FIFO: a pid is all a lock file holds. */
function readLockText(lockPath: string): string {
  let fd: number;
  try {
    fd = openSync(lockPath, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ELOOP') return ''; // not ours: stale
    throw e;
  }
  try {
    const buf = Buffer.alloc(32);
    return buf.subarray(0, readSync(fd, buf, 0, buf.length, 0)).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

function readOwner(lockPath: string): number | null {
  try {
    const text = readLockText(lockPath);
    const pid = Number.parseInt(text.trim(), 10);
    return Number.isInteger(pid) && pid > 0 && String(pid) === text.trim() ? pid : null;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw storeIoError('read the lock file', lockPath, e);
  }
}

function tryCreate(lockPath: string): boolean {
  const tmp = `${lockPath}.${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    writeFileSync(tmp, `${process.pid}\n`, { mode: FILE_MODE, flag: 'wx' });
  } catch (e) {
    throw storeIoError('create the lock file', lockPath, e);
  }
  try {
    linkSync(tmp, lockPath);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw storeIoError('create the lock file', lockPath, e);
  } finally {
    try {
      unlinkSync(tmp);
    } catch {
      // already gone
    }
  }
}

function ownerOrNull(lockPath: string): number | null {
  try {
    return readOwner(lockPath);
  } catch {
    return null;
  }
}

/** The pid of a live process holding the lock in `dir`, or null (none, stale, unreadable). */
export async function liveLockOwner(dir: string): Promise<number | null> {
  const owner = ownerOrNull(path.join(path.resolve(dir), LOCK_NAME));
  return owner !== null && owner !== process.pid && isAlive(owner) ? owner : null;
}

export async function acquireInstanceLock(dir: string): Promise<InstanceLock> {
  const absDir = path.resolve(dir);
  const lockPath = path.join(absDir, LOCK_NAME);
  // before mkdir too: a recursive mkdir through another user's link would create directories at its target
  checkStateDirectory(absDir);
  try {
    mkdirSync(absDir, { recursive: true, mode: DIR_MODE });
  } catch (e) {
    throw storeIoError('create the state directory', absDir, e);
  }
  checkStateDirectory(absDir);
  for (let attempt = 0; attempt < 3; attempt++) {
    if (tryCreate(lockPath)) {
      heldHere.add(lockPath);
      let released = false;
      return {
        path: lockPath,
        async release() {
          if (released) return;
          released = true;
          heldHere.delete(lockPath);
          if (ownerOrNull(lockPath) === process.pid) {
            await unlink(lockPath).catch(() => undefined);
          }
        },
      };
    }
    const owner = readOwner(lockPath);
    const live = owner !== null && (owner === process.pid ? heldHere.has(lockPath) : isAlive(owner));
    if (live) {
      throw new PinauthError('STORE_LOCKED', `another pinauthd (pid ${owner}) is running with state directory ${absDir}`);
    }
    // Stale (dead pid, or garbage): take it over. Read the owner again right before the
    // unlink, so a lock another starter has just taken over is not removed (this narrows,
    // but does not close, the window between two simultaneous takeovers).
    if (ownerOrNull(lockPath) !== owner) continue;
    try {
      unlinkSync(lockPath);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw storeIoError('remove the stale lock file', lockPath, e);
    }
  }
  throw new PinauthError('STORE_LOCKED', `could not take the lock ${lockPath}: another pinauthd is starting`);
}
