/**
 * The signing proxy: plain HTTP/1.1 on a Unix socket, each request signed with the stored
 * account and forwarded over verified TLS to one of the provider's API origins, the reply
 * streamed back. Like ssh-agent, it lets local software use the token while the secrets stay
 * in this process. The socket's file permissions (its group) decide who may use it.
 *
 * Bounded everywhere: header size and time, body sizes (a form body is read whole to sign it,
 * anything else streams), connections, a rate limit, a timeout on every upstream call, and
 * back-pressure end to end, so a slow or stuck client costs only its own connection.
 */
import { chmod, lstat, unlink } from 'node:fs/promises';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { Transform, pipeline } from 'node:stream';
import type { Logger } from 'pino';
import type { ProviderConfig, ProxyConfig } from '../config/types.js';
import { PinauthError, toPinauthError } from '../errors.js';
import { monotonicMs } from '../oauth/http.js';
import { providerError } from '../oauth/provider-errors.js';
import { checkTlsEnvironment, checkUrlPolicy } from '../oauth/url-policy.js';
import { proxyFor, type ProxyRoute } from '../oauth/proxy-policy.js';
import type { ProxyFailure, TunnelAgent } from '../oauth/proxy-tunnel.js';
import {
  ProxyRefusal,
  RateLimiter,
  REPLY_HEADERS_NOT_FORWARDED,
  authorizationFor,
  checkPolicy,
  checkSignable,
  forwardHeaders,
  isFormBody,
  resolveTarget,
  type SigningAccount,
} from './request.js';

export { ProxyRefusal, type SigningAccount } from './request.js';

/** What the daemon gives the proxy: the account to sign with, and where to report a dead token. */
export interface ProxyAuthority {
  /** The account, or why there is none (the client gets a 503 with this reason). */
  signingAccount(): SigningAccount | { reason: string };
  /** The API answered 401 in a way that says the token is dead. */
  tokenRejected(error: PinauthError): void;
}

export interface ProxySettings {
  proxy: ProxyConfig;
  /** `proxy`: provider.proxy (src/oauth/proxy-policy.ts decides, as for the OAuth client; absent: the environment). */
  provider: Pick<ProviderConfig, 'apiOrigins' | 'allowHttpLoopback'> & Partial<Pick<ProviderConfig, 'proxy'>>;
}

export type ListenOn = { path: string } | { fd: number };

export interface ApiProxyOptions {
  listen: ListenOn;
  /** Read for every request, so that a reloaded config applies at once. */
  settings: () => ProxySettings;
  authority: ProxyAuthority;
  logger: Logger;
  /** Client-side limits; tests shorten them. */
  limits?: { headersTimeoutMs?: number; idleTimeoutMs?: number; requestTimeoutMs?: number };
  /** Fixed nonce/timestamp for the published test vectors. */
  fixedSignature?: { nonce?: string; timestamp?: number };
  /** Where the proxy variables are read (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Extra trusted CA certificates (PEM) for the upstream TLS: tests with a local https origin. */
  ca?: string;
}

export interface ApiProxy {
  /** The socket path, or `fd:N` for a socket systemd passed. */
  readonly where: string;
  close(): Promise<void>;
}

const MAX_HEADER_BYTES = 16 * 1024;
/** A 401's body is read whole to see whether it says the token is dead; error bodies are small. */
const MAX_ERROR_BODY = 64 * 1024;
const REASON_HEADER = 'pinauthd-reason';

/** A header value: printable ASCII only, bounded. */
function headerSafe(text: string): string {
  return text.replace(/[^\x20-\x7e]/g, '?').slice(0, 300);
}

/** Counts bytes through and fails once more than `max` went by. */
function byteCap(max: number, what: () => Error, onBytes: (n: number) => void = () => undefined): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      seen += chunk.length;
      onBytes(chunk.length);
      if (seen > max) done(what());
      else done(null, chunk);
    },
  });
}

class TooLarge extends Error {}
class UpstreamTimeout extends Error {}

/** Whether the upstream request failed before anything useful happened: the reply to give. */
function upstreamFailure(e: unknown, host: string, timeoutMs: number): ProxyRefusal {
  if (e instanceof UpstreamTimeout) return new ProxyRefusal(504, 'upstream_timeout', `No reply from ${host} within ${timeoutMs} ms.`);
  if (e instanceof Error && e.name === 'ProxyFailure') {
    const f = e as ProxyFailure;
    return new ProxyRefusal(f.kind === 'timeout' ? 504 : 502, `proxy_${f.kind}`, f.message);
  }
  const code = (e as NodeJS.ErrnoException).code ?? '';
  if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS|ERR_SSL|EPROTO/.test(code)) {
    return new ProxyRefusal(502, 'upstream_tls', `TLS failure talking to ${host} (${code}): the certificate was not accepted; check the clock and the network.`);
  }
  return new ProxyRefusal(502, 'upstream_unreachable', `Could not reach ${host}${code ? ` (${code})` : ''}; check the network connection and DNS.`);
}

async function readWhole(req: IncomingMessage, max: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > max) throw new ProxyRefusal(413, 'body_too_large', `A form body may have at most ${max} bytes here (it is read whole to sign it).`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Upstream connections: at most 32 at once, and each one kept for the next request (fewer kept
 * than in use closed them under load only to open new ones, each a TCP and TLS handshake with
 * the API); the API closes those that stay idle.
 */
const UPSTREAM_AGENT = { keepAlive: true, maxSockets: 32, maxFreeSockets: 32 };

export async function startApiProxy(opts: ApiProxyOptions): Promise<ApiProxy> {
  const log = opts.logger.child({ module: 'proxy' });
  checkTlsEnvironment();
  const agents = { http: new http.Agent(UPSTREAM_AGENT), https: undefined as import('node:https').Agent | undefined };
  let httpsModule: typeof import('node:https') | undefined;
  const pooled = { ...UPSTREAM_AGENT, ...(opts.ca !== undefined ? { ca: opts.ca } : {}) };
  // one keep-alive agent per proxy in use (a reload may change it; the oldest few are let go)
  const tunnels = new Map<string, TunnelAgent>();
  async function tunnelAgent(route: ProxyRoute, timeoutMs: number): Promise<TunnelAgent> {
    const key = JSON.stringify([route.protocol, route.hostname, route.port, route.authorization ?? '', timeoutMs]);
    let agent = tunnels.get(key);
    if (!agent) {
      const { TunnelAgent } = await import('../oauth/proxy-tunnel.js');
      agent = new TunnelAgent(route, timeoutMs, pooled);
      tunnels.set(key, agent);
      for (const [k, old] of tunnels) {
        if (tunnels.size <= 4) break;
        tunnels.delete(k);
        old.destroy();
      }
    }
    return agent;
  }
  let limiter: { key: string; bucket: RateLimiter } | null = null;
  let open = 0;

  function rateLimited(cfg: ProxyConfig): number {
    if (cfg.rateLimit === null) return 0;
    const key = `${cfg.rateLimit.requests}/${cfg.rateLimit.perSeconds}`;
    if (limiter?.key !== key) limiter = { key, bucket: new RateLimiter(cfg.rateLimit) };
    return limiter.bucket.take();
  }

  function refuse(res: ServerResponse, r: ProxyRefusal, bodyUnread: boolean): void {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const body = `${JSON.stringify({ error: r.error, message: r.message })}\n`;
    res.writeHead(r.status, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(body),
      [REASON_HEADER]: headerSafe(r.message),
      // a body we did not read is not drained: close instead
      ...(bodyUnread ? { connection: 'close' } : {}),
      ...r.headers,
    });
    res.end(body);
  }

  async function handle(req: IncomingMessage, res: ServerResponse, expectsContinue: boolean): Promise<void> {
    const started = monotonicMs();
    const method = req.method ?? 'GET';
    const entry: { method: string; path: string; status?: number; ms?: number; error?: string; origin?: string; proxy?: string; bytesUp: number; bytesDown: number } = {
      method: headerSafe(method).slice(0, 20),
      path: '-',
      bytesUp: 0,
      bytesDown: 0,
    };
    res.once('close', () => {
      entry.status = res.statusCode;
      entry.ms = Math.round((monotonicMs() - started) * 10) / 10;
      if (!res.writableFinished) entry.error ??= 'client_gone_or_cut';
      log.info(entry, 'api request');
    });
    let bodyUnread = true;
    try {
      const { proxy: cfg, provider } = opts.settings();
      const target = resolveTarget(req.url ?? '/', req.headers.host, provider.apiOrigins);
      // the path without the query: the query may carry a user's data, the log does not need it
      entry.path = headerSafe(target.url.pathname).slice(0, 200);
      entry.origin = target.url.host;
      checkPolicy(method, target, cfg);
      const waitMs = rateLimited(cfg);
      if (waitMs > 0) {
        throw new ProxyRefusal(429, 'rate_limited', `Too many requests on this socket (proxy.rateLimit); retry in ${Math.ceil(waitMs / 1000)} s.`, {
          'retry-after': String(Math.ceil(waitMs / 1000)),
        });
      }
      const account = opts.authority.signingAccount();
      if ('reason' in account) throw new ProxyRefusal(503, 'not_authorized', account.reason);
      try {
        checkUrlPolicy(target.origin, provider.allowHttpLoopback);
      } catch (e) {
        throw new ProxyRefusal(502, 'insecure_origin', toPinauthError(e).message);
      }
      let route: ProxyRoute | null;
      try {
        route = proxyFor(target.url, provider.proxy ?? null, opts.env).route;
      } catch (e) {
        throw new ProxyRefusal(502, 'bad_proxy_setting', toPinauthError(e).message);
      }
      // the proxy's host:port only: its credentials stay in the route
      if (route) entry.proxy = route.shown;

      const declared = req.headers['content-length'] === undefined ? undefined : Number(req.headers['content-length']);
      const hasBody = (declared ?? 0) > 0 || req.headers['transfer-encoding'] !== undefined;
      const form = hasBody && isFormBody(req.headers['content-type']);
      const cap = form ? cfg.maxFormBytes : cfg.maxBodyBytes;
      if (declared !== undefined && declared > cap) {
        throw new ProxyRefusal(413, 'body_too_large', `The body (${declared} bytes) is larger than this socket allows (${cap} bytes).`);
      }
      if (expectsContinue) res.writeContinue();
      let formBody: Buffer | undefined;
      if (form) {
        formBody = await readWhole(req, cap);
        bodyUnread = false;
        entry.bytesUp = formBody.length;
      }
      let formText: string | undefined;
      if (formBody !== undefined) {
        try {
          formText = utf8.decode(formBody);
        } catch {
          throw new ProxyRefusal(400, 'bad_encoding', 'The form body is not valid UTF-8.');
        }
      }
      checkSignable(target.url, formText);

      // a header list (not an object) keeps the client's order and repeats; Node adds no Host to it
      const headers: Array<[string, string]> = [['Host', target.url.host], ...forwardHeaders(req.rawHeaders)];
      headers.push(['Authorization', authorizationFor(method, target.url, formText, account, provider.allowHttpLoopback, opts.fixedSignature)]);
      if (formBody !== undefined) headers.push(['Content-Length', String(formBody.length)]);
      else if (declared !== undefined) headers.push(['Content-Length', String(declared)]);

      await forward(req, res, { target: target.url, route, method, headers: headers.flat(), formBody, hasBody: hasBody && !form, cfg, entry });
      bodyUnread = false;
    } catch (e) {
      if (e instanceof ProxyRefusal) {
        entry.error = e.error;
        refuse(res, e, bodyUnread);
        return;
      }
      entry.error = 'internal';
      log.error({ err: toPinauthError(e).toLog() }, 'proxy request failed');
      refuse(res, new ProxyRefusal(500, 'internal', 'pinauthd failed to handle this request; see its log.'), bodyUnread);
    }
  }

  interface ForwardSpec {
    target: URL;
    /** The HTTP proxy it goes through (https only), or null for direct. */
    route: ProxyRoute | null;
    method: string;
    headers: string[];
    formBody: Buffer | undefined;
    hasBody: boolean;
    cfg: ProxyConfig;
    entry: { bytesUp: number; bytesDown: number; error?: string };
  }

  async function forward(req: IncomingMessage, res: ServerResponse, spec: ForwardSpec): Promise<void> {
    const { target, cfg } = spec;
    const secure = target.protocol === 'https:';
    if (secure && !httpsModule) {
      httpsModule = await import('node:https');
      agents.https = new httpsModule.Agent(pooled);
    }
    const lib = secure ? httpsModule! : http;
    const agent = secure ? (spec.route ? await tunnelAgent(spec.route, cfg.timeoutMs) : agents.https) : agents.http;
    await new Promise<void>((resolve) => {
      let settled = false;
      const finish = () => {
        if (!settled) {
          settled = true;
          resolve();
        }
      };
      let up: http.ClientRequest;
      try {
        up = lib.request({
          protocol: target.protocol,
          hostname: target.hostname,
          port: target.port || undefined,
          method: spec.method,
          path: `${target.pathname}${target.search}`,
          headers: spec.headers,
          agent,
          // no redirects are followed: node:http never does; a 3xx goes back to the client
          timeout: cfg.timeoutMs,
        });
      } catch (e) {
        // a header value Node refuses to send (it checks every character)
        refuse(res, new ProxyRefusal(400, 'bad_header', `A request header cannot be forwarded: ${toPinauthError(e).message.slice(0, 120)}`), true);
        finish();
        return;
      }
      up.on('timeout', () => up.destroy(new UpstreamTimeout()));
      up.on('error', (e) => {
        spec.entry.error ??= e instanceof UpstreamTimeout ? 'upstream_timeout' : e.name === 'ProxyFailure' ? `proxy_${(e as ProxyFailure).kind}` : 'upstream_error';
        if (!res.headersSent) refuse(res, upstreamFailure(e, target.host, cfg.timeoutMs), true);
        else res.destroy();
        finish();
      });
      // the client went away before the reply was through: stop the upstream call too (a
      // finished one keeps its connection for the next request)
      let replyDone = false;
      res.once('close', () => {
        if (!replyDone && !up.destroyed) up.destroy();
        finish();
      });

      up.on('response', (reply) => {
        reply.once('end', () => (replyDone = true));
        const status = reply.statusCode ?? 502;
        const declared = Number(reply.headers['content-length']);
        if (Number.isFinite(declared) && declared > cfg.maxReplyBytes) {
          reply.destroy();
          refuse(res, new ProxyRefusal(502, 'reply_too_large', `The reply (${declared} bytes) is larger than proxy.maxReplyBytes (${cfg.maxReplyBytes}).`), false);
          finish();
          return;
        }
        const headers = forwardHeaders(reply.rawHeaders, REPLY_HEADERS_NOT_FORWARDED);
        if (status === 401) {
          void readWhole(reply, MAX_ERROR_BODY).then(
            (body) => {
              const reason = deadTokenReason(status, reply.headers, body);
              if (reason) headers.push([REASON_HEADER, headerSafe(reason.message)]);
              res.writeHead(status, headers.flat());
              res.end(body);
              spec.entry.bytesDown = body.length;
              if (reason) opts.authority.tokenRejected(reason);
              finish();
            },
            () => {
              res.destroy();
              finish();
            },
          );
          return;
        }
        res.writeHead(status, headers.flat());
        pipeline(
          reply,
          byteCap(cfg.maxReplyBytes, () => new TooLarge(), (n) => (spec.entry.bytesDown += n)),
          res,
          (err) => {
            if (err) {
              spec.entry.error ??= err instanceof TooLarge ? 'reply_too_large' : 'stream_cut';
              up.destroy();
              res.destroy();
            }
            finish();
          },
        );
      });

      if (spec.formBody !== undefined) up.end(spec.formBody);
      else if (!spec.hasBody) up.end();
      else {
        pipeline(
          req,
          byteCap(cfg.maxBodyBytes, () => new ProxyRefusal(413, 'body_too_large', `The body is larger than this socket allows (${cfg.maxBodyBytes} bytes).`), (n) => (spec.entry.bytesUp += n)),
          up,
          (err) => {
            if (!err) return;
            if (err instanceof ProxyRefusal) {
              spec.entry.error = err.error;
              up.destroy();
              refuse(res, err, true);
              finish();
            }
            // anything else (the client aborted) also destroyed `up`: its error handler answers
          },
        );
      }
    });
  }

  /**
   * A 401 that may say the token is dead (revoked, expired), as the OAuth client reads provider
   * errors. Twitter's code 32 ("Could not authenticate you") is read as the token's too: the
   * proxy signs only while authorized, and what it reports is only a reason for the daemon to
   * verify the token (at most once per minVerifyInterval), which decides; nothing is dropped on
   * this answer alone.
   */
  function deadTokenReason(status: number, headers: http.IncomingHttpHeaders, body: Buffer): PinauthError | null {
    const err = providerError(
      { status, body: body.toString('utf8'), headers: { get: (n: string) => (headers[n.toLowerCase()] as string | undefined) ?? null } },
      'verify',
      { consumerProven: true },
    );
    if (err.code !== 'OAUTH_TOKEN_REJECTED') return null;
    return new PinauthError(
      'OAUTH_TOKEN_REJECTED',
      'The API says the access token is no longer valid: pinauthd checks it, and if it is dead asks for a new authorization on the display.',
      { status },
    );
  }

  const limits = opts.limits ?? {};
  const headersTimeout = limits.headersTimeoutMs ?? 10_000;
  const server = http.createServer({
    maxHeaderSize: MAX_HEADER_BYTES,
    headersTimeout,
    requestTimeout: limits.requestTimeoutMs ?? 300_000,
    keepAliveTimeout: 5_000,
    // How often Node checks the two timeouts above (default 30 s): a client that stalls its
    // headers is cut within 1.5 x headersTimeout. Each check wakes the daemon, also when it
    // is idle with no connection (every second was 10 times its idle wake-ups).
    connectionsCheckingInterval: headersTimeout / 2,
  });
  server.setTimeout(limits.idleTimeoutMs ?? 60_000, (sock: Socket) => sock.destroy());
  server.on('connection', (sock: Socket) => {
    open++;
    sock.once('close', () => open--);
    const max = opts.settings().proxy.maxConnections;
    if (open > max) {
      sock.end(`HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n${REASON_HEADER}: ${max} connections already open (proxy.maxConnections)\r\n\r\n`);
    }
  });
  server.on('request', (req: IncomingMessage, res: ServerResponse) => void handle(req, res, false));
  // Expect: 100-continue: say "go on" only once the request is allowed
  server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => void handle(req, res, true));
  const refuseRaw = (status: string, reason: string) => (_req: IncomingMessage, sock: Socket) => {
    log.info({ error: 'not_a_request', status: Number(status.slice(0, 3)) }, 'api request refused');
    sock.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n${REASON_HEADER}: ${reason}\r\n\r\n`);
  };
  server.on('connect', refuseRaw('405 Method Not Allowed', 'CONNECT is not supported: this socket only forwards API requests'));
  server.on('upgrade', refuseRaw('501 Not Implemented', 'protocol upgrades are not supported'));
  server.on('clientError', (err: NodeJS.ErrnoException, sock: Socket) => {
    const status =
      err.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? '408 Request Timeout' : '400 Bad Request';
    log.info({ error: err.code ?? 'bad_request', status: Number(status.slice(0, 3)) }, 'api request refused');
    if (sock.writable) sock.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    else sock.destroy();
  });

  const where = 'path' in opts.listen ? opts.listen.path : `fd:${opts.listen.fd}`;
  if ('path' in opts.listen) await removeStaleSocket(opts.listen.path);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen('path' in opts.listen ? { path: opts.listen.path } : { fd: opts.listen.fd }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  // Group read/write: the socket's group (pinauthd-api under systemd) is who may use it. A
  // socket systemd passes already has the mode and group its .socket unit gives it.
  if ('path' in opts.listen) await chmod(opts.listen.path, 0o660);
  server.unref();
  log.info({ socket: where, origins: opts.settings().provider.apiOrigins }, 'API proxy listening');

  return {
    where,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        agents.http.destroy();
        agents.https?.destroy();
        for (const t of tunnels.values()) t.destroy();
        if ('path' in opts.listen) void unlink(opts.listen.path).catch(() => undefined);
      }),
  };
}

/** A socket left by a crash makes listen() fail; anything that is not a socket is left alone. */
async function removeStaleSocket(path: string): Promise<void> {
  try {
    const st = await lstat(path);
    if (!st.isSocket()) throw new PinauthError('CONFIG_INVALID', `${path} exists and is not a socket; remove it or set proxy.socket elsewhere.`);
    await unlink(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
}

/**
 * The listening socket systemd passed (socket activation, `pinauthd.socket`): fd 3 on, named
 * `api` by FileDescriptorName=, or the first. The variables are removed so that children do
 * not take them for theirs.
 */
export function socketFromSystemd(env: NodeJS.ProcessEnv = process.env, pid = process.pid): number | null {
  const count = Number(env.LISTEN_FDS);
  const forUs = env.LISTEN_PID === String(pid) && Number.isInteger(count) && count >= 1;
  const names = (env.LISTEN_FDNAMES ?? '').split(':');
  delete env.LISTEN_FDS;
  delete env.LISTEN_PID;
  delete env.LISTEN_FDNAMES;
  if (!forUs) return null;
  const named = names.indexOf('api');
  return 3 + (named >= 0 && named < count ? named : 0);
}
