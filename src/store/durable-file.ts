/**
 * A lowdb adapter that survives a power cut. steno (lowdb's own writer) renames without
 * fsync and leaves the file 0666 & ~umask; here every write is:
 *   temp file in the same directory, O_CREAT|O_EXCL|O_WRONLY, mode 0600
 *   -> write -> fsync -> close -> rename over the target -> fsync the directory.
 * Writes run one at a time; writes asked for while one runs are merged and only the last
 * data is written (each caller's promise settles when data at least as new is durable).
 *
 * The two fsyncs, the only calls that wait for the disk (tens of ms on a flash card), go
 * through libuv's thread pool so that the event loop keeps serving meanwhile; the other calls
 * (open, chmod, write to the page cache, close, rename) take microseconds and are made
 * synchronously, which saves seven round trips through the pool on the way from a PIN to a
 * durable token (docs/performance.md, session 5).
 */
import { randomBytes } from 'node:crypto';
import { closeSync, constants, fchmodSync, fsync, openSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Adapter } from 'lowdb';
import { PinauthError } from '../errors.js';
import { readSmallFile, SmallFileRefused } from '../small-file.js';

export const FILE_MODE = 0o600;
export const DIR_MODE = 0o700;
/** 1000 accounts (the schema's limit) of a few KiB each fit well within this. */
export const MAX_STORE_BYTES = 16 * 1024 * 1024;

/** Durable writes and fsyncs since the process started, and writes under way (`pinauthd status --json`). */
export const durableWriteCounts = { writes: 0, fsyncs: 0, inFlight: 0 };

/** Temp files are `<name>.tmp-<pid>-<random>`; a crash can leave them behind. */
export function tempPrefix(filename: string): string {
  return `${path.basename(filename)}.tmp-`;
}

export function storeIoError(action: string, file: string, e: unknown): PinauthError {
  const code = (e as NodeJS.ErrnoException)?.code;
  const perm = code === 'EACCES' || code === 'EPERM' || code === 'EROFS';
  return new PinauthError(perm ? 'STORE_PERMISSIONS' : 'STORE_IO', `cannot ${action} ${file} (${code ?? String(e)})`, {
    cause: e,
  });
}

/** fsync(2) in libuv's thread pool. */
function fsyncInPool(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fsync(fd, (e) => (e ? reject(e) : resolve())));
}

/** fsync a directory so that a rename in it is on disk. */
export async function syncDirectory(dir: string): Promise<void> {
  const fd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    await fsyncInPool(fd);
    durableWriteCounts.fsyncs++;
  } catch (e) {
    // some file systems cannot fsync a directory; the rename is still atomic there
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'EINVAL' && code !== 'ENOTSUP' && code !== 'EISDIR') throw e;
  } finally {
    closeSync(fd);
  }
}

/** Write `text` to `file` durably (see the module comment). */
export async function writeFileDurably(file: string, text: string): Promise<void> {
  durableWriteCounts.inFlight++;
  try {
    await writeDurably(file, text);
  } finally {
    durableWriteCounts.inFlight--;
  }
}

async function writeDurably(file: string, text: string): Promise<void> {
  const dir = path.dirname(file);
  const tmp = path.join(dir, `${tempPrefix(file)}${process.pid}-${randomBytes(6).toString('hex')}`);
  let fd: number;
  try {
    fd = openSync(tmp, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY, FILE_MODE);
  } catch (e) {
    throw storeIoError('create a temp file for', file, e);
  }
  try {
    try {
      fchmodSync(fd, FILE_MODE); // exact, whatever the umask
      writeFileSync(fd, text, 'utf8');
      await fsyncInPool(fd);
      durableWriteCounts.fsyncs++;
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, file);
    durableWriteCounts.writes++;
  } catch (e) {
    try {
      unlinkSync(tmp);
    } catch {
      // already gone, or the directory went read-only: the next open removes leftovers
    }
    throw storeIoError('write', file, e);
  }
  try {
    await syncDirectory(dir);
  } catch (e) {
    throw storeIoError('sync the directory of', file, e);
  }
}

export interface DurableFileOptions<T> {
  parse?: (text: string) => T;
  stringify?: (data: T) => string;
}

interface Waiter {
  resolve: () => void;
  reject: (e: unknown) => void;
}

export class DurableFile<T> implements Adapter<T> {
  readonly filename: string;
  private readonly parse: (text: string) => T;
  private readonly stringify: (data: T) => string;
  private queued: { data: T; waiters: Waiter[] } | null = null;
  private running: Promise<void> | null = null;

  constructor(filename: string, opts: DurableFileOptions<T> = {}) {
    this.filename = filename;
    this.parse = opts.parse ?? ((text) => JSON.parse(text) as T);
    this.stringify = opts.stringify ?? ((data) => `${JSON.stringify(data, null, 2)}\n`);
  }

  /**
   * null when the file does not exist. A file that does not parse rejects with
   * STORE_CORRUPT (the caller decides what to do with it); I/O errors with STORE_IO or
   * STORE_PERMISSIONS.
   */
  async read(): Promise<T | null> {
    let text: string;
    try {
      // never through a symbolic link, never a FIFO or a device, never without end
      text = (await readSmallFile(this.filename, MAX_STORE_BYTES, { noFollow: true })).toString('utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      if ((e as NodeJS.ErrnoException).code === 'ELOOP') {
        throw new PinauthError('STORE_PERMISSIONS', `${this.filename} is a symbolic link: refusing to follow it`);
      }
      if (e instanceof SmallFileRefused) throw new PinauthError('STORE_IO', `${this.filename} ${e.why}`);
      throw storeIoError('read', this.filename, e);
    }
    try {
      return this.parse(text);
    } catch (e) {
      // never the content in the message: it holds token secrets
      throw new PinauthError('STORE_CORRUPT', `${this.filename} is not valid JSON`, { cause: e });
    }
  }

  write(data: T): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (this.queued) this.queued.data = data;
      else this.queued = { data, waiters: [] };
      this.queued.waiters.push({ resolve, reject });
      this.running ??= this.drain();
    });
  }

  /** Resolves when no write is running or queued. */
  async flush(): Promise<void> {
    while (this.running) await this.running;
  }

  private async drain(): Promise<void> {
    while (this.queued) {
      const job = this.queued;
      this.queued = null;
      try {
        // serialize at write time: the newest state of the data is what goes to disk
        await writeFileDurably(this.filename, this.stringify(job.data));
        for (const w of job.waiters) w.resolve();
      } catch (e) {
        for (const w of job.waiters) w.reject(e);
      }
    }
    this.running = null;
  }
}
