/**
 * OAuth 1.0a request signing (RFC 5849 section 3) through the `oauth-1.0a` package.
 *
 * The package is only used for its encoding, base-string and header building: its defaults
 * are unsafe (PLAINTEXT, Math.random nonces) and its `authorize()` always adds oauth_version
 * and cannot carry oauth_callback / oauth_verifier in the header (its issue #112), so we
 * assemble the protocol parameters ourselves, give it a node:crypto hash function, a
 * crypto.randomBytes nonce and a clock-corrected timestamp, and call its pieces.
 */
import { createHmac, randomBytes } from 'node:crypto';
import OAuth from 'oauth-1.0a';
import type { SignatureMethod } from '../config/types.js';
import { PinauthError } from '../errors.js';
import { checkUrlPolicy } from './url-policy.js';

export type { SignatureMethod } from '../config/types.js';

/** Protocol parameters (oauth_*), as strings. */
export type OAuthParams = Record<string, string>;
/** Request parameters from the query and a form body; repeated names hold arrays. */
export type RequestParams = Record<string, string | string[]>;

const NONCE_BYTES = 24; // 192 bits; base64url gives 32 URL-safe characters

/** A fresh nonce: 192 random bits from crypto.randomBytes, base64url (no padding, URL-safe). */
export function makeNonce(): string {
  return randomBytes(NONCE_BYTES).toString('base64url');
}

/** The hash_function oauth-1.0a calls with (base string, signing key). */
export function hashFunctionFor(method: SignatureMethod): (base: string, key: string) => string {
  switch (method) {
    case 'HMAC-SHA1':
      return (base, key) => createHmac('sha1', key).update(base).digest('base64');
    case 'HMAC-SHA256':
      return (base, key) => createHmac('sha256', key).update(base).digest('base64');
    case 'PLAINTEXT':
      // RFC 5849 3.4.4: the signature is the signing key itself.
      return (_base, key) => key;
    default:
      throw new PinauthError('CONFIG_INVALID', `Unknown OAuth signature method ${JSON.stringify(String(method))}`);
  }
}

export interface OAuthInstanceOptions {
  consumerKey: string;
  consumerSecret: string;
  signatureMethod: SignatureMethod;
  /** Nonce source; crypto.randomBytes by default. */
  nonce?: () => string;
  /** Timestamp source (seconds); local clock plus the known offset by default. */
  timestamp?: () => number;
  /** Local clock in ms (default Date.now). */
  now?: () => number;
  /** Provider clock minus ours, in ms. */
  clockOffsetMs?: () => number;
}

/** An oauth-1.0a instance configured safely: node:crypto hashing, strong nonces, corrected time. */
export function createOAuth(opts: OAuthInstanceOptions): OAuth {
  const oauth = new OAuth({
    consumer: { key: opts.consumerKey, secret: opts.consumerSecret },
    signature_method: opts.signatureMethod,
    hash_function: hashFunctionFor(opts.signatureMethod),
  });
  const now = opts.now ?? Date.now;
  const offset = opts.clockOffsetMs ?? (() => 0);
  oauth.getNonce = opts.nonce ?? makeNonce;
  oauth.getTimeStamp = opts.timestamp ?? (() => Math.floor((now() + offset()) / 1000));
  return oauth;
}

// Used for the stateless helpers; its consumer is never used to sign.
const encoder = createOAuth({ consumerKey: '', consumerSecret: '', signatureMethod: 'HMAC-SHA1' });

/** RFC 3986 percent-encoding as OAuth 1.0a requires (unreserved characters kept). */
export function percentEncode(value: string): string {
  return encoder.percentEncode(value);
}

function decodeFormComponent(s: string): string {
  return decodeURIComponent(s.replace(/\+/g, ' '));
}

function addParam(params: RequestParams, key: string, value: string): void {
  const prior = Object.hasOwn(params, key) ? params[key] : undefined;
  if (prior === undefined) params[key] = value;
  else if (Array.isArray(prior)) prior.push(value);
  else params[key] = [prior, value];
}

function addForm(params: RequestParams, form: string): void {
  for (const part of form.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const key = eq === -1 ? part : part.slice(0, eq);
    const value = eq === -1 ? '' : part.slice(eq + 1);
    addParam(params, decodeFormComponent(key), decodeFormComponent(value));
  }
}

/**
 * The request parameters that enter the signature (RFC 5849 3.4.1.3): the query's and the
 * form body's, decoded, with repeated names kept. (oauth-1.0a's own query parser does not
 * decode names and lets a query parameter hide a body one of the same name.)
 */
export function collectParams(url: string, body?: string | Record<string, string>): RequestParams {
  const params: RequestParams = Object.create(null) as RequestParams;
  const q = url.indexOf('?');
  if (q !== -1) addForm(params, url.slice(q + 1).split('#')[0]!);
  if (typeof body === 'string') addForm(params, body);
  else if (body) for (const [k, v] of Object.entries(body)) addParam(params, k, v);
  return params;
}

/** Base string URI (RFC 5849 3.4.1.2): lower-case scheme and host, no default port, no query. */
export function baseUri(url: string): string {
  const u = new URL(url);
  return `${u.protocol}//${u.host}${u.pathname}`;
}

export interface BaseStringInput {
  method: string;
  /** May carry a query; its parameters are signed. */
  url: string;
  /** Form-encoded body (raw string or fields); its parameters are signed. */
  body?: string | Record<string, string>;
  /** Protocol parameters without oauth_signature (a realm is left out, as RFC 5849 says). */
  oauth: OAuthParams;
}

function withoutRealmAndSignature(oauth: OAuthParams): OAuth.Data {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(oauth)) if (k !== 'realm' && k !== 'oauth_signature') out[k] = v;
  return out as unknown as OAuth.Data;
}

function requestFor(input: Omit<BaseStringInput, 'oauth'>): OAuth.RequestOptions {
  return { method: input.method.toUpperCase(), url: baseUri(input.url), data: collectParams(input.url, input.body) };
}

/** The signature base string (RFC 5849 3.4.1). */
export function baseString(input: BaseStringInput): string {
  return encoder.getBaseString(requestFor(input), withoutRealmAndSignature(input.oauth));
}

/** Sign an already built base string: `percentEncode(consumerSecret)&percentEncode(tokenSecret)` is the key. */
export function signBaseString(method: SignatureMethod, base: string, consumerSecret: string, tokenSecret = ''): string {
  const oauth = createOAuth({ consumerKey: '', consumerSecret, signatureMethod: method });
  return oauth.hash_function(base, oauth.getSigningKey(tokenSecret));
}

/** The Authorization header value for protocol parameters that include oauth_signature. */
export function authorizationHeader(oauth: OAuthParams): string {
  const params: Record<string, string> = {};
  for (const [k, v] of Object.entries(oauth)) if (k.startsWith('oauth_')) params[k] = v;
  return encoder.toHeader(params as unknown as OAuth.Authorization).Authorization;
}

export interface SignRequestInput {
  method: string;
  /** May carry a query (e.g. x_auth_access_type); it is signed. */
  url: string;
  /** The form body, raw (`a=1&a=2`) or as fields; its parameters are signed. */
  body?: string | Record<string, string>;
  consumerKey: string;
  consumerSecret: string;
  token?: string;
  tokenSecret?: string;
  signatureMethod: SignatureMethod;
  /** Further protocol parameters that must be signed and sent in the header: oauth_callback, oauth_verifier. */
  extraOAuth?: OAuthParams;
  /** Fixed nonce / timestamp (test vectors); fresh ones otherwise. */
  nonce?: string;
  timestamp?: number | string;
  /** '1.0' by default; null leaves oauth_version out (it is optional in RFC 5849). */
  version?: string | null;
  /** Local clock in ms (default Date.now) and the known provider offset, for the timestamp. */
  now?: () => number;
  clockOffsetMs?: number;
  /** PLAINTEXT is refused unless the URL is https, or http to loopback with this set. */
  allowHttpLoopback?: boolean;
}

export interface SignedRequest {
  /** Value of the Authorization header. Secret-bearing: never log it. */
  authorization: string;
  /** All protocol parameters sent, including oauth_signature. */
  oauth: OAuthParams;
}

/** Build the protocol parameters for one request, sign them, and build the header. */
export function signRequest(input: SignRequestInput): SignedRequest {
  if (input.signatureMethod === 'PLAINTEXT') {
    try {
      checkUrlPolicy(input.url, input.allowHttpLoopback ?? false);
    } catch (e) {
      const host = URL.canParse(input.url) ? new URL(input.url).host : 'the provider';
      throw new PinauthError(
        'OAUTH_INSECURE',
        `Refusing PLAINTEXT signing for ${host}: it sends the secrets themselves, so it needs https. Use HMAC-SHA1 or an https URL.`,
        { cause: e },
      );
    }
  }
  const oauth = createOAuth({
    consumerKey: input.consumerKey,
    consumerSecret: input.consumerSecret,
    signatureMethod: input.signatureMethod,
    ...(input.nonce !== undefined ? { nonce: () => input.nonce! } : {}),
    ...(input.timestamp !== undefined ? { timestamp: () => Number(input.timestamp) } : {}),
    ...(input.now ? { now: input.now } : {}),
    clockOffsetMs: () => input.clockOffsetMs ?? 0,
  });
  const params: OAuthParams = {
    oauth_consumer_key: input.consumerKey,
    oauth_nonce: oauth.getNonce(),
    oauth_signature_method: input.signatureMethod,
    oauth_timestamp: input.timestamp !== undefined ? String(input.timestamp) : String(oauth.getTimeStamp()),
  };
  const version = input.version === undefined ? '1.0' : input.version;
  if (version !== null) params.oauth_version = version;
  if (input.token !== undefined) params.oauth_token = input.token;
  for (const [k, v] of Object.entries(input.extraOAuth ?? {})) {
    if (!k.startsWith('oauth_') || k === 'oauth_signature') throw new PinauthError('INTERNAL', `Not an extra OAuth protocol parameter: ${k}`);
    params[k] = v;
  }
  const request = requestFor({ method: input.method, url: input.url, body: input.body });
  // getSignature merges into the object it is given: hand it a copy.
  const signature = oauth.getSignature(request, input.tokenSecret ?? '', { ...params } as unknown as OAuth.Data);
  const signed = { ...params, oauth_signature: signature };
  return { authorization: authorizationHeader(signed), oauth: signed };
}
