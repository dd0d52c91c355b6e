/**
 * The console as a Transport: keypad lines from stdin, display text to stdout (or any
 * streams given). Closing never closes the process's own streams.
 */
import { EventEmitter } from 'node:events';
import type { Readable, Writable } from 'node:stream';
import { PinauthError } from '../errors.js';
import type { Transport, TransportEvents } from './types.js';
import { disconnectedError } from './errors.js';

export interface StdioTransportOptions {
  input?: Readable;
  output?: Writable;
}

export class StdioTransport extends EventEmitter<TransportEvents> implements Transport {
  readonly description = 'stdio';
  readonly #input: Readable;
  readonly #output: Writable;
  #open = false;
  readonly #onData = (chunk: Buffer | string): void => {
    this.emit('data', typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  };
  readonly #onEnd = (): void => this.#finish(disconnectedError('stdin', new Error('end of input')));

  constructor(opts: StdioTransportOptions = {}) {
    super();
    this.#input = opts.input ?? process.stdin;
    this.#output = opts.output ?? process.stdout;
  }

  get isOpen(): boolean {
    return this.#open;
  }

  async open(): Promise<void> {
    if (this.#open) return;
    this.#open = true;
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
    this.#finish(null);
  }

  #finish(err: (Error & { disconnected?: boolean }) | null): void {
    if (!this.#open) return;
    this.#open = false;
    this.#input.off('data', this.#onData);
    this.#input.off('end', this.#onEnd);
    this.#input.pause();
    this.emit('close', err);
  }
}
