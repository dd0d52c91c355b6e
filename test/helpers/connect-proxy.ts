/**
 * A forward proxy on 127.0.0.1 that speaks CONNECT, as a school's or company's proxy would: it
 * tunnels bytes and never sees inside TLS. Names are resolved through `hosts`, so a provider
 * name this machine's DNS does not know is reachable only through the proxy. It can also
 * demand credentials (407), refuse (any status), or accept and never answer.
 */
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import type { AddressInfo } from 'node:net';

export interface ConnectProxyOptions {
  /** Name -> address the proxy connects to (anything else: refused with 502). */
  hosts: Record<string, string>;
  /** `user:pass` it wants in Proxy-Authorization (Basic), else 407. */
  credentials?: string;
  /** Answer every CONNECT with this status instead of tunnelling. */
  refuseWith?: number;
  /** Accept the connection, read the CONNECT, never answer. */
  silent?: boolean;
  /** Serve the proxy itself over TLS (an https:// proxy). */
  tls?: { key: string; cert: string };
}

export interface ConnectProxy {
  url: string;
  port: number;
  /** Every CONNECT target asked for, `host:port`. */
  connects: string[];
  /** The Proxy-Authorization values seen (to check what was sent). */
  authorizations: string[];
  /** Client connections open right now (a silent proxy's are let go only by the client). */
  openConnections(): number;
  close(): Promise<void>;
}

export async function startConnectProxy(opts: ConnectProxyOptions): Promise<ConnectProxy> {
  const connects: string[] = [];
  const authorizations: string[] = [];
  const sockets = new Set<net.Socket>();
  const handler: http.RequestListener = (_req, res) => res.writeHead(405).end('CONNECT only\n');
  const server = opts.tls ? https.createServer({ key: opts.tls.key, cert: opts.tls.cert }, handler) : http.createServer(handler);
  server.on('connection', (s: net.Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.on('secureConnection', (s: net.Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.on('tlsClientError', () => undefined);
  server.on('connect', (req: http.IncomingMessage, client: net.Socket, head: Buffer) => {
    const target = req.url ?? '';
    connects.push(target);
    client.on('error', () => client.destroy());
    const auth = req.headers['proxy-authorization'];
    if (auth !== undefined) authorizations.push(auth);
    if (opts.silent) {
      // the server is half-open by default: let go when the client does
      client.on('end', () => client.destroy());
      client.resume();
      return;
    }
    const answer = (status: number, text: string) => client.end(`HTTP/1.1 ${status} ${text}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
    if (opts.credentials !== undefined && auth !== `Basic ${Buffer.from(opts.credentials).toString('base64')}`) {
      answer(407, 'Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="test"');
      return;
    }
    if (opts.refuseWith !== undefined) {
      answer(opts.refuseWith, 'Refused');
      return;
    }
    const colon = target.lastIndexOf(':');
    const host = target.slice(0, colon).replace(/^\[|\]$/g, '');
    const address = opts.hosts[host];
    if (address === undefined) {
      answer(502, 'Bad Gateway');
      return;
    }
    const upstream = net.connect(Number(target.slice(colon + 1)), address, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length > 0) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    sockets.add(upstream);
    upstream.on('close', () => {
      sockets.delete(upstream);
      client.destroy();
    });
    upstream.on('error', () => {
      if (!client.destroyed && client.bytesWritten === 0) answer(502, 'Bad Gateway');
      client.destroy();
    });
    client.on('close', () => upstream.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `${opts.tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    port,
    connects,
    authorizations,
    openConnections: () => sockets.size,
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
