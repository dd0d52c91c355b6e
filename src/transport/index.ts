/**
 * The one place that picks a transport from a configured port string:
 * `stdio`, `tcp://host:port`, or a device path.
 */
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type { SerialSettings } from '../config/types.js';
import { PinauthError } from '../errors.js';
import type { SerialTransport, SerialTransportOptions } from './serial.js';
import type { Transport, TransportEvents } from './types.js';
import { StdioTransport } from './stdio.js';
import { TcpTransport } from './tcp.js';

export type { Transport, TransportEvents } from './types.js';
export type { SerialTransport, SerialTransportOptions } from './serial.js';
export { TcpTransport, parseTcpUrl, type TcpTransportOptions } from './tcp.js';
export { StdioTransport, type StdioTransportOptions } from './stdio.js';
export { serialOpenError, tcpConnectError, disconnectedError } from './errors.js';

export function createTransport(port: string, serial: SerialSettings, opts: { logger: Logger; binding?: unknown }): Transport {
  if (port === 'stdio') return new StdioTransport();
  if (port.startsWith('tcp://')) return new TcpTransport({ url: port, logger: opts.logger });
  return new LazySerialTransport({ path: port, serial, logger: opts.logger, binding: opts.binding });
}

/**
 * A SerialTransport that loads serialport (and its native binding, ~10 ms and several MB)
 * on the first open(), so a daemon on a TCP bridge or stdio never loads it.
 */
class LazySerialTransport extends EventEmitter<TransportEvents> implements Transport {
  readonly description: string;
  readonly #opts: SerialTransportOptions;
  #inner: SerialTransport | null = null;

  constructor(opts: SerialTransportOptions) {
    super();
    this.#opts = opts;
    this.description = `${opts.path} @ ${opts.serial.baudRate}`;
  }

  get isOpen(): boolean {
    return this.#inner?.isOpen ?? false;
  }

  async open(): Promise<void> {
    if (!this.#inner) {
      const { SerialTransport } = await import('./serial.js');
      const inner = new SerialTransport(this.#opts);
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
