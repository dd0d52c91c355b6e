/**
 * A tiny forwarding HTTP(S) server in front of the local provider (TLS tests, header capture,
 * and a provider that answers in ways the local one does not: `answer` replies in its place).
 */
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';

export interface Proxy {
  url: string;
  close(): Promise<void>;
}

export async function startProxy(opts: {
  target: string;
  tls?: { key: string; cert: string };
  onRequest?: (req: http.IncomingMessage) => void;
  /** Keep the client's Host header (the provider then checks signatures made for the proxy's URL). */
  preserveHost?: boolean;
  /** A reply to send instead of forwarding (undefined: forward). */
  answer?: (req: http.IncomingMessage) => { status: number; body: string; headers?: Record<string, string> } | undefined;
}): Promise<Proxy> {
  const target = new URL(opts.target);
  const handler: http.RequestListener = (req, res) => {
    opts.onRequest?.(req);
    const own = opts.answer?.(req);
    if (own) {
      req.resume();
      res.writeHead(own.status, { 'content-type': 'text/plain', ...own.headers });
      res.end(own.body);
      return;
    }
    const up = http.request(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: opts.preserveHost ? req.headers : { ...req.headers, host: target.host } },
      (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      },
    );
    up.on('error', () => res.destroy());
    req.pipe(up);
  };
  const server = opts.tls ? https.createServer({ key: opts.tls.key, cert: opts.tls.cert }, handler) : http.createServer(handler);
  server.on('tlsClientError', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `${opts.tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
