/**
 * A serial port (USB adapter, Pi UART) as a Transport. The binding is injectable: the real
 * one by default, @serialport/binding-mock's MockBinding in tests.
 *
 * Unplug detection has two paths: serialport closes with `err.disconnected` when a read
 * fails, and, because a real USB unplug may never produce a close on Linux (a zero-byte
 * read loops, bindings-cpp #162), the device's directory is watched (inotify, no polling)
 * and the path disappearing counts as an unplug too.
 */
import { EventEmitter } from 'node:events';
import { existsSync, realpathSync } from 'node:fs';
import type { Logger } from 'pino';
import { SerialPort } from 'serialport';
import type { SerialSettings } from '../config/types.js';
import { PinauthError } from '../errors.js';
import type { Transport, TransportEvents } from './types.js';
import { disconnectedError, serialOpenError } from './errors.js';
import { identityOfFd, watchForVanish } from './path-watch.js';

export interface SerialTransportOptions {
  path: string;
  serial: SerialSettings;
  logger: Logger;
  /** A serialport binding (MockBinding in tests); default the platform's real binding. */
  binding?: unknown;
  /** Watch the device path for disappearance. Default: true when the path exists on disk. */
  watchPath?: boolean;
}

type CloseError = (Error & { disconnected?: boolean }) | null;

export class SerialTransport extends EventEmitter<TransportEvents> implements Transport {
  readonly description: string;
  readonly #path: string;
  readonly #serial: SerialSettings;
  readonly #logger: Logger;
  readonly #binding: unknown;
  readonly #watchPath: boolean | undefined;
  #port: SerialPort | null = null;
  #stopWatching: () => void = () => {};
  /** Set by close(): the next 'close' is one we asked for. */
  #closing = false;
  #closed: Promise<void> | null = null;
  /**
   * Writes in flight on this port. After an unplug serialport may never call back a write
   * or a drain on the dead port; whoever waits on one (the display's write queue) would
   * then wait forever, also after the reconnect. They are failed when the port goes.
   */
  readonly #inFlight = new Set<(err: Error) => void>();

  constructor(opts: SerialTransportOptions) {
    super();
    this.#path = opts.path;
    this.#serial = opts.serial;
    this.#logger = opts.logger;
    this.#binding = opts.binding;
    this.#watchPath = opts.watchPath;
    this.description = `${opts.path} @ ${opts.serial.baudRate}`;
  }

  get isOpen(): boolean {
    return this.#port?.isOpen ?? false;
  }

  async open(): Promise<void> {
    if (this.#port) throw new PinauthError('INTERNAL', `${this.description} is already open`);
    const s = this.#serial;
    const options = {
      path: this.#path,
      baudRate: s.baudRate,
      dataBits: s.dataBits,
      parity: s.parity,
      stopBits: s.stopBits,
      rtscts: s.flowControl === 'rtscts',
      xon: s.flowControl === 'xonxoff',
      xoff: s.flowControl === 'xonxoff',
      autoOpen: false,
      ...(this.#binding === undefined ? {} : { binding: this.#binding }),
    };
    // SerialPort's options type leaves `binding` out, but its constructor takes one and
    // falls back to the detected binding: that is the documented injection seam.
    let port: SerialPort;
    try {
      port = new SerialPort(options as ConstructorParameters<typeof SerialPort>[0]);
    } catch (err) {
      throw new PinauthError('CONFIG_INVALID', `serial settings for ${this.#path}: ${(err as Error).message}`, { cause: err });
    }
    await new Promise<void>((resolve, reject) => {
      port.open((err) => (err ? reject(serialOpenError(this.#path, err)) : resolve()));
    });
    this.#port = port;
    this.#closing = false;
    this.#logger.debug({ port: this.description, device: realpathOrNull(this.#path) }, 'serial port open');
    let resolveClosed!: () => void;
    this.#closed = new Promise((r) => (resolveClosed = r));
    let finished = false;
    const finish = (err: CloseError): void => {
      if (finished) return;
      finished = true;
      this.#stopWatching();
      this.#stopWatching = () => {};
      this.#port = null;
      const gone = err ?? new PinauthError('DEVICE_DISCONNECTED', `${this.description} closed`);
      for (const fail of [...this.#inFlight]) fail(gone);
      this.#inFlight.clear();
      resolveClosed();
      this.emit('close', err);
    };
    port.on('data', (chunk: Buffer) => this.emit('data', chunk));
    port.on('error', (err: Error) => this.#logger.debug({ err: err.message, port: this.description }, 'serial port error'));
    port.on('close', (err?: Error & { disconnected?: boolean }) => {
      if (this.#closing) finish(null);
      else finish(disconnectedError(this.description, err));
    });
    // The fd says which device we hold (bindings-cpp's port binding keeps it as `fd`).
    const opened = identityOfFd((port.port as { fd?: unknown } | undefined)?.fd);
    this.#watch(opened, () => {
      if (finished || this.#closing) return;
      this.#logger.debug({ port: this.description }, 'device path vanished or now names another device');
      finish(disconnectedError(this.description, new Error(`${this.#path} vanished`)));
      if (port.isOpen) port.close(() => {});
    });
    this.emit('open');
  }

  write(data: Buffer | string): Promise<void> {
    const port = this.#port;
    if (!port || !port.isOpen || this.#closing) {
      return Promise.reject(new PinauthError('DEVICE_DISCONNECTED', `${this.description} is not open`));
    }
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      const settle = (err?: Error): void => {
        if (settled) return;
        settled = true;
        this.#inFlight.delete(settle);
        if (err) reject(err);
        else resolve();
      };
      this.#inFlight.add(settle);
      port.write(data, (err) => {
        if (err) return settle(disconnectedError(this.description, err));
        port.drain((err2) => settle(err2 ? disconnectedError(this.description, err2) : undefined));
      });
    });
  }

  async close(): Promise<void> {
    const port = this.#port;
    if (!port) return;
    this.#closing = true;
    const closed = this.#closed;
    if (port.isOpen) {
      await new Promise<void>((resolve) => port.close(() => resolve()));
    }
    await closed;
  }

  #watch(opened: string | null, onVanish: () => void): void {
    if (this.#watchPath ?? existsSync(this.#path)) this.#stopWatching = watchForVanish(this.#path, this.#logger, onVanish, opened ?? undefined);
  }
}

/** Where a stable name (/dev/serial/by-id/...) points now, for the log. */
function realpathOrNull(path: string): string | null {
  try {
    return realpathSync(path);
  } catch {
    return null;
  }
}

export interface ListedPort {
  path: string;
  manufacturer?: string;
  serialNumber?: string;
  vendorId?: string;
  productId?: string;
}

/**
 * The serial ports the OS knows, or null when they cannot be listed. serialport's list()
 * spawns `udevadm` on Linux; where it is missing the spawn error must not escape.
 */
export async function listSerialPorts(): Promise<ListedPort[] | null> {
  try {
    const ports = await SerialPort.list();
    return ports.map((p) => ({
      path: p.path,
      ...(p.manufacturer ? { manufacturer: p.manufacturer } : {}),
      ...(p.serialNumber ? { serialNumber: p.serialNumber } : {}),
      ...(p.vendorId ? { vendorId: p.vendorId } : {}),
      ...(p.productId ? { productId: p.productId } : {}),
    }));
  } catch {
    return null;
  }
}
