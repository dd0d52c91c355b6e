/**
 * The signing proxy's decisions about one client request, with no I/O: where it may go (only
 * the provider's configured API origins), whether the socket's policy allows it, which
 * headers travel on, and its OAuth 1.0a signature. src/proxy/server.ts carries them out.
 */
import type { ProxyConfig, SignatureMethod } from '../config/types.js';
import { monotonicMs } from '../oauth/http.js';
import { collectParams, signRequest } from '../oauth/sign.js';

/** A request the proxy refuses: the status and a reason the client is shown. */
export class ProxyRefusal extends Error {
  override readonly name = 'ProxyRefusal';
  constructor(
    readonly status: number,
    /** Stable, machine-readable: `not_authorized`, `origin_not_allowed`, ... */
    readonly error: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/** Host names a client may use for the default (first) origin: `curl --unix-socket S http://api/...`. */
const LOCAL_NAMES = new Set(['', 'api', 'localhost', 'pinauthd']);

export interface Target {
  /** The configured origin it goes to, e.g. `https://api.x.com`. */
  origin: string;
  /** The upstream URL: that origin, the normalized path and the query, no fragment. */
  url: URL;
}

/** Node hands the request line over as latin1: give a raw UTF-8 path its characters back. */
function requestTargetText(raw: string): string {
  return /[^\x00-\x7f]/.test(raw) ? Buffer.from(raw, 'latin1').toString('utf8') : raw;
}

// RFC 3986 6.2.2.2: an escaped unreserved character is that character. Decoding them makes the
// path checked against the policy the same string the provider will act on.
function decodeUnreserved(path: string): string {
  return path.replace(/%([0-9A-Fa-f]{2})/g, (m, hex: string) => {
    const c = String.fromCharCode(parseInt(hex, 16));
    return /[A-Za-z0-9\-._~]/.test(c) ? c : m.toUpperCase();
  });
}

function originFor(hostHeader: string | undefined, origins: readonly string[]): string {
  const host = (hostHeader ?? '').trim().toLowerCase();
  // requests-unixsocket (Python) sends the socket path, percent-encoded, as the host
  if (LOCAL_NAMES.has(host) || LOCAL_NAMES.has(host.replace(/:\d+$/, '')) || host.startsWith('%2f')) return origins[0]!;
  const hit = origins.find((o) => {
    const u = new URL(o);
    return host === u.host || host === u.hostname || (u.port === '' && host === `${u.hostname}:${u.protocol === 'https:' ? 443 : 80}`);
  });
  if (hit) return hit;
  throw new ProxyRefusal(
    421,
    'origin_not_allowed',
    `This socket only reaches ${origins.join(', ')}: use the host "api" (the first one) or one of those names, not ${JSON.stringify(host.slice(0, 100))}.`,
  );
}

/**
 * Where a request goes. The path comes from the client; the origin is always one of the
 * configured ones, chosen by an absolute-form target or the Host header (`api`, `localhost`
 * or nothing for the first).
 */
export function resolveTarget(rawTarget: string, hostHeader: string | undefined, origins: readonly string[]): Target {
  if (origins.length === 0) {
    throw new ProxyRefusal(503, 'no_api_origins', 'No API origins are configured for this provider: set provider.apiOrigins in the config.');
  }
  const text = requestTargetText(rawTarget);
  let origin: string;
  let rest: string;
  if (text.startsWith('/')) {
    origin = originFor(hostHeader, origins);
    rest = text;
  } else if (/^https?:\/\//i.test(text)) {
    // absolute-form, as a client configured to use this as an HTTP proxy sends it
    let u: URL;
    try {
      u = new URL(text);
    } catch {
      throw new ProxyRefusal(400, 'bad_target', 'The request target is not a valid URL.');
    }
    const hit = origins.find((o) => new URL(o).host === u.host);
    if (!hit || u.username !== '' || u.password !== '') {
      throw new ProxyRefusal(403, 'origin_not_allowed', `This socket only reaches ${origins.join(', ')}, not ${u.host.slice(0, 100)}.`);
    }
    origin = hit;
    rest = `${u.pathname}${u.search}`;
  } else {
    throw new ProxyRefusal(400, 'bad_target', 'The request target must be a path (/2/users/me) or a URL on an API origin.');
  }
  let url: URL;
  try {
    url = new URL(origin + rest);
  } catch {
    throw new ProxyRefusal(400, 'bad_target', 'The request target is not a valid path.');
  }
  // origin + a path that starts with '/' cannot name another host; checked all the same
  if (url.origin !== origin) throw new ProxyRefusal(403, 'origin_not_allowed', 'The request target leaves the API origin.');
  url.hash = '';
  url.pathname = decodeUnreserved(url.pathname);
  return { origin, url };
}

/** The socket's policy: methods and path prefixes (the rate limit and body caps are applied as the request is read). */
export function checkPolicy(method: string, target: Target, policy: Pick<ProxyConfig, 'methods' | 'paths'>): void {
  if (!policy.methods.includes(method)) {
    throw new ProxyRefusal(405, 'method_not_allowed', `${method.slice(0, 20)} is not allowed on this socket (allowed: ${policy.methods.join(', ')}).`, {
      allow: policy.methods.join(', '),
    });
  }
  const path = target.url.pathname;
  if (!policy.paths.some((prefix) => path.startsWith(prefix))) {
    throw new ProxyRefusal(403, 'path_not_allowed', `This socket only allows paths under ${policy.paths.join(', ')}.`);
  }
}

/** A form body is signed (RFC 5849 3.4.1.3.1); anything else (JSON, binary, multipart) is not. */
export function isFormBody(contentType: string | undefined): boolean {
  return (contentType ?? '').split(';')[0]!.trim().toLowerCase() === 'application/x-www-form-urlencoded';
}

// Connection-level headers (RFC 9110 7.6.1) and what this proxy sets itself. The client's
// Authorization never travels: the signature is ours.
const NOT_FORWARDED = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authorization',
  'proxy-authenticate',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'host',
  'authorization',
  'expect',
  'content-length',
]);

/**
 * Headers for the other side from Node's rawHeaders list ([name, value, name, value, ...]):
 * without the hop-by-hop ones, those the Connection header names, and `drop`.
 */
export function forwardHeaders(rawHeaders: readonly string[], drop: ReadonlySet<string> = NOT_FORWARDED): Array<[string, string]> {
  const named = new Set<string>();
  for (let i = 0; i < rawHeaders.length; i += 2) {
    if (rawHeaders[i]!.toLowerCase() === 'connection') {
      for (const token of rawHeaders[i + 1]!.split(',')) named.add(token.trim().toLowerCase());
    }
  }
  const out: Array<[string, string]> = [];
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!;
    const lower = name.toLowerCase();
    if (drop.has(lower) || named.has(lower)) continue;
    out.push([name, rawHeaders[i + 1]!]);
  }
  return out;
}

/** Headers of the provider's reply that must not be passed on as they are (the framing is Node's). */
export const REPLY_HEADERS_NOT_FORWARDED: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/** What the daemon lends the proxy to sign one request with; never leaves the process. */
export interface SigningAccount {
  consumerKey: string;
  consumerSecret: string;
  token: string;
  tokenSecret: string;
  signatureMethod: SignatureMethod;
  /** Provider clock minus ours, as the OAuth client learnt it. */
  clockOffsetMs: number;
}

/** Refuse a query or form body whose percent-encoding cannot be decoded (it could not be signed as sent). */
export function checkSignable(url: URL, formBody: string | undefined): void {
  try {
    collectParams(url.href, formBody);
  } catch {
    throw new ProxyRefusal(400, 'bad_encoding', 'The query or form body has malformed percent-encoding (or invalid UTF-8 in an escape).');
  }
}

/**
 * The Authorization header for an upstream request: the query's and a form body's parameters
 * are signed, repeated names included; a JSON or binary body is not (RFC 5849 3.4.1.3).
 * `fixed` pins nonce and timestamp (the published test vectors).
 */
export function authorizationFor(
  method: string,
  url: URL,
  formBody: string | undefined,
  account: SigningAccount,
  allowHttpLoopback: boolean,
  fixed: { nonce?: string; timestamp?: number } = {},
): string {
  return signRequest({
    method,
    url: url.href,
    ...(formBody !== undefined ? { body: formBody } : {}),
    consumerKey: account.consumerKey,
    consumerSecret: account.consumerSecret,
    token: account.token,
    tokenSecret: account.tokenSecret,
    signatureMethod: account.signatureMethod,
    clockOffsetMs: account.clockOffsetMs,
    allowHttpLoopback,
    ...fixed,
  }).authorization;
}

/** A token bucket: `requests` at once, refilled continuously at `requests` per `perSeconds`. */
export class RateLimiter {
  private tokens: number;
  private last: number;
  constructor(
    private readonly limit: { requests: number; perSeconds: number },
    private readonly now: () => number = monotonicMs,
  ) {
    this.tokens = limit.requests;
    this.last = now();
  }

  /** 0 when a request may go now (and takes its token), else the ms until one may. */
  take(): number {
    const t = this.now();
    const perMs = this.limit.requests / (this.limit.perSeconds * 1000);
    this.tokens = Math.min(this.limit.requests, this.tokens + (t - this.last) * perMs);
    this.last = t;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return 0;
    }
    return Math.ceil((1 - this.tokens) / perMs);
  }
}
