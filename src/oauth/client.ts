/**
 * The OAuth 1.0a PIN ("oob") flow against one provider: request token -> authorize URL ->
 * PIN as oauth_verifier -> access token; then verify / invalidate with the access token.
 *
 * Retries: none here except one after the provider rejected our timestamp (its Date header
 * gives the offset; the provider refuses the timestamp before it looks at the PIN, so that
 * retry cannot burn a PIN). Backoff for other failures belongs to the daemon.
 */
import type { Logger } from 'pino';
import type { Config, ProviderConfig } from '../config/types.js';
import { PinauthError, toPinauthError } from '../errors.js';
import { parseForm } from './form.js';
import { monotonicMs, OAuthTransportError, sendRequest, type FetchLike, type HttpReply } from './http.js';
import { isTimestampRejection, parseErrorBody, providerError, type ProviderCallContext } from './provider-errors.js';
import { percentEncode, signRequest, type OAuthParams } from './sign.js';
import type { AccessToken, OAuthClientApi, RequestToken, VerifiedIdentity } from './types.js';
import { cleanName, hasUnsafeChars, VALUE_LIMITS, VISIBLE_ASCII } from '../untrusted.js';

export type { FetchLike } from './http.js';

export interface OAuthClientOptions {
  provider: ProviderConfig;
  consumerKey: string;
  consumerSecret: string;
  logger: Logger;
  /** Injected fetch (tests); node-fetch otherwise. */
  fetch?: FetchLike;
  /** Local clock in ms since epoch (default Date.now). */
  now?: () => number;
  /** Environment checked for NODE_TLS_REJECT_UNAUTHORIZED (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** The provider's clock offset learnt already (a reload's new client: see offsetToKeep). */
  clockOffsetMs?: number;
}

/** Offsets smaller than this are within the Date header's 1 s resolution: no retry. */
const MIN_SKEW_CORRECTION_MS = 1000;
const USER_AGENT = 'pinauthd/0.1 (OAuth 1.0a PIN flow)';

/**
 * The oauth_verifier for typed digits: with a template, each '#' takes the next digit and
 * anything else is literal (Flickr '###-###-###'); without one, the digits as typed.
 */
export function formatVerifier(pin: string, template?: string): string {
  if (!/^\d+$/.test(pin)) throw new PinauthError('PIN_FORMAT', 'The PIN must be digits only.');
  if (template === undefined || template === '') return pin;
  const slots = template.split('').filter((c) => c === '#').length;
  if (slots !== pin.length) {
    throw new PinauthError('PIN_FORMAT', `The PIN must have ${slots} digits.`, { short: [`PIN: ${slots} digits`, 'type it again'] });
  }
  let next = 0;
  return template.replace(/#/g, () => pin[next++]!);
}

function withQuery(url: string, params: Record<string, string>): string {
  const entries = Object.entries(params);
  if (entries.length === 0) return url;
  const query = entries.map(([k, v]) => `${percentEncode(k)}=${percentEncode(v)}`).join('&');
  return `${url}${url.includes('?') ? '&' : '?'}${query}`;
}

/** URL without query or fragment, for logs. */
function logUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.origin}${u.pathname}`;
  } catch {
    return '(invalid url)';
  }
}

function isSuccess(status: number): boolean {
  return status >= 200 && status < 300;
}

interface CallSpec {
  op: ProviderCallContext;
  method: 'GET' | 'POST';
  url: string;
  token?: { token: string; secret: string };
  extraOAuth?: OAuthParams;
  /** Values that must never come back in an error message. */
  redact: string[];
}

export class OAuthClient implements OAuthClientApi {
  private readonly provider: ProviderConfig;
  private readonly consumerKey: string;
  private readonly consumerSecret: string;
  private readonly log: Logger;
  private readonly fetchImpl: FetchLike | undefined;
  private readonly now: () => number;
  private readonly env: NodeJS.ProcessEnv | undefined;
  private offsetMs = 0;
  /** A signed call was accepted in this run: the consumer key and secret are good. */
  private consumerProven = false;

  constructor(opts: OAuthClientOptions) {
    this.provider = opts.provider;
    this.consumerKey = opts.consumerKey;
    this.consumerSecret = opts.consumerSecret;
    this.log = opts.logger.child({ module: 'oauth' });
    this.fetchImpl = opts.fetch;
    this.now = opts.now ?? Date.now;
    this.env = opts.env;
    this.offsetMs = opts.clockOffsetMs ?? 0;
  }

  /** Provider clock minus ours (ms), learnt from a timestamp rejection. */
  get clockOffsetMs(): number {
    return this.offsetMs;
  }

  authorizeUrl(requestToken: string): string {
    const params: Record<string, string> = { oauth_token: requestToken };
    if (this.provider.forceLogin) params.force_login = 'true';
    if (this.provider.screenName) params.screen_name = this.provider.screenName;
    return withQuery(this.provider.authorizeUrl, params);
  }

  async requestToken(): Promise<RequestToken> {
    const query: Record<string, string> = {};
    if (this.provider.accessType) query.x_auth_access_type = this.provider.accessType;
    const reply = await this.call({
      op: 'request_token',
      method: 'POST',
      url: withQuery(this.provider.requestTokenUrl, query),
      extraOAuth: { oauth_callback: 'oob' },
      redact: [],
    });
    const fields = parseForm(reply.body);
    const token = fields.oauth_token;
    const secret = fields.oauth_token_secret;
    if (!token || !secret) {
      throw new PinauthError('OAUTH_MALFORMED_REPLY', 'The request_token reply has no oauth_token/oauth_token_secret; check requestTokenUrl.', { status: reply.status });
    }
    checkToken('request_token', 'oauth_token', token, reply.status);
    checkToken('request_token', 'oauth_token_secret', secret, reply.status);
    if (fields.oauth_callback_confirmed !== 'true') {
      throw new PinauthError(
        'OAUTH_MALFORMED_REPLY',
        'The request_token reply did not confirm the callback (oauth_callback_confirmed=true missing): the provider does not speak OAuth 1.0a as expected; check requestTokenUrl.',
        { status: reply.status },
      );
    }
    return { token, secret, authorizeUrl: this.authorizeUrl(token), issuedAt: this.now() + this.offsetMs };
  }

  async exchange(request: { token: string; secret: string }, pin: string): Promise<AccessToken> {
    const verifier = formatVerifier(pin, this.provider.pin.template);
    const reply = await this.call({
      op: 'exchange',
      method: 'POST',
      url: this.provider.accessTokenUrl,
      token: request,
      extraOAuth: { oauth_verifier: verifier },
      redact: [pin, verifier, request.token, request.secret],
    });
    const fields = parseForm(reply.body);
    const { oauth_token: token, oauth_token_secret: secret, user_id: userId, screen_name: screenName, ...rest } = fields;
    if (!token || !secret) {
      throw new PinauthError('OAUTH_MALFORMED_REPLY', 'The access_token reply has no oauth_token/oauth_token_secret; start again with a new code.', { status: reply.status });
    }
    checkToken('access_token', 'oauth_token', token, reply.status);
    checkToken('access_token', 'oauth_token_secret', secret, reply.status);
    return { token, secret, ...this.identity('access_token', userId ?? '', screenName ?? ''), extra: this.extraFields(rest) };
  }

  /** user_id and screen_name as they may be stored and shown: a bad one is emptied or cleaned, with a warning. */
  private identity(step: string, userId: string, screenName: string): VerifiedIdentity {
    const okId = userId === '' || (userId.length <= VALUE_LIMITS.userId && VISIBLE_ASCII.test(userId));
    const name = cleanName(screenName, VALUE_LIMITS.screenName);
    if (!okId || name !== screenName) {
      this.log.warn(
        { step, userIdLength: userId.length, screenNameLength: screenName.length },
        `the ${step} reply has a user_id or screen_name with control characters or beyond ${VALUE_LIMITS.userId} characters: ${okId ? '' : 'user_id left out, '}screen_name cleaned`,
      );
    }
    return { userId: okId ? userId : '', screenName: name };
  }

  /** The other fields of the access_token reply worth keeping: bounded in number, name and value. */
  private extraFields(rest: Record<string, string>): Record<string, string> {
    const extra: Record<string, string> = {};
    let dropped = 0;
    for (const [k, v] of Object.entries(rest)) {
      const fits = /^[A-Za-z0-9_.-]+$/.test(k) && k.length <= VALUE_LIMITS.extraName && v.length <= VALUE_LIMITS.extraValue && !hasUnsafeChars(v);
      if (fits && Object.keys(extra).length < VALUE_LIMITS.extraFields) extra[k] = v;
      else dropped++;
    }
    if (dropped > 0) this.log.warn({ dropped }, 'left out fields of the access_token reply that are too many, too long or hold control characters');
    return extra;
  }

  async verify(access: { token: string; secret: string }): Promise<VerifiedIdentity | null> {
    if (this.provider.verifyUrl === null) return null;
    const reply = await this.call({ op: 'verify', method: 'GET', url: this.provider.verifyUrl, token: access, redact: [access.token, access.secret] });
    const found = identityFrom(reply.body);
    return this.identity('verify', found.userId, found.screenName);
  }

  async invalidate(access: { token: string; secret: string }): Promise<boolean> {
    if (this.provider.invalidateUrl === null) return false;
    await this.call({ op: 'invalidate', method: 'POST', url: this.provider.invalidateUrl, token: access, redact: [access.token, access.secret] });
    return true;
  }

  /** Sign and send, with the one clock-skew retry; returns a 2xx reply or throws PinauthError. */
  private async call(spec: CallSpec): Promise<HttpReply> {
    const redact = [...spec.redact, this.consumerSecret];
    for (let attempt = 0; ; attempt++) {
      const reply = await this.attempt(spec);
      if (isSuccess(reply.status)) {
        this.consumerProven = true;
        return reply;
      }
      const providerNow = this.now() + this.offsetMs;
      let error = providerError(reply, spec.op, { nowMs: providerNow, redact, consumerProven: this.consumerProven });
      if (error.code === 'OAUTH_BAD_CONSUMER' && error.providerCode === 32 && spec.op === 'verify') {
        // Code 32 names no culprit and nothing has proven the app key in this run yet (a
        // stored token checked at start): a request_token, signed with the app key alone,
        // tells. Refused: its own error (the app key, or the network) and the token is kept;
        // accepted: it is the token that the provider refuses.
        await this.requestToken();
        error = providerError(reply, spec.op, { nowMs: providerNow, redact, consumerProven: true });
      }
      if (attempt === 0 && isTimestampRejection(reply.status, parseErrorBody(reply.body))) {
        const offset = this.offsetFromDate(reply);
        if (offset !== undefined && Math.abs(offset - this.offsetMs) >= MIN_SKEW_CORRECTION_MS) {
          this.offsetMs = offset;
          this.log.warn({ offsetMs: offset }, 'clock skew corrected');
          continue;
        }
      }
      throw error;
    }
  }

  private offsetFromDate(reply: HttpReply): number | undefined {
    const date = reply.headers.get('date');
    if (!date) return undefined;
    const at = Date.parse(date);
    return Number.isNaN(at) ? undefined : at - this.now();
  }

  private async attempt(spec: CallSpec): Promise<HttpReply> {
    const signed = signRequest({
      method: spec.method,
      url: spec.url,
      consumerKey: this.consumerKey,
      consumerSecret: this.consumerSecret,
      signatureMethod: this.provider.signatureMethod,
      ...(spec.token ? { token: spec.token.token, tokenSecret: spec.token.secret } : {}),
      ...(spec.extraOAuth ? { extraOAuth: spec.extraOAuth } : {}),
      now: this.now,
      clockOffsetMs: this.offsetMs,
      allowHttpLoopback: this.provider.allowHttpLoopback,
    });
    const url = logUrl(spec.url);
    const started = monotonicMs();
    try {
      const reply = await sendRequest(
        {
          method: spec.method,
          url: spec.url,
          headers: {
            Authorization: signed.authorization,
            Accept: '*/*',
            'User-Agent': USER_AGENT,
            // Every parameter travels in the header or the query: the form body is empty.
            ...(spec.method === 'POST' ? { 'Content-Type': 'application/x-www-form-urlencoded' } : {}),
          },
          ...(spec.method === 'POST' ? { body: '' } : {}),
        },
        {
          timeoutMs: this.provider.timeoutMs,
          maxReplyBytes: this.provider.maxReplyBytes,
          allowHttpLoopback: this.provider.allowHttpLoopback,
          proxy: this.provider.proxy,
          ...(this.fetchImpl ? { fetch: this.fetchImpl } : {}),
          ...(this.env ? { env: this.env } : {}),
        },
      );
      this.log.debug({ op: spec.op, url, status: reply.status, ms: reply.ms }, 'oauth call');
      return reply;
    } catch (e) {
      const err = e instanceof PinauthError ? e : new PinauthError('OAUTH_NETWORK', `Request to ${url} failed.`, { cause: e });
      this.log.debug({ op: spec.op, url, code: err.code, ms: Math.round(monotonicMs() - started) }, 'oauth call failed');
      if (spec.op === 'exchange' && err instanceof OAuthTransportError && err.requestMayHaveBeenSent) {
        throw new PinauthError(
          'OAUTH_REPLY_LOST',
          `The connection to ${url} failed after the PIN was sent (${err.causeCode ?? err.code}); the PIN may be used up: starting again with a new code.`,
          { cause: err },
        );
      }
      throw err;
    }
  }
}

/**
 * A token or secret must be what the store keeps and a header can carry: visible ASCII, at
 * most VALUE_LIMITS.token characters. Anything else refuses the reply (the message tells
 * the length, never the value).
 */
function checkToken(step: string, field: string, value: string, status: number): void {
  if (value.length <= VALUE_LIMITS.token && VISIBLE_ASCII.test(value)) return;
  throw new PinauthError(
    'OAUTH_MALFORMED_REPLY',
    `The ${step} reply has an ${field} of ${value.length} characters${VISIBLE_ASCII.test(value) ? '' : ' with spaces, control or non-ASCII characters'}; at most ${VALUE_LIMITS.token} visible ASCII characters are accepted: refusing it.`,
    { status },
  );
}

function pickString(o: Record<string, unknown>, keys: string[]): string {
  for (const k of keys) {
    const v = o[k];
    if (typeof v === 'string' && v !== '') return v;
    if (typeof v === 'number' && Number.isSafeInteger(v)) return String(v);
  }
  return '';
}

/** Identity from a verify reply: Twitter v1.1 {id_str, screen_name}, v2 {data:{id, username}}, or whatever exists. */
function identityFrom(body: string): VerifiedIdentity {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    try {
      value = parseForm(body);
    } catch {
      throw new PinauthError('OAUTH_MALFORMED_REPLY', 'The verify reply is neither JSON nor form-encoded; check verifyUrl.');
    }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { userId: '', screenName: '' };
  let o = value as Record<string, unknown>;
  if (typeof o.data === 'object' && o.data !== null && !Array.isArray(o.data)) o = o.data as Record<string, unknown>;
  return {
    userId: pickString(o, ['id_str', 'user_id', 'id']),
    screenName: pickString(o, ['screen_name', 'username', 'screenName']),
  };
}

/** The client for a loaded config (the daemon, and the operator commands that talk to the provider). */
export function makeOAuthClient(config: Config, logger: Logger, clockOffsetMs = 0): OAuthClient {
  return new OAuthClient({
    provider: config.provider,
    consumerKey: config.credentials.consumerKey,
    consumerSecret: config.credentials.consumerSecret,
    logger,
    clockOffsetMs,
  });
}

/**
 * The clock offset a reload's new client starts with: the one the old client learnt while the
 * provider's servers are the same (their clock has not changed), else none. Relearning it
 * costs a refused call and its retry.
 */
export function offsetToKeep(before: ProviderConfig, offsetMs: number, after: ProviderConfig): number {
  const servers = (p: ProviderConfig) => [p.requestTokenUrl, p.accessTokenUrl, p.verifyUrl, p.invalidateUrl].map((u) => (u === null ? '' : new URL(u).origin)).join(' ');
  return servers(before) === servers(after) ? offsetMs : 0;
}

/** Invalidate a token at the provider; a failure is logged, never thrown (the local copy goes anyway). */
export async function invalidateQuietly(oauth: OAuthClientApi, account: { token: string; tokenSecret: string }, log: Logger): Promise<boolean> {
  try {
    return await oauth.invalidate({ token: account.token, secret: account.tokenSecret });
  } catch (e) {
    log.warn({ err: toPinauthError(e).toLog() }, 'could not invalidate the token at the provider; removing it locally anyway');
    return false;
  }
}

