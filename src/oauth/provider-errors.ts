/**
 * Turn a provider's error reply, whatever its shape (Twitter's JSON `{"errors":[...]}`, the
 * two old XML shapes, bare text, an HTML error page), into one PinauthError with a stable code.
 *
 * Provider text is untrusted: it is stripped of control and bidi characters and truncated
 * before it goes into a message, so a hostile server cannot forge log lines or the display.
 */
import { PinauthError, type ErrorCode } from '../errors.js';
import { redactOAuthText, replaceUnsafe } from '../untrusted.js';

/** Which call failed: the same reply means different things in different steps. */
export type ProviderCallContext = 'request_token' | 'exchange' | 'verify' | 'invalidate';

export interface HeaderSource {
  get(name: string): string | null;
}

export interface ProviderReply {
  status: number;
  headers: HeaderSource;
  body: string;
}

export type ErrorShape = 'json' | 'xml' | 'html' | 'text' | 'empty';

export interface ParsedErrorBody {
  shape: ErrorShape;
  /** The provider's numeric code, when it sent one. */
  code?: number;
  /** Sanitized provider text ('' when none). */
  message: string;
}

const MAX_PROVIDER_TEXT = 200;

/** Remove control/bidi characters, collapse whitespace, truncate. */
export function sanitizeProviderText(text: string, max = MAX_PROVIDER_TEXT): string {
  const clean = replaceUnsafe(text, ' ').replace(/\s+/g, ' ').trim();
  if (clean.length <= max) return clean;
  return `${Array.from(clean).slice(0, max).join('')}…`;
}

function decodeXmlEntities(s: string): string {
  return s.replace(/&(amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);/g, (_m, e: string) => {
    switch (e) {
      case 'amp': return '&';
      case 'lt': return '<';
      case 'gt': return '>';
      case 'quot': return '"';
      case 'apos': return "'";
      default: {
        const n = e.startsWith('#x') ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
        return n > 0 && n <= 0x10ffff ? String.fromCodePoint(n) : ' ';
      }
    }
  });
}

function toCode(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  if (typeof v === 'string' && /^\d{1,6}$/.test(v)) return Number(v);
  return undefined;
}

function fromJson(value: unknown): { code?: number; message: string } | null {
  if (typeof value !== 'object' || value === null) return null;
  const o = value as Record<string, unknown>;
  // Twitter v1.1: {"errors":[{"code":32,"message":"..."}]}
  if (Array.isArray(o.errors) && o.errors.length > 0) {
    const first = o.errors[0] as Record<string, unknown> | string;
    if (typeof first === 'string') return { message: first };
    if (typeof first === 'object' && first !== null) {
      const code = toCode(first.code);
      const message = typeof first.message === 'string' ? first.message : typeof first.detail === 'string' ? first.detail : '';
      return code === undefined ? { message } : { code, message };
    }
  }
  if (typeof o.errors === 'string') return { message: o.errors };
  // {"error":"..."} / {"error":{"code":..,"message":..}} / problem+json {"title","detail"}
  if (typeof o.error === 'string') {
    const code = toCode(o.code);
    return code === undefined ? { message: o.error } : { code, message: o.error };
  }
  if (typeof o.error === 'object' && o.error !== null) return fromJson({ errors: [o.error] });
  const text = [o.title, o.detail, o.message].filter((x): x is string => typeof x === 'string').join(': ');
  if (text !== '') {
    const code = toCode(o.code);
    return code === undefined ? { message: text } : { code, message: text };
  }
  return null;
}

/** Find the provider's code and message in an error body of any known shape. */
export function parseErrorBody(body: string): ParsedErrorBody {
  const text = body.trim();
  if (text === '') return { shape: 'empty', message: '' };
  if (text.startsWith('{') || text.startsWith('[')) {
    try {
      const parsed = fromJson(JSON.parse(text));
      if (parsed) {
        const out: ParsedErrorBody = { shape: 'json', message: sanitizeProviderText(parsed.message) };
        if (parsed.code !== undefined) out.code = parsed.code;
        return out;
      }
      return { shape: 'json', message: sanitizeProviderText(text) };
    } catch {
      // not JSON after all: fall through to text
    }
  }
  if (/^<(?:!doctype\s+html|html[\s>])/i.test(text) || /<body[\s>]/i.test(text)) {
    const title = /<title[^>]*>([\s\S]*?)<\/title>/i.exec(text)?.[1];
    const h1 = /<h1[^>]*>([\s\S]*?)<\/h1>/i.exec(text)?.[1];
    const words = title ?? h1 ?? text.replace(/<script[\s\S]*?<\/script>|<style[\s\S]*?<\/style>/gi, ' ');
    return { shape: 'html', message: sanitizeProviderText(decodeXmlEntities(words.replace(/<[^>]*>/g, ' '))) };
  }
  if (text.startsWith('<')) {
    // <errors><error code="415">...</error></errors>  and  <hash><error>...</error><request>..</request></hash>
    const m = /<error\b([^>]*)>([\s\S]*?)<\/error>/i.exec(text);
    if (m) {
      const code = toCode(/\bcode\s*=\s*["']?(\d+)/i.exec(m[1] ?? '')?.[1]);
      const out: ParsedErrorBody = { shape: 'xml', message: sanitizeProviderText(decodeXmlEntities(m[2]!.replace(/<[^>]*>/g, ' '))) };
      if (code !== undefined) out.code = code;
      return out;
    }
    return { shape: 'xml', message: sanitizeProviderText(decodeXmlEntities(text.replace(/<[^>]*>/g, ' '))) };
  }
  return { shape: 'text', message: sanitizeProviderText(text) };
}

/**
 * How long the provider asks us to wait: Retry-After (seconds or HTTP date), else
 * x-rate-limit-reset (epoch seconds). `nowMs` is the provider's idea of now (local + offset).
 */
export function retryAfterMsFrom(headers: HeaderSource, nowMs: number = Date.now()): number | undefined {
  const retryAfter = headers.get('retry-after')?.trim();
  if (retryAfter) {
    if (/^\d+$/.test(retryAfter)) return Number(retryAfter) * 1000;
    const at = Date.parse(retryAfter);
    if (!Number.isNaN(at)) return Math.max(0, at - nowMs);
  }
  const reset = headers.get('x-rate-limit-reset')?.trim();
  if (reset && /^\d+$/.test(reset)) return Math.max(0, Number(reset) * 1000 - nowMs);
  return undefined;
}

const TIMESTAMP_TEXT = /timestamp|clock/i;
const VERIFIER_TEXT = /verifier|\bpin\b/i;
const TOKEN_TEXT = /invalid\s*\/\s*expired token|invalid or expired token|invalid request token|request token missing|invalid token|expired token|token (?:is )?(?:invalid|expired|missing)/i;

/** True when the provider refused our timestamp (code 135, or a 401 that says so). */
export function isTimestampRejection(status: number, parsed: ParsedErrorBody): boolean {
  return parsed.code === 135 || (status === 401 && TIMESTAMP_TEXT.test(parsed.message));
}

function describe(status: number, parsed: ParsedErrorBody): string {
  const parts = [`HTTP ${status}`];
  if (parsed.code !== undefined) parts.push(`code ${parsed.code}`);
  return parsed.message ? `${parts.join(', ')}: "${parsed.message}"` : parts.join(', ');
}

const STEP: Record<ProviderCallContext, string> = {
  request_token: 'getting a request token',
  exchange: 'exchanging the PIN for an access token',
  verify: 'verifying the access token',
  invalidate: 'invalidating the access token',
};

export interface ProviderErrorOptions {
  /** Provider's idea of now, for x-rate-limit-reset and HTTP dates. */
  nowMs?: number;
  /** Values we sent that must not come back through an echoing provider (PIN, tokens). */
  redact?: readonly string[];
  /**
   * A call of this run with the same consumer key and secret was accepted: a refusal that
   * could be the app key's or the token's (code 32) is then the token's.
   */
  consumerProven?: boolean;
}

/** Replace every occurrence of the given values (longest first) with [redacted]. */
export function redactValues(text: string, values: readonly string[]): string {
  let out = text;
  for (const v of [...values].filter((x) => x.length >= 3).sort((a, b) => b.length - a.length)) {
    out = out.split(v).join('[redacted]');
  }
  return out;
}

const BAD_CONSUMER_ADVICE = 'Check the consumer key and secret (API key and secret) of the app, and that the app is not suspended.';
const REQUEST_TOKEN_ADVICE = 'The authorization code expired or was already used: getting a new one; open the new URL and authorize again.';

type Make = (code: ErrorCode, advice: string) => PinauthError;

/**
 * access_token refused with a 4xx: the request token is dead (code 89, its text), or else the
 * PIN did not match it (counted as a wrong PIN: tries, then a fresh code, whose request_token
 * tests the app key again). Null for the rest (rate limits, clock, redirects, other statuses).
 */
function exchangeRefusal(status: number, parsed: ParsedErrorBody, make: Make): PinauthError | null {
  if (status === 429 || parsed.code === 88 || isTimestampRejection(status, parsed)) return null;
  if (parsed.code === 89 || (TOKEN_TEXT.test(parsed.message) && !VERIFIER_TEXT.test(parsed.message))) {
    return make('OAUTH_REQUEST_TOKEN_INVALID', REQUEST_TOKEN_ADVICE);
  }
  if (status === 400 || status === 401 || status === 403) {
    return make('OAUTH_WRONG_PIN', 'The PIN was not accepted: type the PIN shown after authorizing again.');
  }
  return null;
}

/**
 * Map an error reply to a PinauthError. The caller says which step it was, because a reply
 * means what the step has not yet proven: at access_token the consumer key and secret have
 * just been proven by request_token (same signing code), so "could not authenticate you"
 * there (Twitter's code 32 covers several failures) is the PIN's or the request token's
 * fault, never the app key's. At verify it is the access token's once the caller says the
 * app key was proven (`consumerProven`); before that it names the app key, and the client
 * settles it with a request_token (src/oauth/client.ts).
 */
export function providerError(reply: ProviderReply, context: ProviderCallContext, opts: ProviderErrorOptions = {}): PinauthError {
  // Redact before truncating, so no partial value survives at the cut: the values we sent,
  // and any OAuth parameter or Authorization header a provider echoes back.
  const parsed = parseErrorBody(redactOAuthText(opts.redact ? redactValues(reply.body, opts.redact) : reply.body));
  const { status } = reply;
  const what = `Provider refused ${STEP[context]} (${describe(status, parsed)})`;
  const base = { status, ...(parsed.code !== undefined ? { providerCode: parsed.code } : {}) };
  const make = (code: ErrorCode, advice: string, extra: { retryAfterMs?: number } = {}): PinauthError =>
    new PinauthError(code, `${what}. ${advice}`, { ...base, ...extra });
  const retryAfterMs = retryAfterMsFrom(reply.headers, opts.nowMs);
  const withRetry = retryAfterMs === undefined ? {} : { retryAfterMs };

  if (status === 429 || parsed.code === 88) {
    return make('OAUTH_RATE_LIMITED', retryAfterMs === undefined ? 'Rate limited: waiting before trying again.' : `Rate limited: retrying in about ${Math.ceil(retryAfterMs / 1000)} s.`, withRetry);
  }
  if (status >= 500) return make('OAUTH_PROVIDER_DOWN', 'The provider has a problem on its side; retrying later.', withRetry);
  if (context === 'exchange') {
    const exchangeError = exchangeRefusal(status, parsed, make);
    if (exchangeError) return exchangeError;
  }
  if (parsed.code === 32 && status === 401 && opts.consumerProven && (context === 'verify' || context === 'invalidate')) {
    return make(
      'OAUTH_TOKEN_REJECTED',
      'The app key was accepted by the provider in this run, so it is the access token it refuses (revoked or expired): authorize the device again.',
    );
  }
  if (parsed.code === 32 || parsed.code === 215 || parsed.code === 416) {
    return make('OAUTH_BAD_CONSUMER', BAD_CONSUMER_ADVICE);
  }
  if (parsed.code === 415 || parsed.code === 417) {
    return make(
      'OAUTH_CALLBACK_SETTINGS',
      "Open the app's settings in the provider's developer portal and set a callback URL (any valid URL, e.g. https://example.com/callback): Twitter/X requires one even for the PIN (oob) flow.",
    );
  }
  if (isTimestampRejection(status, parsed)) {
    return make('OAUTH_TIMESTAMP', "The provider says this device's clock is wrong: check the date and time (NTP, e.g. `timedatectl`).");
  }
  if (parsed.code === 89 || TOKEN_TEXT.test(parsed.message)) {
    return context === 'request_token'
      ? make('OAUTH_REQUEST_TOKEN_INVALID', REQUEST_TOKEN_ADVICE)
      : make('OAUTH_TOKEN_REJECTED', 'The access token is no longer valid (revoked or expired): authorize the device again.');
  }
  if (context === 'request_token' && status === 401) {
    // Nothing is proven before request_token: the consumer key and secret are all it signs with.
    return make('OAUTH_BAD_CONSUMER', BAD_CONSUMER_ADVICE);
  }
  if ((context === 'verify' || context === 'invalidate') && status === 401) {
    return make('OAUTH_TOKEN_REJECTED', 'The access token is no longer valid (revoked or expired): authorize the device again.');
  }
  if (status >= 300 && status < 400) {
    return make('OAUTH_REJECTED', 'The provider answered with a redirect, which is not followed: check the provider URLs in the config.');
  }
  return make('OAUTH_REJECTED', 'See the provider text above; check the provider settings and the app in its developer portal.');
}
