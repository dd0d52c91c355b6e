/**
 * A TCP serial bridge (ser2net, an ESP Wi-Fi bridge) as a Transport: `tcp://host:port`.
 * Keepalive makes a dead bridge show up as a drop instead of a silent hang.
 */
import { EventEmitter } from 'node:events';
import { connect, type Socket } from 'node:net';
import type { Logger } from 'pino';
import { PinauthError } from '../errors.js';
import type { Transport, TransportEvents } from './types.js';
import { disconnectedError, tcpConnectError } from './errors.js';

export interface TcpTransportOptions {
  /** `tcp://host:port` */
  url: string;
  logger: Logger;
  connectTimeoutMs?: number;
  keepAliveMs?: number;
}

export function parseTcpUrl(url: string): { host: string; port: number } {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new PinauthError('CONFIG_INVALID', `not a tcp://host:port address: ${url}`);
  }
  const port = Number(parsed.port);
  if (parsed.protocol !== 'tcp:' || !parsed.hostname || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new PinauthError('CONFIG_INVALID', `not a tcp://host:port address: ${url}`);
  }
  return { host: parsed.hostname.replace(/^\[(.*)\]$/, '$1'), port };
}

export class TcpTransport extends EventEmitter<TransportEvents> implements Transport {
  readonly description: string;
  readonly #host: string;
  readonly #port: number;
  readonly #logger: Logger;
  readonly #connectTimeoutMs: number;
  readonly #keepAliveMs: number;
  #socket: Socket | null = null;
  #closing = false;
  #closed: Promise<void> | null = null;

  constructor(opts: TcpTransportOptions) {
    super();
    const { host, port } = parseTcpUrl(opts.url);
    this.#host = host;
    this.#port = port;
    this.#logger = opts.logger;
    this.#connectTimeoutMs = opts.connectTimeoutMs ?? 5000;
    this.#keepAliveMs = opts.keepAliveMs ?? 10_000;
    this.description = `tcp://${opts.url.slice('tcp://'.length)}`;
  }

  get isOpen(): boolean {
    return this.#socket !== null && !this.#socket.destroyed && !this.#closing;
  }

  async open(): Promise<void> {
    if (this.#socket) throw new PinauthError('INTERNAL', `${this.description} is already open`);
    const socket = connect({ host: this.#host, port: this.#port });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        const err = Object.assign(new Error(`no answer within ${this.#connectTimeoutMs} ms`), { code: 'ETIMEDOUT' });
        socket.destroy();
        reject(tcpConnectError(this.description, err));
      }, this.#connectTimeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        resolve();
      });
      socket.once('error', (err) => {
        clearTimeout(timer);
        socket.destroy();
        reject(tcpConnectError(this.description, err));
      });
    });
    socket.removeAllListeners('error');
    socket.setKeepAlive(true, this.#keepAliveMs);
    socket.setNoDelay(true);
    this.#socket = socket;
    this.#closing = false;
    let resolveClosed!: () => void;
    this.#closed = new Promise((r) => (resolveClosed = r));
    let lastError: Error | undefined;
    socket.on('data', (chunk: Buffer) => this.emit('data', chunk));
    socket.on('error', (err) => {
      lastError = err;
      this.#logger.debug({ err: err.message, port: this.description }, 'tcp bridge error');
    });
    // The bridge closed its side: close ours too, so 'close' follows.
    socket.on('end', () => socket.destroy());
    socket.on('close', () => {
      this.#socket = null;
      resolveClosed();
      this.emit('close', this.#closing ? null : disconnectedError(this.description, lastError));
    });
    this.emit('open');
  }

  write(data: Buffer | string): Promise<void> {
    const socket = this.#socket;
    if (!socket || socket.destroyed || this.#closing) {
      return Promise.reject(new PinauthError('DEVICE_DISCONNECTED', `${this.description} is not open`));
    }
    return new Promise((resolve, reject) => {
      socket.write(data, (err) => (err ? reject(disconnectedError(this.description, err)) : resolve()));
    });
  }

  async close(): Promise<void> {
    const socket = this.#socket;
    if (!socket) return;
    this.#closing = true;
    const closed = this.#closed;
    socket.destroy();
    await closed;
  }
}
