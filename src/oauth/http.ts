/**
 * One HTTP attempt to the provider, with the safety rails every OAuth call needs: the URL
 * policy, a refusal to run with TLS checks off, a fresh timeout per attempt, a cap on the
 * reply size read from the stream, and errors that say whether the request may have reached
 * the provider (which decides whether a used-once PIN may be lost).
 *
 * node-fetch and node:https (with TLS) are imported lazily, so daemon start-up pays for
 * neither before the first request.
 */
import type http from 'node:http';
import { markStartup } from '../startup-trace.js';
import type { Duplex } from 'node:stream';
import { PinauthError, type ErrorCode, type PinauthErrorOptions } from '../errors.js';
import type { HeaderSource } from './provider-errors.js';
import { proxyFor, type ProxyRoute } from './proxy-policy.js';
import type { ProxyFailure, TunnelAgent } from './proxy-tunnel.js';
import { checkTlsEnvironment, checkUrlPolicy } from './url-policy.js';

export interface FetchInit {
  method: string;
  headers: Record<string, string>;
  body?: string;
  signal: AbortSignal;
  redirect: 'manual';
  /** node-fetch's agent option (the tracking agent); other fetch implementations may ignore it. */
  agent?: http.Agent;
}

export interface FetchResponseLike {
  status: number;
  headers: HeaderSource;
  /** A Node Readable (node-fetch) or a web ReadableStream: both are async iterables of bytes. */
  body: AsyncIterable<Uint8Array> | null;
}

export type FetchLike = (url: string, init: FetchInit) => Promise<FetchResponseLike>;

export interface HttpRequest {
  method: 'GET' | 'POST';
  url: string;
  /** Includes the Authorization header: never log these. */
  headers?: Record<string, string>;
  body?: string;
}

export interface HttpReply {
  status: number;
  headers: HeaderSource;
  body: string;
  /** Wall time of the attempt. */
  ms: number;
}

export interface SendOptions {
  timeoutMs: number;
  maxReplyBytes: number;
  allowHttpLoopback: boolean;
  /** Injected fetch for tests; node-fetch otherwise. */
  fetch?: FetchLike;
  /** Environment to check for NODE_TLS_REJECT_UNAUTHORIZED and the proxy variables (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** provider.proxy as loaded: null reads the environment, '' never uses a proxy (./proxy-policy.ts). */
  proxy?: string | null;
  /** Extra trusted CA certificates (PEM), for tests with a local TLS provider. */
  ca?: string;
}

/** A failed attempt with no reply: says whether the request may have reached the provider. */
export class OAuthTransportError extends PinauthError {
  /** False only when we know no byte of the request left (refused, DNS, TLS, connect timeout). */
  readonly requestMayHaveBeenSent: boolean;
  /** The system error code, e.g. ECONNREFUSED / ECONNRESET / ETIMEDOUT. */
  readonly causeCode: string | undefined;

  constructor(code: ErrorCode, message: string, sent: boolean, causeCode: string | undefined, opts: PinauthErrorOptions = {}) {
    super(code, message, opts);
    this.requestMayHaveBeenSent = sent;
    this.causeCode = causeCode;
  }
}

// node:https pulls in tls: loaded with the first request that needs it, not at start-up.
let httpModule: Promise<typeof import('node:http')> | undefined;
let httpsModule: Promise<typeof import('node:https')> | undefined;
function loadHttp(secure: boolean): Promise<typeof import('node:http') | typeof import('node:https')> {
  if (secure) return (httpsModule ??= import('node:https'));
  return (httpModule ??= import('node:http'));
}

// node-fetch (the design card's HTTP client) is loaded for the first request, not at start-up.
let cachedFetch: Promise<FetchLike> | undefined;
function defaultFetch(): Promise<FetchLike> {
  cachedFetch ??= import('node-fetch').then(
    (mod) => mod.default as unknown as FetchLike,
    (e: unknown) => {
      cachedFetch = undefined; // not cached: the next request tries again
      throw e;
    },
  );
  return cachedFetch;
}

/**
 * Start loading the HTTP client (node-fetch, and node:https or node:http) now, without
 * waiting for it, so that it is ready when the first request goes out: the daemon calls
 * this before it opens the store and the device, whose I/O waits then overlap with the
 * loading. A failure here is not reported: the first request meets it again.
 */
export function preloadHttpClient(secure: boolean): void {
  defaultFetch().catch(() => undefined);
  loadHttp(secure).catch(() => undefined);
}

// Failures that happen before a connection exists: the request cannot have been sent.
const BEFORE_SEND = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EAI_FAIL', 'EAI_NONAME', 'ENETUNREACH', 'EHOSTUNREACH', 'EADDRNOTAVAIL']);

interface Tracker {
  agent: http.Agent;
  /** Set when the request goes through a proxy's tunnel. */
  tunnel: TunnelAgent | undefined;
  /** createConnection was called (the fetch used our agent). */
  used: boolean;
  /** TCP (and TLS, for https) is up, so the request was written or about to be. */
  connected: boolean;
}

let tunnelModule: Promise<typeof import('./proxy-tunnel.js')> | undefined;

/**
 * A one-shot agent that tells whether the connection came up before the failure: a direct
 * one, or a CONNECT tunnel through `route` (TLS to the provider inside it).
 */
async function trackingAgent(secure: boolean, route: ProxyRoute | null, opts: SendOptions, signal: AbortSignal): Promise<Tracker> {
  const tracker: Tracker = { agent: undefined as unknown as http.Agent, tunnel: undefined, used: false, connected: false };
  const tls = opts.ca !== undefined ? { ca: opts.ca } : {};
  let agent: http.Agent;
  if (route) {
    const { TunnelAgent } = await (tunnelModule ??= import('./proxy-tunnel.js'));
    agent = tracker.tunnel = new TunnelAgent(route, opts.timeoutMs, { keepAlive: false, ...tls }, signal);
  } else {
    const lib = await loadHttp(secure);
    agent = secure ? new (lib as typeof import('node:https')).Agent({ keepAlive: false, ...tls }) : new lib.Agent({ keepAlive: false });
  }
  const original = agent.createConnection.bind(agent) as (o: unknown, cb?: unknown) => Duplex | null | undefined;
  const watch = (socket: Duplex | null | undefined) => {
    socket?.once(secure ? 'secureConnect' : 'connect', () => {
      tracker.connected = true;
    });
    return socket;
  };
  agent.createConnection = ((options: unknown, cb?: unknown) => {
    tracker.used = true;
    // a tunnel hands its socket to the callback later
    const later = typeof cb === 'function' ? (err: Error | null, s?: Duplex) => (cb as (e: Error | null, s?: Duplex) => void)(err, watch(s) ?? undefined) : cb;
    return watch(original(options, later));
  }) as typeof agent.createConnection;
  tracker.agent = agent;
  return tracker;
}

function systemCode(e: unknown): string | undefined {
  let cur: unknown = e;
  for (let depth = 0; depth < 4 && typeof cur === 'object' && cur !== null; depth++) {
    const code = (cur as { code?: unknown }).code;
    if (typeof code === 'string' && code !== '' && code !== 'ABORT_ERR') return code;
    cur = (cur as { cause?: unknown }).cause;
  }
  return undefined;
}

const TLS_CODE = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS|ERR_SSL|EPROTO/;

async function readCapped(body: AsyncIterable<Uint8Array> | null, max: number, overflow: () => void): Promise<string> {
  if (body === null) return '';
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.byteLength;
    if (size > max) {
      overflow();
      throw new PinauthError('OAUTH_MALFORMED_REPLY', `Provider reply is larger than maxReplyBytes (${max} bytes); refusing it.`);
    }
    chunks.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * A tunnel that did not come up: nothing reached the provider. The display gets the proxy's
 * host:port (a 16-column display shows what fits), the log the whole reason.
 */
function proxyError(f: ProxyFailure, where: string, timeoutMs: number, cause: unknown): OAuthTransportError {
  const short = f.kind === 'refused' ? [`Proxy: HTTP ${f.status}`, f.proxy] : f.kind === 'timeout' ? ['Proxy timeout', f.proxy] : ['Proxy down', f.proxy];
  const code: ErrorCode = f.kind === 'timeout' ? 'OAUTH_TIMEOUT' : 'OAUTH_NETWORK';
  const why = f.kind === 'timeout' ? `${f.message} (the request to ${where} has ${timeoutMs} ms in all)` : `${f.message} Nothing was sent to ${where}.`;
  return new OAuthTransportError(code, why, false, f.causeCode ?? (f.kind === 'refused' ? `PROXY_${f.status}` : 'ETIMEDOUT'), { cause, short });
}

/** Send one request (one attempt: no retries here). */
export async function sendRequest(req: HttpRequest, opts: SendOptions): Promise<HttpReply> {
  checkTlsEnvironment(opts.env);
  const url = checkUrlPolicy(req.url, opts.allowHttpLoopback);
  const where = `${url.host}${url.pathname}`;
  const route = proxyFor(url, opts.proxy ?? null, opts.env).route;
  const fetch = opts.fetch ?? (await defaultFetch());
  const secure = url.protocol === 'https:';
  const timeout = AbortSignal.timeout(opts.timeoutMs);
  const cap = new AbortController();
  const signal = AbortSignal.any([timeout, cap.signal]);
  const tracker = await trackingAgent(secure, route, opts, signal);
  const started = monotonicMs();
  markStartup(`${req.method} ${where}: sending`);
  let gotHeaders = false;
  try {
    const init: FetchInit = { method: req.method, headers: req.headers ?? {}, signal, redirect: 'manual', agent: tracker.agent };
    if (req.body !== undefined) init.body = req.body;
    const res = await fetch(url.href, init);
    markStartup(`${req.method} ${where}: reply headers`);
    gotHeaders = true;
    const declared = Number(res.headers.get('content-length'));
    if (Number.isFinite(declared) && declared > opts.maxReplyBytes) {
      cap.abort();
      throw new PinauthError('OAUTH_MALFORMED_REPLY', `Provider reply from ${where} declares ${declared} bytes, more than maxReplyBytes (${opts.maxReplyBytes}); refusing it.`, { status: res.status });
    }
    const body = await readCapped(res.body, opts.maxReplyBytes, () => cap.abort());
    return { status: res.status, headers: res.headers, body, ms: Math.round(monotonicMs() - started) };
  } catch (e) {
    if (e instanceof PinauthError) throw e;
    const failed = tracker.tunnel?.lastFailure;
    if (failed && !gotHeaders) throw proxyError(failed, where, opts.timeoutMs, e);
    const code = systemCode(e);
    // With headers in hand the request certainly arrived; otherwise ask the agent, and when
    // the fetch did not use it, only a pre-connection error code proves nothing was sent.
    const sent = gotHeaders || (tracker.used ? tracker.connected : !(code !== undefined && BEFORE_SEND.has(code)));
    if (timeout.aborted) {
      const via = route && !tracker.connected ? ` through the proxy ${route.shown} (${route.source}, no tunnel yet)` : '';
      throw new OAuthTransportError('OAUTH_TIMEOUT', `No reply from ${where}${via} within ${opts.timeoutMs} ms; check the network connection.`, sent, code ?? 'ETIMEDOUT', {
        cause: e,
        ...(via ? { short: ['Proxy timeout', route!.shown] } : {}),
      });
    }
    if (code !== undefined && TLS_CODE.test(code)) {
      throw new OAuthTransportError('OAUTH_NETWORK', `TLS failure talking to ${where} (${code}): the certificate was not accepted; check the date/time and whether a proxy or captive portal is in the way.`, sent, code, { cause: e, short: ['Certificate error', 'check clock+proxy'] });
    }
    throw new OAuthTransportError('OAUTH_NETWORK', `Network error talking to ${where}${code ? ` (${code})` : ''}; check the network connection and DNS.`, sent, code, { cause: e });
  } finally {
    tracker.agent.destroy();
  }
}

/**
 * Milliseconds from a monotonic clock, for durations in logs. process.hrtime rather than the
 * `performance` global, which loads perf_hooks in the middle of the first request.
 */
export function monotonicMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}
