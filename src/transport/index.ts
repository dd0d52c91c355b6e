/**
 * The one place that picks a transport from a configured port string:
 * `stdio`, `tcp://host:port`, or a device path.
 */
import type { Logger } from 'pino';
import type { SerialSettings } from '../config/types.js';
import type { Transport } from './types.js';
import { SerialTransport } from './serial.js';
import { StdioTransport } from './stdio.js';
import { TcpTransport } from './tcp.js';

export type { Transport, TransportEvents } from './types.js';
export { SerialTransport, type SerialTransportOptions } from './serial.js';
export { TcpTransport, parseTcpUrl, type TcpTransportOptions } from './tcp.js';
export { StdioTransport, type StdioTransportOptions } from './stdio.js';
export { serialOpenError, tcpConnectError, disconnectedError } from './errors.js';

export function createTransport(port: string, serial: SerialSettings, opts: { logger: Logger; binding?: unknown }): Transport {
  if (port === 'stdio') return new StdioTransport();
  if (port.startsWith('tcp://')) return new TcpTransport({ url: port, logger: opts.logger });
  return new SerialTransport({ path: port, serial, logger: opts.logger, binding: opts.binding });
}
