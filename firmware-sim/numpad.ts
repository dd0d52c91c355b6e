/**
 * A USB numeric keypad as the kernel would report it, on a named pipe (FIFO) standing in for
 * its /dev/input/by-id/...-event-kbd node: each key press is written as the events a USB HID
 * keypad makes (EV_MSC/MSC_SCAN, EV_KEY down, EV_SYN, then the same for up) in the layout
 * of linux/input.h `struct input_event` for this machine's Node (24 bytes on a 64-bit one, 16
 * on a 32-bit one). Codes from linux/input-event-codes.h. A daemon reads it with
 * keypad.grab false (a FIFO takes no EVIOCGRAB). Closing the pipe is an unplug.
 */
import { execFileSync } from 'node:child_process';
import { close, constants, open, writeSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

const EV_SYN = 0;
const EV_KEY = 1;
const EV_MSC = 4;
const MSC_SCAN = 4;

/** The keypad's legend -> its key code (a numpad has no D). */
export const NUMPAD_CODES: Readonly<Record<string, number>> = Object.freeze({
  '0': 82, '1': 79, '2': 80, '3': 81, '4': 75, '5': 76, '6': 77, '7': 71, '8': 72, '9': 73,
  '#': 96, // KEY_KPENTER
  '*': 55, // KEY_KPASTERISK
  A: 74, // KEY_KPMINUS
  B: 78, // KEY_KPPLUS
  C: 83, // KEY_KPDOT
});

export function eventSize(): 16 | 24 {
  return ['arm', 'ia32', 'mips', 'mipsel'].includes(process.arch) ? 16 : 24;
}

/** A key's down and up, as input events. */
export function keyTap(code: number, size: 16 | 24 = eventSize(), nowMs = Date.now()): Buffer {
  const events: Array<[number, number, number]> = [
    [EV_MSC, MSC_SCAN, 0x70000 + code], [EV_KEY, code, 1], [EV_SYN, 0, 0],
    [EV_MSC, MSC_SCAN, 0x70000 + code], [EV_KEY, code, 0], [EV_SYN, 0, 0],
  ];
  const out = Buffer.alloc(events.length * size);
  const le = os.endianness() === 'LE';
  events.forEach(([type, c, value], i) => {
    const at = i * size;
    const sec = Math.floor(nowMs / 1000);
    const usec = (nowMs % 1000) * 1000 + i;
    if (size === 24) {
      if (le) {
        out.writeBigInt64LE(BigInt(sec), at);
        out.writeBigInt64LE(BigInt(usec), at + 8);
      } else {
        out.writeBigInt64BE(BigInt(sec), at);
        out.writeBigInt64BE(BigInt(usec), at + 8);
      }
    } else if (le) {
      out.writeUInt32LE(sec >>> 0, at);
      out.writeUInt32LE(usec, at + 4);
    } else {
      out.writeUInt32BE(sec >>> 0, at);
      out.writeUInt32BE(usec, at + 4);
    }
    if (le) {
      out.writeUInt16LE(type, at + size - 8);
      out.writeUInt16LE(c, at + size - 6);
      out.writeInt32LE(value, at + size - 4);
    } else {
      out.writeUInt16BE(type, at + size - 8);
      out.writeUInt16BE(c, at + size - 6);
      out.writeInt32BE(value, at + size - 4);
    }
  });
  return out;
}

export interface FifoNumpad {
  /** The FIFO the daemon reads (keypad.port). */
  readonly path: string;
  /** Whether a reader has the pipe open and keys go through. */
  readonly plugged: boolean;
  pressKey(key: string): void;
  /** Raw bytes into the pipe (noise, partial events). */
  sendRaw(bytes: Buffer): void;
  /** Close our end: the reader sees the end of input, like an unplug. */
  unplug(): Promise<void>;
  /** Open it again (resolves once the daemon has reopened it too). */
  replug(): Promise<void>;
  close(): Promise<void>;
}

/** Make the FIFO at `dir/numpad-event-kbd` and open it for writing once a reader comes. */
export async function startFifoNumpad(dir: string): Promise<FifoNumpad> {
  const fifo = path.join(dir, 'numpad-event-kbd');
  await rm(fifo, { force: true });
  execFileSync('mkfifo', ['-m', '0600', fifo]);
  let fd: number | null = null;
  let opening: Promise<void> | null = null;
  let closed = false;
  const plug = (): Promise<void> => {
    // Opening a FIFO for writing waits for its reader (the daemon).
    opening ??= new Promise<void>((resolve, reject) =>
      open(fifo, 'w', (err, f) => {
        opening = null;
        if (err) return reject(err);
        if (closed) return close(f, () => resolve());
        fd = f;
        resolve();
      }),
    );
    return opening;
  };
  const send = (bytes: Buffer): void => {
    if (fd === null) return;
    // In order, at once: a key's events are far below PIPE_BUF, so each write is atomic.
    try {
      writeSync(fd, bytes);
    } catch {
      // EPIPE: the reader is gone, like keys pressed on an unplugged keypad
    }
  };
  const unplug = async (): Promise<void> => {
    const f = fd;
    fd = null;
    if (f !== null) await new Promise<void>((r) => close(f, () => r()));
  };
  void plug().catch(() => {});
  return {
    path: fifo,
    get plugged() {
      return fd !== null;
    },
    pressKey(key: string) {
      const code = NUMPAD_CODES[key.toUpperCase()];
      if (code === undefined) throw new TypeError(`a numeric keypad has no key ${JSON.stringify(key)}`);
      send(keyTap(code));
    },
    sendRaw: send,
    unplug,
    replug: plug,
    async close() {
      if (closed) return;
      closed = true;
      await unplug();
      // Nothing may stay blocked in an open() of the pipe (it would keep its process alive):
      // a reader still waiting gets a writer and at once the end of input, and our own
      // pending open for writing gets a reader.
      const other = opening ? constants.O_RDONLY : constants.O_WRONLY;
      const pending = opening;
      await new Promise<void>((resolve) =>
        open(fifo, other | constants.O_NONBLOCK, (err, f) => {
          if (err) return resolve();
          void (pending ?? Promise.resolve()).catch(() => {}).finally(() => close(f, () => resolve()));
        }),
      );
      await rm(fifo, { force: true });
    },
  };
}
