/**
 * A Twitter-compatible OAuth 1.0a provider on node:http, for the demo and the tests.
 *
 * It checks requests for real (Authorization header parsing, consumer key, HMAC signatures
 * over the RFC 5849 base string, nonce replay, timestamp window, token lifetimes, single-use
 * PINs) and answers in Twitter's shapes. Fault switches (./faults.ts) make it misbehave on
 * purpose. Everything is in memory. Nothing here imports src/: see ./signature.ts.
 */
import { createServer, type IncomingMessage, type ServerResponse, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { createHash, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';
import type { Logger } from 'pino';
import {
  MalformedOAuthInput,
  baseStringUri,
  computeSignature,
  isSignatureMethod,
  parseAuthorizationHeader,
  parseFormEncoded,
  signatureBaseString,
  signaturesEqual,
  type Param,
} from './signature.js';
import {
  TwitterErrors,
  apiError,
  formReply,
  htmlReply,
  jsonReply,
  oauthTextError,
  type Reply,
} from './replies.js';
import { authorizePage, deniedPage, invalidTokenPage, pinPage } from './pages.js';
import { echo, mediaUpload, resourceFor, statusesUpdate, streamsBody, tweets, usersMe, type ResourceName } from './resources.js';
import {
  applyFaultPatch,
  defaultFaultSettings,
  endpointMatches,
  snapshotFaults,
  takeCounted,
  validateFaultPatch,
  type EndpointName,
  type FaultSettings,
  type Faults,
  type MalformedKind,
} from './faults.js';

export type { EndpointName, Faults, FaultSettings } from './faults.js';

export interface Consumer {
  key: string;
  secret: string;
  /** Shown on the authorize page. */
  name?: string;
}

export interface ProviderUser {
  id: string;
  screenName: string;
  name?: string;
}

/**
 * DEMO ONLY: the built-in consumer. Its "secret" is public; never use it against anything but
 * this local provider.
 */
export const DEMO_CONSUMER: Readonly<Required<Consumer>> = Object.freeze({
  key: 'pinauthd-demo-key',
  secret: 'pinauthd-demo-secret',
  name: 'pinauthd demo',
});

export const DEMO_USER: Readonly<Required<ProviderUser>> = Object.freeze({
  id: '6253282',
  screenName: 'twitterapi',
  name: 'Twitter API',
});

export interface LocalProviderOptions {
  host?: string;
  /** 0 (default) picks a free port. */
  port?: number;
  consumers?: Consumer[];
  users?: ProviderUser[];
  requestTokenTtlSec?: number;
  /** oauth_timestamp may be this far from the provider's clock, either way. */
  timestampWindowSec?: number;
  /** Wrong PINs for one request token before it is burnt (guards against guessing). */
  maxVerifierTries?: number;
  /** Request bodies larger than this are refused with 413. */
  maxBodyBytes?: number;
  /** The real clock (ms since epoch); the clockSkewSec fault is added on top. */
  now?: () => number;
  /** One line per request and event (a function, or a pino logger at info); never carries a secret. */
  logger?: ((line: string) => void) | Pick<Logger, 'info'>;
  /** The scheme clients sign their URLs with: 'https' behind a TLS front (tests); default 'http'. */
  scheme?: 'http' | 'https';
}

export interface EndpointStats {
  requests: number;
  /** Replies by HTTP status ('200', '401', ...); dropped requests are not here. */
  statuses: Record<string, number>;
  /** Replies by what happened ('ok', 'bad_signature', 'wrong_verifier', 'dropped_after', ...). */
  outcomes: Record<string, number>;
}

export interface LocalProvider {
  /** e.g. 'http://127.0.0.1:8723' */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
  readonly faults: Faults;
  /** Play the person: approve the request token on the authorize page; returns the PIN. */
  approve(requestToken: string, userIndex?: number): string;
  /** Play the person: press Cancel. */
  deny(requestToken: string): void;
  stats(): Record<EndpointName, EndpointStats>;
  /** Forget all tokens, nonces, stats and faults (consumers and users stay). */
  reset(): void;
}

const ROUTES: Record<string, Exclude<EndpointName, 'api'>> = {
  '/oauth/request_token': 'request_token',
  '/oauth/authorize': 'authorize',
  '/oauth/authenticate': 'authenticate',
  '/oauth/access_token': 'access_token',
  '/1.1/account/verify_credentials.json': 'verify_credentials',
  '/1.1/oauth/invalidate_token': 'invalidate_token',
  '/1.1/oauth/invalidate_token.json': 'invalidate_token',
};
const ENDPOINT_NAMES: EndpointName[] = [
  'request_token',
  'authorize',
  'authenticate',
  'access_token',
  'verify_credentials',
  'invalidate_token',
  'api',
];

const MAX_PENDING_REQUEST_TOKENS = 10_000;
const MAX_NONCES = 200_000;
const HUGE_BYTES = 10 * 1024 * 1024;
/** Streamed uploads (media, echo) may be this large; they are hashed, never held. */
const MAX_UPLOAD_BYTES = 512 * 1024 * 1024;
const INVALID_VERIFIER = 'Error processing your OAuth request: Invalid oauth_verifier parameter';
const INVALID_REQUEST_TOKEN = 'Invalid request token.';

type RequestTokenState = 'pending' | 'approved' | 'denied' | 'used';
interface RequestTokenRecord {
  token: string;
  secret: string;
  consumerKey: string;
  expiresAtMs: number;
  state: RequestTokenState;
  pin: string | null;
  userIndex: number;
  /** Ties the authorize form to the page that was served (a small CSRF guard). */
  formKey: string;
  wrongTries: number;
}
interface AccessTokenRecord {
  token: string;
  secret: string;
  consumerKey: string;
  userIndex: number;
  valid: boolean;
}

function randomToken(bytes: number): string {
  return randomBytes(bytes).toString('base64url');
}

function sameString(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

class BodyTooLarge extends Error {}

export async function startLocalProvider(opts: LocalProviderOptions = {}): Promise<LocalProvider> {
  const host = opts.host ?? '127.0.0.1';
  const consumers = (opts.consumers ?? [DEMO_CONSUMER]).map((c) => ({ ...c }));
  const users = (opts.users ?? [DEMO_USER]).map((u) => ({ ...u }));
  if (consumers.length === 0 || users.length === 0) throw new Error('need at least one consumer and one user');
  const ttlMs = (opts.requestTokenTtlSec ?? 900) * 1000;
  const windowSec = opts.timestampWindowSec ?? 300;
  const maxVerifierTries = opts.maxVerifierTries ?? 5;
  const maxBodyBytes = opts.maxBodyBytes ?? 64 * 1024;
  const realNow = opts.now ?? Date.now;
  const sink = opts.logger;
  const log: (line: string) => void =
    sink === undefined ? () => {} : typeof sink === 'function' ? sink : (line) => sink.info({ module: 'local-provider' }, line);

  let settings: FaultSettings = defaultFaultSettings();
  const requestTokens = new Map<string, RequestTokenRecord>();
  const accessTokens = new Map<string, AccessTokenRecord>();
  /** key -> provider time (s) after which the nonce may be forgotten */
  const nonces = new Map<string, number>();
  let stats = freshStats();
  /** Pending delay-fault timers and their resolvers, so close() can finish them. */
  const timers = new Map<NodeJS.Timeout, () => void>();
  let closed = false;

  const providerNowMs = () => realNow() + settings.clockSkewSec * 1000;

  function freshStats(): Record<EndpointName, EndpointStats> {
    const s = {} as Record<EndpointName, EndpointStats>;
    for (const n of ENDPOINT_NAMES) s[n] = { requests: 0, statuses: {}, outcomes: {} };
    return s;
  }
  function count(name: EndpointName, outcome: string, status?: number): void {
    const s = stats[name];
    s.outcomes[outcome] = (s.outcomes[outcome] ?? 0) + 1;
    if (status !== undefined) s.statuses[String(status)] = (s.statuses[String(status)] ?? 0) + 1;
  }

  // The faults object: data fields forward to `settings` so reset() and the control endpoint
  // can replace them while tests hold on to `provider.faults`.
  const faults = {
    expireRequestTokens(): number {
      let n = 0;
      for (const r of requestTokens.values()) {
        if (r.state === 'pending' || r.state === 'approved') {
          r.expiresAtMs = -Infinity;
          n++;
        }
      }
      log(`fault: ${n} request token(s) expired`);
      return n;
    },
    rejectAccessTokens(): number {
      let n = 0;
      for (const a of accessTokens.values()) {
        if (a.valid) {
          a.valid = false;
          n++;
        }
      }
      log(`fault: ${n} access token(s) revoked`);
      return n;
    },
  } as Faults;
  for (const key of Object.keys(defaultFaultSettings()) as (keyof FaultSettings)[]) {
    Object.defineProperty(faults, key, {
      enumerable: true,
      get: () => settings[key],
      set: (v: never) => {
        settings[key] = v;
      },
    });
  }

  // ---- tokens ------------------------------------------------------------------------------

  function pruneRequestTokens(): void {
    const now = providerNowMs();
    for (const [k, r] of requestTokens) {
      if (r.expiresAtMs <= now || r.state === 'used' || r.state === 'denied') requestTokens.delete(k);
    }
    // Still too many live ones: a flood; the oldest go first (Map keeps insertion order).
    for (const k of requestTokens.keys()) {
      if (requestTokens.size < MAX_PENDING_REQUEST_TOKENS) break;
      requestTokens.delete(k);
    }
  }

  /** The record if it can still be authorized or exchanged; a reason otherwise. */
  function liveRequestToken(token: string): RequestTokenRecord | 'unknown' | 'expired' {
    const r = requestTokens.get(token);
    if (!r || r.state === 'used' || r.state === 'denied') return 'unknown';
    if (r.expiresAtMs <= providerNowMs()) return 'expired';
    return r;
  }

  function approve(requestToken: string, userIndex = 0): string {
    const r = liveRequestToken(requestToken);
    if (typeof r === 'string') throw new Error(`request token is ${r === 'expired' ? 'expired' : 'unknown or already used'}`);
    if (!Number.isInteger(userIndex) || userIndex < 0 || userIndex >= users.length) throw new RangeError('no such user');
    if (r.state === 'approved' && r.pin !== null) return r.pin;
    r.state = 'approved';
    r.userIndex = userIndex;
    // Twitter's PINs are 7 digits; leading zeros are kept.
    r.pin = String(randomInt(0, 10_000_000)).padStart(7, '0');
    log(`request token approved for @${users[userIndex]!.screenName}`);
    return r.pin;
  }

  function deny(requestToken: string): void {
    const r = liveRequestToken(requestToken);
    if (typeof r === 'string') throw new Error(`request token is ${r === 'expired' ? 'expired' : 'unknown or already used'}`);
    r.state = 'denied';
    r.pin = null;
    log('request token denied');
  }

  // ---- authentication --------------------------------------------------------------------

  type TokenSecretLookup = (oauthToken: string | undefined) => { secret: string } | Reply;
  interface Authenticated {
    oauth: Map<string, string>;
    consumer: Consumer;
    params: Param[];
  }

  function authenticate(
    req: IncomingMessage,
    path: string,
    rawQuery: string,
    body: string,
    tokenSecret: TokenSecretLookup,
  ): Authenticated | Reply {
    const xml = settings.xmlErrors;
    const badAuthData = (why: string) => apiError(400, TwitterErrors.badAuthData, why, xml);
    const cannotAuth = (why: string) => apiError(401, TwitterErrors.couldNotAuthenticate, why, xml);

    let params: Param[];
    try {
      const header = req.headers.authorization;
      let headerParams: Param[] = [];
      if (header !== undefined) {
        const parsed = parseAuthorizationHeader(header);
        if (parsed === null) return badAuthData('not_oauth_scheme');
        headerParams = parsed.filter(([n]) => n !== 'realm');
      }
      const queryParams = parseFormEncoded(rawQuery);
      const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
      const bodyParams = type === 'application/x-www-form-urlencoded' ? parseFormEncoded(body) : [];
      params = [...headerParams, ...queryParams, ...bodyParams];
    } catch (e) {
      if (e instanceof MalformedOAuthInput) return badAuthData('malformed_params');
      throw e;
    }

    // Protocol parameters may come from the header, the query or the body, but only once each.
    const oauth = new Map<string, string>();
    for (const [n, v] of params) {
      if (!n.startsWith('oauth_')) continue;
      if (oauth.has(n)) return badAuthData('duplicate_oauth_param');
      oauth.set(n, v);
    }
    for (const required of ['oauth_consumer_key', 'oauth_signature_method', 'oauth_signature', 'oauth_timestamp', 'oauth_nonce']) {
      if (!oauth.get(required)) return badAuthData('missing_oauth_param');
    }
    const version = oauth.get('oauth_version');
    if (version !== undefined && version !== '1.0') return cannotAuth('bad_version');
    const method = oauth.get('oauth_signature_method')!;
    if (!isSignatureMethod(method)) return cannotAuth('unsupported_signature_method');
    // PLAINTEXT sends the secrets themselves; RFC 5849 allows it only over TLS, and we are http.
    if (method === 'PLAINTEXT') return cannotAuth('plaintext_refused');

    const consumerKey = oauth.get('oauth_consumer_key')!;
    const consumer = consumers.find((c) => sameString(c.key, consumerKey));
    if (!consumer) return cannotAuth('unknown_consumer');

    const ts = oauth.get('oauth_timestamp')!;
    const nowSec = Math.floor(providerNowMs() / 1000);
    if (!/^\d{1,12}$/.test(ts) || Math.abs(Number(ts) - nowSec) > windowSec) {
      return apiError(401, TwitterErrors.timestamp, 'timestamp_out_of_window', xml);
    }

    const secret = tokenSecret(oauth.get('oauth_token'));
    if ('status' in secret) return secret;

    const hostHeader = req.headers.host;
    if (!hostHeader) return badAuthData('missing_host');
    const signed = params.filter(([n]) => n !== 'oauth_signature');
    const base = signatureBaseString(req.method ?? 'GET', baseStringUri(opts.scheme ?? 'http', hostHeader, path), signed);
    const expected = computeSignature(method, base, consumer.secret, secret.secret);
    if (!signaturesEqual(expected, oauth.get('oauth_signature')!)) return cannotAuth('bad_signature');

    // Checked after the signature, so forged requests cannot burn a client's nonces.
    const nonceKey = `${consumer.key}\n${ts}\n${oauth.get('oauth_nonce')}`;
    if (nonces.has(nonceKey)) return cannotAuth('nonce_replay');
    if (nonces.size >= MAX_NONCES / 2) {
      for (const [k, until] of nonces) if (until < nowSec) nonces.delete(k);
    }
    if (nonces.size >= MAX_NONCES) return apiError(503, TwitterErrors.overCapacity, 'nonce_store_full', xml);
    nonces.set(nonceKey, Number(ts) + windowSec);

    return { oauth, consumer, params };
  }

  // ---- endpoints ---------------------------------------------------------------------------

  function handleRequestToken(req: IncomingMessage, path: string, q: string, body: string): Reply {
    const auth = authenticate(req, path, q, body, () => ({ secret: '' }));
    if ('status' in auth) return auth;
    if (auth.oauth.get('oauth_callback') !== 'oob') {
      return apiError(401, TwitterErrors.oobOnly, 'callback_not_oob', settings.xmlErrors);
    }
    pruneRequestTokens();
    const rec: RequestTokenRecord = {
      token: randomToken(24),
      secret: randomToken(30),
      consumerKey: auth.consumer.key,
      expiresAtMs: providerNowMs() + ttlMs,
      state: 'pending',
      pin: null,
      userIndex: 0,
      formKey: randomToken(16),
      wrongTries: 0,
    };
    requestTokens.set(rec.token, rec);
    return formReply(
      { oauth_token: rec.token, oauth_token_secret: rec.secret, oauth_callback_confirmed: 'true' },
      'ok',
    );
  }

  function handleAccessToken(req: IncomingMessage, path: string, q: string, body: string): Reply {
    const xml = settings.xmlErrors;
    let rec: RequestTokenRecord | undefined;
    const auth = authenticate(req, path, q, body, (token) => {
      if (!token) return oauthTextError(401, 'Request token missing', path, 'request_token_missing', xml);
      const r = liveRequestToken(token);
      if (r === 'unknown') return oauthTextError(401, INVALID_REQUEST_TOKEN, path, 'invalid_request_token', xml);
      if (r === 'expired') return apiError(401, TwitterErrors.invalidToken, 'expired_request_token', xml);
      rec = r;
      return { secret: r.secret };
    });
    if ('status' in auth) return auth;
    const r = rec!;
    if (r.consumerKey !== auth.consumer.key) {
      return oauthTextError(401, INVALID_REQUEST_TOKEN, path, 'invalid_request_token', xml);
    }
    const verifier = auth.oauth.get('oauth_verifier');
    if (r.state !== 'approved' || r.pin === null || verifier === undefined || !sameString(r.pin, verifier)) {
      r.wrongTries += 1;
      if (r.wrongTries >= maxVerifierTries) {
        r.state = 'used';
        log('request token burnt after too many wrong PINs');
      }
      return oauthTextError(401, INVALID_VERIFIER, path, 'wrong_verifier', xml);
    }
    r.state = 'used'; // a PIN works once
    const user = users[r.userIndex]!;
    const access: AccessTokenRecord = {
      token: `${user.id}-${randomToken(30)}`,
      secret: randomToken(30),
      consumerKey: r.consumerKey,
      userIndex: r.userIndex,
      valid: true,
    };
    accessTokens.set(access.token, access);
    return formReply(
      { oauth_token: access.token, oauth_token_secret: access.secret, user_id: user.id, screen_name: user.screenName },
      'ok',
    );
  }

  function authenticateWithAccessToken(
    req: IncomingMessage,
    path: string,
    q: string,
    body: string,
  ): { access: AccessTokenRecord; params: Param[] } | Reply {
    const xml = settings.xmlErrors;
    let found: AccessTokenRecord | undefined;
    const auth = authenticate(req, path, q, body, (token) => {
      const a = token === undefined ? undefined : accessTokens.get(token);
      if (!a || !a.valid) return apiError(401, TwitterErrors.invalidToken, 'invalid_token', xml);
      found = a;
      return { secret: a.secret };
    });
    if ('status' in auth) return auth;
    if (found!.consumerKey !== auth.consumer.key) return apiError(401, TwitterErrors.invalidToken, 'invalid_token', xml);
    return { access: found!, params: auth.params };
  }

  function handleVerifyCredentials(req: IncomingMessage, path: string, q: string, body: string): Reply {
    const auth = authenticateWithAccessToken(req, path, q, body);
    if ('status' in auth) return auth;
    const user = users[auth.access.userIndex]!;
    return userJson(user, 'ok');
  }

  function userJson(user: ProviderUser, outcome: string): Reply {
    const reply = jsonReply(200, { id: '\u0000ID', id_str: user.id, screen_name: user.screenName, name: user.name ?? user.screenName }, outcome);
    // Like Twitter, `id` is a bare JSON number even past 2^53: clients must read id_str.
    const idLiteral = /^\d{1,30}$/.test(user.id) ? user.id : JSON.stringify(user.id);
    reply.body = (reply.body as string).replace('"\\u0000ID"', idLiteral);
    return reply;
  }

  function handleInvalidateToken(req: IncomingMessage, path: string, q: string, body: string): Reply {
    const auth = authenticateWithAccessToken(req, path, q, body);
    if ('status' in auth) return auth;
    auth.access.valid = false;
    return jsonReply(200, { access_token: auth.access.token }, 'ok');
  }

  function handleAuthorizePage(req: IncomingMessage, path: string, q: string, body: string): Reply {
    let form: Map<string, string>;
    try {
      const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
      const pairs = req.method === 'POST' && type === 'application/x-www-form-urlencoded' ? parseFormEncoded(body) : parseFormEncoded(q);
      form = new Map(pairs);
    } catch {
      return htmlReply(400, invalidTokenPage(), 'malformed_form');
    }
    const token = form.get('oauth_token') ?? '';
    const r = token ? liveRequestToken(token) : 'unknown';
    if (typeof r === 'string') return htmlReply(200, invalidTokenPage(), `page_${r}_token`);
    const consumer = consumers.find((c) => c.key === r.consumerKey);
    const appName = consumer?.name ?? consumer?.key ?? 'an application';

    if (req.method === 'GET') {
      if (r.state === 'approved' && r.pin !== null) return htmlReply(200, pinPage(appName, r.pin), 'page_pin_again');
      return htmlReply(200, authorizePage({ path, appName, requestToken: r.token, formKey: r.formKey, accounts: users }), 'page_shown');
    }
    if (!sameString(form.get('form_key') ?? '', r.formKey)) return htmlReply(400, invalidTokenPage(), 'page_bad_form_key');
    if (form.get('action') === 'allow') {
      const idx = Number(form.get('user') ?? '0');
      if (!Number.isInteger(idx) || idx < 0 || idx >= users.length) return htmlReply(400, invalidTokenPage(), 'page_bad_user');
      return htmlReply(200, pinPage(appName, approve(r.token, idx)), 'page_approved');
    }
    deny(r.token);
    return htmlReply(200, deniedPage(appName), 'page_denied');
  }

  // ---- faults that replace the reply ---------------------------------------------------------

  let hugeBody: Buffer | null = null;
  function malformedReply(kind: MalformedKind, name: EndpointName): Reply {
    const outcome = `malformed_${kind}`;
    switch (kind) {
      case 'html':
        return { status: 200, headers: { 'content-type': 'text/html; charset=utf-8' }, body: '<!DOCTYPE html><html><head><title>Hotel WiFi</title></head><body><h1>Please log in to continue</h1></body></html>', outcome };
      case 'garbage':
        return { status: 200, headers: { 'content-type': 'text/html; charset=utf-8' }, body: Buffer.concat([Buffer.from([0xff, 0xfe, 0x00, 0xc3, 0x28, 0x26, 0x3d]), randomBytes(249)]), outcome };
      case 'huge':
        hugeBody ??= Buffer.concat([Buffer.from('oauth_token='), Buffer.alloc(HUGE_BYTES - 12, 0x41)]);
        return { status: 200, headers: { 'content-type': 'text/html; charset=utf-8' }, body: hugeBody, outcome };
      case 'missing-fields':
        switch (name) {
          case 'request_token':
            return formReply({ oauth_token: randomToken(24), oauth_callback_confirmed: 'true' }, outcome);
          case 'access_token':
            return formReply({ oauth_token: `${users[0]!.id}-${randomToken(30)}`, user_id: users[0]!.id, screen_name: users[0]!.screenName }, outcome);
          case 'verify_credentials':
            return jsonReply(200, { name: users[0]!.name ?? users[0]!.screenName }, outcome);
          case 'invalidate_token':
            return jsonReply(200, {}, outcome);
          default:
            return htmlReply(200, '<!DOCTYPE html><html><body></body></html>', outcome);
        }
    }
  }

  function fail5xxReply(status: number, retryAfterSec: number | undefined): Reply {
    const err = status === 503 ? TwitterErrors.overCapacity : TwitterErrors.internalError;
    const reply = apiError(status, err, `fault_${status}`, settings.xmlErrors);
    if (retryAfterSec !== undefined) reply.headers['retry-after'] = String(retryAfterSec);
    return reply;
  }

  function rateLimitReply(retryAfterSec: number): Reply {
    const reply = apiError(429, TwitterErrors.rateLimited, 'rate_limited', settings.xmlErrors);
    reply.headers['retry-after'] = String(retryAfterSec);
    reply.headers['x-rate-limit-limit'] = '15';
    reply.headers['x-rate-limit-remaining'] = '0';
    reply.headers['x-rate-limit-reset'] = String(Math.floor(providerNowMs() / 1000) + retryAfterSec);
    return reply;
  }

  // ---- control endpoint ----------------------------------------------------------------------

  function stateSnapshot() {
    const now = providerNowMs();
    return {
      url: provider.url,
      clock: { providerNowMs: now, clockSkewSec: settings.clockSkewSec },
      faults: snapshotFaults(settings),
      stats: stats,
      // Request tokens appear in authorize URLs anyway; their secrets and PINs never appear here.
      requestTokens: [...requestTokens.values()].map((r) => ({
        oauth_token: r.token,
        state: r.state !== 'used' && r.state !== 'denied' && r.expiresAtMs <= now ? 'expired' : r.state,
        expiresAt: Number.isFinite(r.expiresAtMs) ? new Date(r.expiresAtMs).toISOString() : null,
      })),
      accessTokens: {
        valid: [...accessTokens.values()].filter((a) => a.valid).length,
        invalid: [...accessTokens.values()].filter((a) => !a.valid).length,
      },
    };
  }

  function handleControl(req: IncomingMessage, path: string, body: string): Reply {
    if (req.method === 'GET' && path === '/__control/state') return jsonReply(200, stateSnapshot(), 'control');
    if (req.method !== 'POST') return jsonReply(404, { error: 'not found' }, 'control');
    // JSON only: a web page cannot send this cross-origin without a preflight we never answer.
    const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (type !== 'application/json') return jsonReply(415, { error: 'send application/json' }, 'control');
    let payload: unknown;
    try {
      payload = body.length === 0 ? {} : JSON.parse(body);
    } catch {
      return jsonReply(400, { error: 'body is not JSON' }, 'control');
    }
    const p = (typeof payload === 'object' && payload !== null ? payload : {}) as Record<string, unknown>;
    switch (path) {
      case '/__control/faults': {
        const errors = validateFaultPatch(payload);
        if (errors.length > 0) return jsonReply(400, { errors }, 'control');
        applyFaultPatch(settings, p);
        const actions: Record<string, number> = {};
        if (p.expireRequestTokens === true) actions.expiredRequestTokens = faults.expireRequestTokens();
        if (p.rejectAccessTokens === true) actions.rejectedAccessTokens = faults.rejectAccessTokens();
        log(`control: faults set (${Object.keys(p).join(', ') || 'nothing'})`);
        return jsonReply(200, { faults: snapshotFaults(settings), ...actions }, 'control');
      }
      case '/__control/approve':
      case '/__control/deny': {
        const token = p.oauth_token;
        const userIndex = p.userIndex ?? 0;
        if (typeof token !== 'string' || typeof userIndex !== 'number') {
          return jsonReply(400, { error: 'needs {"oauth_token": string, "userIndex"?: number}' }, 'control');
        }
        try {
          if (path === '/__control/deny') {
            deny(token);
            return jsonReply(200, { denied: true }, 'control');
          }
          return jsonReply(200, { pin: approve(token, userIndex) }, 'control');
        } catch (e) {
          return jsonReply(404, { error: (e as Error).message }, 'control');
        }
      }
      case '/__control/reset':
        reset();
        return jsonReply(200, { reset: true }, 'control');
      default:
        return jsonReply(404, { error: 'not found' }, 'control');
    }
  }

  function reset(): void {
    requestTokens.clear();
    accessTokens.clear();
    nonces.clear();
    stats = freshStats();
    settings = defaultFaultSettings();
    log('reset');
  }

  // ---- API resources (./resources.ts) ---------------------------------------------------------

  /** Read a body that is not signed as a stream: its size and SHA-256, never the whole of it. */
  function hashBody(req: IncomingMessage): Promise<{ size: number; sha256: string }> {
    return new Promise((resolve, reject) => {
      const hash = createHash('sha256');
      let size = 0;
      req.on('data', (c: Buffer) => {
        size += c.length;
        if (size > MAX_UPLOAD_BYTES) {
          req.removeAllListeners('data');
          req.pause();
          reject(new BodyTooLarge());
          return;
        }
        hash.update(c);
      });
      req.on('end', () => resolve({ size, sha256: hash.digest('hex') }));
      req.on('error', reject);
      req.on('aborted', () => reject(new Error('aborted')));
    });
  }

  async function handleResource(resource: ResourceName, req: IncomingMessage, res: ServerResponse, method: string, path: string, rawQuery: string): Promise<void> {
    stats.api.requests += 1;
    const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    const isForm = type === 'application/x-www-form-urlencoded';
    const finish = (reply: Reply, closeAfter = false) => {
      count('api', reply.outcome, reply.status);
      log(`${method} ${path} ${reply.status} ${reply.outcome}`);
      send(res, reply, closeAfter);
      // an upload we refused is not read to its end
      if (closeAfter) res.on('finish', () => req.socket.destroy());
    };
    const f5 = takeCounted(settings.fail5xx, 'api', path);
    const rl = f5 ? null : takeCounted(settings.rateLimit, 'api', path);
    if (f5 || rl) {
      finish(f5 ? fail5xxReply(f5.status ?? 503, f5.retryAfterSec) : rateLimitReply(rl!.retryAfterSec), true);
      return;
    }
    let body: string | { size: number; sha256: string };
    let auth: ReturnType<typeof authenticateWithAccessToken>;
    try {
      if (streamsBody(resource, isForm)) {
        // a body that is not signed: the headers are checked before a byte of it is read
        auth = authenticateWithAccessToken(req, path, rawQuery, '');
        if ('status' in auth) return finish(auth, true);
        body = await hashBody(req);
      } else {
        body = await readBody(req);
        auth = authenticateWithAccessToken(req, path, rawQuery, body);
        if ('status' in auth) return finish(auth);
      }
    } catch (e) {
      if (e instanceof BodyTooLarge) finish(jsonReply(413, { errors: [{ code: 413, message: 'Request body too large.' }] }, 'body_too_large'), true);
      return;
    }
    const user = users[auth.access.userIndex]!;
    switch (resource) {
      case 'users_me':
        return finish(usersMe(user));
      case 'statuses_update':
        return finish(statusesUpdate(user, auth.params));
      case 'tweets':
        return finish(type === 'application/json' ? tweets(body as string) : jsonReply(415, { title: 'Unsupported Media Type', detail: 'Send application/json.', status: 415 }, 'not_json'));
      case 'media_upload': {
        const { size, sha256 } = body as { size: number; sha256: string };
        return finish(mediaUpload(size, sha256));
      }
      case 'echo':
        return finish(echo(method, path, auth.params, type, body));
    }
  }

  // ---- HTTP plumbing -----------------------------------------------------------------------

  function readBody(req: IncomingMessage): Promise<string> {
    return new Promise((resolve, reject) => {
      const declared = Number(req.headers['content-length'] ?? '0');
      if (declared > maxBodyBytes) {
        reject(new BodyTooLarge());
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      req.on('data', (c: Buffer) => {
        size += c.length;
        if (size > maxBodyBytes) {
          req.removeAllListeners('data');
          req.pause();
          reject(new BodyTooLarge());
          return;
        }
        chunks.push(c);
      });
      req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      req.on('error', reject);
      req.on('aborted', () => reject(new Error('aborted')));
    });
  }

  function sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        timers.delete(t);
        resolve();
      }, ms);
      timers.set(t, resolve);
    });
  }

  function send(res: ServerResponse, reply: Reply, closeAfter = false): void {
    if (res.destroyed || res.headersSent) return;
    // Every reply carries the provider's own clock, so clients can measure their skew.
    res.setHeader('date', new Date(providerNowMs()).toUTCString());
    for (const [k, v] of Object.entries(reply.headers)) res.setHeader(k, v);
    if (closeAfter) res.setHeader('connection', 'close');
    if (typeof reply.body === 'string' || reply.body.length <= 1024 * 1024) {
      const buf = typeof reply.body === 'string' ? Buffer.from(reply.body, 'utf8') : reply.body;
      res.setHeader('content-length', String(buf.length));
      res.writeHead(reply.status);
      res.end(buf);
      return;
    }
    // The huge body goes out chunked with no length, so a client has to count as it reads.
    res.writeHead(reply.status);
    const body = reply.body;
    let offset = 0;
    const pump = () => {
      while (offset < body.length && !res.destroyed) {
        const chunk = body.subarray(offset, offset + 64 * 1024);
        offset += chunk.length;
        if (!res.write(chunk)) {
          res.once('drain', pump);
          return;
        }
      }
      if (!res.destroyed) res.end();
    };
    res.on('error', () => {});
    pump();
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const rawUrl = req.url ?? '/';
    const qAt = rawUrl.indexOf('?');
    const path = qAt === -1 ? rawUrl : rawUrl.slice(0, qAt);
    const rawQuery = qAt === -1 ? '' : rawUrl.slice(qAt + 1);
    const method = req.method ?? 'GET';

    if (path.startsWith('/__control/')) {
      let body: string;
      try {
        body = await readBody(req);
      } catch {
        send(res, jsonReply(413, { error: 'body too large' }, 'control'), true);
        return;
      }
      send(res, handleControl(req, path, body));
      return;
    }

    const resource = resourceFor(method, path);
    if (resource) {
      await handleResource(resource, req, res, method, path, rawQuery);
      return;
    }

    const name = ROUTES[path];
    if (!name) {
      send(res, apiError(404, { code: 34, message: 'Sorry, that page does not exist.' }, 'not_found', settings.xmlErrors));
      return;
    }
    stats[name].requests += 1;

    if (takeCounted(settings.drop?.when === 'before' ? settings.drop : null, name, path)) {
      count(name, 'dropped_before');
      log(`${method} ${path} fault: connection dropped before processing`);
      req.socket.destroy();
      return;
    }

    let body: string;
    try {
      body = await readBody(req);
    } catch (e) {
      if (e instanceof BodyTooLarge) {
        const reply = jsonReply(413, { errors: [{ code: 413, message: 'Request body too large.' }] }, 'body_too_large');
        count(name, reply.outcome, reply.status);
        send(res, reply, true);
        // Stop reading the rest of a hostile upload.
        res.on('finish', () => req.socket.destroy());
      }
      return;
    }

    let reply: Reply;
    const f5 = takeCounted(settings.fail5xx, name, path);
    const rl = f5 ? null : takeCounted(settings.rateLimit, name, path);
    const mf = f5 || rl ? null : takeCounted(settings.malformed, name, path);
    if (f5) reply = fail5xxReply(f5.status ?? 503, f5.retryAfterSec);
    else if (rl) reply = rateLimitReply(rl.retryAfterSec);
    else if (mf) reply = malformedReply(mf.kind, name);
    else {
      const want = name === 'verify_credentials' ? ['GET'] : name === 'authorize' || name === 'authenticate' ? ['GET', 'POST'] : ['POST'];
      if (!want.includes(method)) {
        reply = apiError(404, { code: 34, message: 'Sorry, that page does not exist.' }, 'wrong_method', settings.xmlErrors);
      } else {
        switch (name) {
          case 'request_token':
            reply = handleRequestToken(req, path, rawQuery, body);
            break;
          case 'access_token':
            reply = handleAccessToken(req, path, rawQuery, body);
            break;
          case 'verify_credentials':
            reply = handleVerifyCredentials(req, path, rawQuery, body);
            break;
          case 'invalidate_token':
            reply = handleInvalidateToken(req, path, rawQuery, body);
            break;
          case 'authorize':
          case 'authenticate':
            reply = handleAuthorizePage(req, path, rawQuery, body);
            break;
        }
      }
    }

    if (takeCounted(settings.drop?.when === 'after' ? settings.drop : null, name, path)) {
      count(name, 'dropped_after');
      log(`${method} ${path} fault: processed (${reply.outcome}), reply dropped`);
      req.socket.destroy();
      return;
    }
    if (settings.delayMs > 0 && endpointMatches(settings.delayEndpoint, name, path)) {
      await sleep(settings.delayMs);
      if (closed) return;
    }
    count(name, reply.outcome, reply.status);
    log(`${method} ${path} ${reply.status} ${reply.outcome}`);
    send(res, reply);
  }

  const server: Server = createServer((req, res) => {
    req.on('error', () => {});
    res.on('error', () => {});
    handle(req, res).catch((e: unknown) => {
      // Our own bug: answer 500 and keep serving. The message is ours, never a secret.
      log(`internal error: ${e instanceof Error ? e.message : String(e)}`);
      send(res, apiError(500, TwitterErrors.internalError, 'internal_error', settings.xmlErrors), true);
    });
  });
  server.on('clientError', (_err, socket: Socket) => {
    if (socket.writable) {
      socket.end(`HTTP/1.1 400 Bad Request\r\nDate: ${new Date(providerNowMs()).toUTCString()}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    } else socket.destroy();
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const urlHost = host.includes(':') ? `[${host}]` : host;

  const provider: LocalProvider = {
    url: `http://${urlHost}:${port}`,
    port,
    faults,
    approve,
    deny,
    stats: () => structuredClone(stats),
    reset,
    close: () => {
      if (closed) return Promise.resolve();
      closed = true;
      for (const [t, resolve] of timers) {
        clearTimeout(t);
        resolve();
      }
      timers.clear();
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
  log(`listening on ${provider.url}`);
  return provider;
}
