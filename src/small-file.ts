/**
 * Read a small file that someone else may have pointed us at (a config file, a `..._FILE`
 * secret, a systemd credential, the token store): only a regular file, and never more than a cap. A path to
 * /dev/zero would otherwise grow without end, and a FIFO would hang the start for good.
 *
 * The calls are synchronous: a file of a few KiB on a local disk takes microseconds, while
 * each asynchronous call is a round trip through libuv's thread pool and back, on the way to
 * the daemon's first screen (docs/performance.md, session 5). A FIFO or a device cannot block
 * it: the open does not wait (O_NONBLOCK) and nothing but a regular file is read.
 */
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';

/** The file is not one we read: `why` says what it is instead. */
export class SmallFileRefused extends Error {
  constructor(readonly why: string) {
    super(why);
  }
}

/**
 * The bytes of `file`, at most `maxBytes`. Rejects with SmallFileRefused when it is not a
 * regular file (a FIFO, a device, a socket, a directory) or is larger than the cap, and with
 * the system error (ENOENT, EACCES, ...) when it cannot be opened.
 */
export async function readSmallFile(file: string, maxBytes: number, opts: { noFollow?: boolean } = {}): Promise<Buffer> {
  // O_NONBLOCK: opening a FIFO with no writer returns at once instead of waiting for one
  // (a regular file ignores the flag). O_NOFOLLOW: a symbolic link fails with ELOOP.
  const flags = constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY | (opts.noFollow ? constants.O_NOFOLLOW : 0);
  const fd = openSync(file, flags);
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) {
      if (st.isDirectory()) throw new SmallFileRefused('is a directory');
      const kind = st.isFIFO() ? 'a FIFO' : st.isCharacterDevice() || st.isBlockDevice() ? 'a device' : st.isSocket() ? 'a socket' : 'something else';
      throw new SmallFileRefused(`is ${kind}, not a regular file`);
    }
    // Up to one byte past the cap, whatever stat said: the file can grow while we read.
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const chunk = Buffer.alloc(Math.min(64 * 1024, maxBytes + 1 - total));
      const bytesRead = readSync(fd, chunk, 0, chunk.length, null);
      if (bytesRead === 0) break;
      total += bytesRead;
      if (total > maxBytes) throw new SmallFileRefused(`is larger than ${maxBytes} bytes`);
      chunks.push(chunk.subarray(0, bytesRead));
    }
    return Buffer.concat(chunks);
  } finally {
    closeSync(fd);
  }
}
