/**
 * The one place that picks a transport from a configured port string:
 * `stdio`, `tcp://host:port`, a serial device path, or (for the evdev keypad) an input
 * event device.
 */
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type { SerialSettings } from '../config/types.js';
import { PinauthError } from '../errors.js';
import type { Transport, TransportEvents } from './types.js';
import { StdioTransport } from './stdio.js';
import { TcpTransport } from './tcp.js';

export type { Transport, TransportEvents } from './types.js';
export type { SerialTransport, SerialTransportOptions } from './serial.js';
export { TcpTransport, parseTcpUrl, type TcpTransportOptions } from './tcp.js';
export { StdioTransport, type StdioTransportOptions } from './stdio.js';
export { serialOpenError, tcpConnectError, disconnectedError } from './errors.js';

export interface CreateTransportOptions {
  logger: Logger;
  binding?: unknown;
  /** The port is a Linux input event device (the evdev keypad), not a serial line. */
  input?: { grab: boolean };
}

export function createTransport(port: string, serial: SerialSettings, opts: CreateTransportOptions): Transport {
  if (opts.input) return new LazyTransport(`${port} (input events)`, async () => {
    const { EvdevTransport } = await import('./evdev.js');
    return new EvdevTransport({ path: port, logger: opts.logger, grab: opts.input!.grab });
  });
  if (port === 'stdio') return new StdioTransport();
  if (port.startsWith('tcp://')) return new TcpTransport({ url: port, logger: opts.logger });
  return new LazyTransport(`${port} @ ${serial.baudRate}`, async () => {
    const { SerialTransport } = await import('./serial.js');
    return new SerialTransport({ path: port, serial, logger: opts.logger, binding: opts.binding });
  });
}

/**
 * A transport whose module (and native binary: serialport's binding, ~10 ms and several MB;
 * koffi for the evdev keypad) is loaded on the first open(), so a daemon that never uses it
 * never loads it.
 */
class LazyTransport extends EventEmitter<TransportEvents> implements Transport {
  readonly description: string;
  readonly #load: () => Promise<Transport>;
  #inner: Transport | null = null;

  constructor(description: string, load: () => Promise<Transport>) {
    super();
    this.description = description;
    this.#load = load;
  }

  get isOpen(): boolean {
    return this.#inner?.isOpen ?? false;
  }

  async open(): Promise<void> {
    if (!this.#inner) {
      const inner = await this.#load();
      inner.on('data', (b) => this.emit('data', b));
      inner.on('open', () => this.emit('open'));
      inner.on('close', (e) => this.emit('close', e));
      this.#inner = inner;
    }
    return this.#inner.open();
  }

  write(data: Buffer | string): Promise<void> {
    if (!this.#inner) return Promise.reject(new PinauthError('DEVICE_DISCONNECTED', `${this.description} is not open`));
    return this.#inner.write(data);
  }

  close(): Promise<void> {
    return this.#inner ? this.#inner.close() : Promise.resolve();
  }
}
