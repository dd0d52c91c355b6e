/**
 * The console as a Transport: keypad lines from stdin, display text to stdout (or any
 * streams given). Closing never closes the process's own streams.
 */
import { EventEmitter } from 'node:events';
import type { Readable, Writable } from 'node:stream';
import { PinauthError } from '../errors.js';
import type { Transport, TransportEvents } from './types.js';

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
  // The end of stdin is not an unplug: nothing reopens it, and stdout still takes the screens.
  readonly #onEnd = (): void => void this.emit('ended');

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
    if (!this.#open) return;
    this.#open = false;
    this.#input.off('data', this.#onData);
    this.#input.off('end', this.#onEnd);
    this.#input.pause();
    this.emit('close', null);
  }
}
