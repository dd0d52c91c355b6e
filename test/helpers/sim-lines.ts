/**
 * Helpers for the simulator's tests: collect what the device sends, and read lines from a
 * real port (PTY or TCP) with a wait that fails with the caller's stack.
 */
import fs from 'node:fs';
import type { Readable } from 'node:stream';
import tty from 'node:tty';
import type { SimDevice } from '../../firmware-sim/index.js';

/** Every byte the device sent, as one latin1 string. */
export function captureOutput(device: SimDevice): { text: () => string; clear: () => void } {
  let out = '';
  device.on('output', (chunk) => (out += chunk.toString('latin1')));
  return { text: () => out, clear: () => (out = '') };
}

/** A device whose start-up HELLO has gone out already (so tests see only their own output). */
export async function started(device: SimDevice): Promise<SimDevice> {
  await new Promise<void>((resolve) => process.nextTick(resolve));
  return device;
}

/**
 * Splits a byte stream into LF lines (CR stripped) and lets a test wait for a matching
 * one. The wait's error is created when the wait starts, so it points at the test.
 */
export class LineReader {
  readonly lines: string[] = [];
  private buffer = '';
  private waiters: Array<{ match: (line: string) => boolean; resolve: (line: string) => void }> = [];
  private nextIndex = 0;

  constructor(stream: Readable) {
    stream.on('data', (chunk: Buffer) => this.push(chunk));
  }

  push(chunk: Buffer): void {
    this.buffer += chunk.toString('latin1');
    let index: number;
    while ((index = this.buffer.indexOf('\n')) >= 0) {
      const line = this.buffer.slice(0, index).replace(/\r$/, '');
      this.buffer = this.buffer.slice(index + 1);
      this.lines.push(line);
      this.deliver();
    }
  }

  /** Resolves with the next unread line that matches (earlier unread lines are skipped). */
  next(match: RegExp | string | ((line: string) => boolean), timeoutMs = 5000): Promise<string> {
    const test =
      typeof match === 'function' ? match : typeof match === 'string' ? (l: string) => l === match : (l: string) => match.test(l);
    const error = new Error(`no line matching ${String(match)} within ${timeoutMs} ms`);
    return new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        error.message += `; lines seen: ${JSON.stringify(this.lines)}`;
        reject(error);
      }, timeoutMs);
      const waiter = {
        match: test,
        resolve: (line: string) => {
          clearTimeout(timer);
          resolve(line);
        },
      };
      this.waiters.push(waiter);
      this.deliver();
    });
  }

  private deliver(): void {
    while (this.waiters.length > 0 && this.nextIndex < this.lines.length) {
      const line = this.lines[this.nextIndex++]!;
      const waiter = this.waiters[0]!;
      if (waiter.match(line)) {
        this.waiters.shift();
        waiter.resolve(line);
      }
    }
  }
}

/**
 * Open a tty path the plain way (node:fs + tty streams). Unlike serialport, whose reads
 * can spin without ever emitting `close` when the pty goes away (bindings-cpp #162), this
 * reliably ends when the other side of the pty disappears.
 */
export function openTty(path: string): {
  stream: import('node:tty').ReadStream;
  reader: LineReader;
  write: (text: string) => Promise<void>;
  ended: Promise<void>;
} {
  const fd = fs.openSync(path, fs.constants.O_RDWR | fs.constants.O_NOCTTY);
  const stream = new tty.ReadStream(fd);
  stream.on('error', () => {});
  const ended = new Promise<void>((resolve) => stream.once('close', () => resolve()));
  const reader = new LineReader(stream);
  const write = (text: string) =>
    new Promise<void>((resolve, reject) => stream.write(text, (err) => (err ? reject(err) : resolve())));
  return { stream, reader, write, ended };
}
