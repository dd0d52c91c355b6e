/**
 * The console as a Transport: keypad lines from stdin, display text to stdout (or any
 * streams given). Closing never closes the process's own streams.
 */
import { EventEmitter } from 'node:events';
import { fstatSync, statSync } from 'node:fs';
import type { Readable, Writable } from 'node:stream';
import { PinauthError } from '../errors.js';
import type { Transport, TransportEvents } from './types.js';

export interface StdioTransportOptions {
  input?: Readable;
  output?: Writable;
  /** The input's file descriptor, looked at by open() (endedAtOpen); default 0 for process.stdin, none for a given input. */
  inputFd?: number;
}

/** Nothing can be read from `fd`, ever: the null device or an empty regular file (fstat only; nothing is read). */
function nothingToRead(fd: number): boolean {
  try {
    const st = fstatSync(fd);
    if (st.isFile()) return st.size === 0;
    return st.isCharacterDevice() && st.rdev === statSync('/dev/null').rdev;
  } catch {
    return false;
  }
}

export class StdioTransport extends EventEmitter<TransportEvents> implements Transport {
  readonly description = 'stdio';
  readonly #input: Readable;
  readonly #output: Writable;
  readonly #inputFd: number | undefined;
  #open = false;
  #endedAtOpen = false;
  readonly #onData = (chunk: Buffer | string): void => {
    this.emit('data', typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  };
  // The end of stdin is not an unplug: nothing reopens it, and stdout still takes the screens.
  readonly #onEnd = (): void => void this.emit('ended');

  constructor(opts: StdioTransportOptions = {}) {
    super();
    this.#input = opts.input ?? process.stdin;
    this.#output = opts.output ?? process.stdout;
    this.#inputFd = opts.inputFd ?? (opts.input ? undefined : 0);
  }

  get isOpen(): boolean {
    return this.#open;
  }

  get endedAtOpen(): boolean {
    return this.#endedAtOpen;
  }

  async open(): Promise<void> {
    if (this.#open) return;
    this.#open = true;
    this.#endedAtOpen = this.#inputFd !== undefined && nothingToRead(this.#inputFd);
    this.#input.on('data', this.#onData);
    this.#input.once('end', this.#onEnd);
    this.#input.resume();
    this.emit('open');
  }

  write(data: Buffer | string): Promise<void> {
    if (!this.#open) return Promise.reject(new PinauthError('DEVICE_DISCONNECTED', 'stdio is not open'));
    return new Promise((resolve, reject) => {
      this.#output.write(data, (err) => (err ? reject(err) : resolve()));
    });
  }

  async close(): Promise<void> {
    if (!this.#open) return;
    this.#open = false;
    this.#input.off('data', this.#onData);
    this.#input.off('end', this.#onEnd);
    this.#input.pause();
    this.emit('close', null);
  }
}
