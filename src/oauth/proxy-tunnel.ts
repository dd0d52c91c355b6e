/**
 * An https Agent that reaches the target through an HTTP proxy's CONNECT tunnel. TLS runs end
 * to end inside the tunnel and the certificate is checked against the target's name (never
 * the proxy's): the proxy only relays bytes. Loaded only when a proxy is in use.
 *
 * Why not https-proxy-agent: it buffers the proxy's reply headers without a bound, cannot
 * cancel a CONNECT the proxy never answers, hands a refusal (407) to the caller as if the
 * provider had answered it, and its debug output prints the proxy URL with its password.
 * node:http's own CONNECT client parses the reply (bounded), and times out and aborts.
 */
import http from 'node:http';
import https from 'node:https';
import { isIP, isIPv6 } from 'node:net';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import type { ProxyRoute } from './proxy-policy.js';

export type ProxyFailureKind = 'refused' | 'unreachable' | 'timeout';

/** Why a tunnel did not come up; the message names the proxy as host:port, never its credentials. */
export class ProxyFailure extends Error {
  override readonly name = 'ProxyFailure';
  constructor(
    readonly kind: ProxyFailureKind,
    readonly proxy: string,
    message: string,
    /** The proxy's HTTP status (refused). */
    readonly status?: number,
    /** The system error code (unreachable). */
    readonly causeCode?: string,
  ) {
    super(message);
  }
}

function refusalHint(status: number): string {
  if (status === 407) return 'it wants credentials (user:pass@ in the proxy URL), or refused the ones given';
  if (status === 403) return 'it does not allow a tunnel to this host';
  if (status >= 500) return 'it could not reach the host';
  return 'it does not tunnel to this host';
}

/** `host:port` as a CONNECT request names it (RFC 9110 9.3.6). */
function authority(host: string, port: number): string {
  return `${isIPv6(host) ? `[${host}]` : host}:${port}`;
}

/**
 * Open a CONNECT tunnel to `host:port` through `route` and start TLS to the target in it.
 * `tlsOptions` are the request's (servername, host, ca...), so the target's certificate is
 * checked against the target's name.
 */
export function openTunnel(route: ProxyRoute, tlsOptions: tls.ConnectionOptions & { host: string; port: number }, timeoutMs: number, signal?: AbortSignal): Promise<tls.TLSSocket> {
  const target = authority(tlsOptions.host, tlsOptions.port);
  const lib = route.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = lib.request({
      host: route.hostname,
      port: route.port,
      method: 'CONNECT',
      path: target,
      headers: { host: target, ...(route.authorization ? { 'proxy-authorization': route.authorization } : {}) },
      agent: false,
      // counts from before the TCP connection to the proxy exists, until it answers CONNECT
      timeout: timeoutMs,
      ...(signal ? { signal } : {}),
      // an https proxy's own certificate is checked against the proxy's name
      ...(route.protocol === 'https:' ? { servername: isIP(route.hostname) ? '' : route.hostname, ...(tlsOptions.ca ? { ca: tlsOptions.ca } : {}) } : {}),
    });
    req.once('connect', (res: http.IncomingMessage, socket: Duplex & { setTimeout?: (ms: number) => void }, head: Buffer) => {
      socket.setTimeout?.(0);
      if (res.statusCode !== 200) {
        socket.destroy();
        const status = res.statusCode ?? 0;
        reject(new ProxyFailure('refused', route.shown, `The proxy ${route.shown} (${route.source}) refused the tunnel to ${target} with HTTP ${status}: ${refusalHint(status)}.`, status));
        return;
      }
      if (head.length > 0) socket.unshift(head);
      const { path: _path, ...rest } = tlsOptions as tls.ConnectionOptions & { path?: unknown };
      void _path;
      resolve(tls.connect({ ...rest, socket }));
    });
    req.once('timeout', () =>
      req.destroy(new ProxyFailure('timeout', route.shown, `The proxy ${route.shown} (${route.source}) did not answer the CONNECT to ${target} within ${timeoutMs} ms.`)),
    );
    req.once('error', (e: NodeJS.ErrnoException) => {
      if (e instanceof ProxyFailure || signal?.aborted) {
        reject(e);
        return;
      }
      const code = typeof e.code === 'string' ? e.code : undefined;
      reject(new ProxyFailure('unreachable', route.shown, `Cannot reach the proxy ${route.shown} (${route.source})${code ? ` (${code})` : ''}; check it is running, or set NO_PROXY / provider.proxy.`, undefined, code));
    });
    req.end();
  });
}

/** An https.Agent whose connections are CONNECT tunnels through one proxy. */
export class TunnelAgent extends https.Agent {
  /** Why the last tunnel failed (a caller that gets a wrapped error looks here). */
  lastFailure: ProxyFailure | undefined;

  constructor(
    readonly route: ProxyRoute,
    private readonly timeoutMs: number,
    opts: https.AgentOptions = {},
    private readonly signal?: AbortSignal,
  ) {
    super(opts);
  }

  // http.Agent takes a connection from the callback when createConnection returns nothing
  override createConnection(options: http.ClientRequestArgs, callback?: (err: Error | null, socket: Duplex) => void): Duplex | null | undefined {
    const opts = options as tls.ConnectionOptions & { host: string; port: number };
    openTunnel(this.route, opts, this.timeoutMs, this.signal).then(
      (socket) => callback?.(null, socket),
      (e: Error) => {
        if (e instanceof ProxyFailure) this.lastFailure = e;
        callback?.(e, undefined as unknown as Duplex);
      },
    );
    return undefined;
  }
}
