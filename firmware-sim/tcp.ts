/**
 * The simulator behind a TCP port, the way ser2net exposes a serial device: raw bytes,
 * one client at a time (a second client is refused by closing it at once).
 */
import net from 'node:net';
import type { SimPanel } from './panel.js';

export interface TcpSimOptions {
  device: SimPanel;
  host?: string;
  /** 0 (default) picks a free port; replug listens on the same one again. */
  port?: number;
  /** Power-cycle the device on replug. Default true. */
  resetOnReplug?: boolean;
}

export interface TcpSim {
  /** `tcp://127.0.0.1:PORT` */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly plugged: boolean;
  /** Whether a client is connected now. */
  readonly connected: boolean;
  /** Drop the client and stop listening. */
  unplug(): Promise<void>;
  /** Listen again on the same port. */
  replug(): Promise<void>;
  /** Safe to call twice. */
  close(): Promise<void>;
}

export async function startTcpSim(options: TcpSimOptions): Promise<TcpSim> {
  const { device } = options;
  const host = options.host ?? '127.0.0.1';
  let port = options.port ?? 0;
  let server: net.Server | null = null;
  let client: net.Socket | null = null;
  let closed = false;

  const onOutput = (chunk: Buffer): void => {
    if (client && !client.destroyed) client.write(chunk);
  };
  device.on('output', onOutput);

  const onConnection = (socket: net.Socket): void => {
    if (client) {
      socket.destroy();
      return;
    }
    client = socket;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => device.feed(chunk));
    socket.on('error', () => {});
    socket.on('close', () => {
      if (client === socket) client = null;
    });
  };

  const listen = async (): Promise<void> => {
    const s = net.createServer(onConnection);
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.listen(port, host, () => {
        s.off('error', reject);
        resolve();
      });
    });
    port = (s.address() as net.AddressInfo).port;
    server = s;
  };

  const unplug = async (): Promise<void> => {
    const s = server;
    server = null;
    client?.destroy();
    client = null;
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  };

  await listen();

  return {
    get url() {
      return `tcp://${host}:${port}`;
    },
    host,
    get port() {
      return port;
    },
    get plugged() {
      return server !== null;
    },
    get connected() {
      return client !== null;
    },
    unplug,
    async replug() {
      if (closed) throw new Error('TcpSim is closed');
      if (server) return;
      // Powered up before it listens again, like the PTY link (see pty.ts).
      if (options.resetOnReplug ?? true) device.reset();
      await listen();
    },
    async close() {
      if (closed) return;
      closed = true;
      await unplug();
      device.off('output', onOutput);
    },
  };
}
