/**
 * A minimal, independent OAuth 1.0a signer and HTTP caller for the local-provider tests.
 *
 * Deliberately shares no code with local-provider/ or src/: the percent-encoding works byte by
 * byte on UTF-8 instead of through encodeURIComponent, so the two sides cross-check each other
 * (and both are checked against ../shared/vectors/oauth1.json).
 */
import { createHmac, randomBytes } from 'node:crypto';
import { request } from 'node:http';

const UNRESERVED = /[A-Za-z0-9\-._~]/;

export function rfc3986(value: string): string {
  let out = '';
  for (const byte of Buffer.from(value, 'utf8')) {
    const ch = String.fromCharCode(byte);
    out += byte < 0x80 && UNRESERVED.test(ch) ? ch : '%' + byte.toString(16).toUpperCase().padStart(2, '0');
  }
  return out;
}

export type Pairs = [string, string][];

/** RFC 5849 3.4.1: METHOD & enc(base URI) & enc(sorted, encoded params). */
export function baseString(method: string, url: string, pairs: Pairs): string {
  const u = new URL(url);
  const defaultPort = (u.protocol === 'http:' && u.port === '80') || (u.protocol === 'https:' && u.port === '443');
  const hostPart = u.port && !defaultPort ? `${u.hostname}:${u.port}` : u.hostname;
  const baseUri = `${u.protocol}//${hostPart.toLowerCase()}${u.pathname}`;
  const encoded = pairs.map(([k, v]) => [rfc3986(k), rfc3986(v)] as const);
  // By encoded name, then encoded value, byte order (all ASCII after encoding).
  encoded.sort((a, b) => Buffer.compare(Buffer.from(a[0]), Buffer.from(b[0])) || Buffer.compare(Buffer.from(a[1]), Buffer.from(b[1])));
  const normalized = encoded.map(([k, v]) => `${k}=${v}`).join('&');
  return `${method.toUpperCase()}&${rfc3986(baseUri)}&${rfc3986(normalized)}`;
}

export function sign(method: 'HMAC-SHA1' | 'HMAC-SHA256' | 'PLAINTEXT', base: string, consumerSecret: string, tokenSecret: string): string {
  const key = `${rfc3986(consumerSecret)}&${rfc3986(tokenSecret)}`;
  if (method === 'PLAINTEXT') return key;
  return createHmac(method === 'HMAC-SHA1' ? 'sha1' : 'sha256', key).update(base).digest('base64');
}

/** Split a query string or form body the way RFC 5849 3.4.1.3.1 reads them. */
export function formPairs(text: string): Pairs {
  return text
    .split('&')
    .filter((p) => p !== '')
    .map((p) => {
      const i = p.indexOf('=');
      const dec = (s: string) => decodeURIComponent(s.replace(/\+/g, ' '));
      return i === -1 ? [dec(p), ''] : [dec(p.slice(0, i)), dec(p.slice(i + 1))];
    });
}

export interface SignedRequest {
  method: string;
  /** Full URL; its query takes part in the signature. */
  url: string;
  consumerKey: string;
  consumerSecret: string;
  token?: string;
  tokenSecret?: string;
  signatureMethod?: 'HMAC-SHA1' | 'HMAC-SHA256' | 'PLAINTEXT';
  /** Extra protocol parameters for the header (oauth_callback, oauth_verifier). */
  oauth?: Record<string, string>;
  /** A form body (sent as application/x-www-form-urlencoded, signed). */
  form?: Record<string, string>;
  nonce?: string;
  timestampSec?: number;
}

export function authorizationHeader(r: SignedRequest): string {
  const method = r.signatureMethod ?? 'HMAC-SHA1';
  const protocol: Record<string, string> = {
    oauth_consumer_key: r.consumerKey,
    oauth_nonce: r.nonce ?? randomBytes(16).toString('hex'),
    oauth_signature_method: method,
    oauth_timestamp: String(r.timestampSec ?? Math.floor(Date.now() / 1000)),
    oauth_version: '1.0',
    ...(r.token !== undefined ? { oauth_token: r.token } : {}),
    ...r.oauth,
  };
  const u = new URL(r.url);
  const pairs: Pairs = [
    ...Object.entries(protocol),
    ...formPairs(u.search.slice(1)),
    ...Object.entries(r.form ?? {}),
  ];
  const signature = sign(method, baseString(r.method, r.url, pairs), r.consumerSecret, r.tokenSecret ?? '');
  const all = { ...protocol, oauth_signature: signature };
  return 'OAuth ' + Object.entries(all).map(([k, v]) => `${rfc3986(k)}="${rfc3986(v)}"`).join(', ');
}

export interface RawReply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  text: string;
}

/** One HTTP request with node:http (no keep-alive, so a dropped socket affects only this call). */
export function httpCall(
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: string | Buffer } = {},
): Promise<RawReply> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: init.method ?? 'GET', headers: init.headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, text: body.toString('utf8') });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(init.body);
  });
}

export function formBody(form: Record<string, string>): string {
  return Object.entries(form).map(([k, v]) => `${rfc3986(k)}=${rfc3986(v)}`).join('&');
}

/** Sign and send. */
export function signedCall(r: SignedRequest, extraHeaders: Record<string, string> = {}): Promise<RawReply> {
  const headers: Record<string, string> = { authorization: authorizationHeader(r), ...extraHeaders };
  let body: string | undefined;
  if (r.form) {
    body = formBody(r.form);
    headers['content-type'] = 'application/x-www-form-urlencoded';
  }
  return httpCall(r.url, { method: r.method, headers, body });
}

export interface Consumer {
  key: string;
  secret: string;
}

/** The PIN flow step by step, with a clock the test controls. */
export class FlowClient {
  constructor(
    readonly baseUrl: string,
    readonly consumer: Consumer,
    readonly clockSec: () => number = () => Math.floor(Date.now() / 1000),
  ) {}

  private base(method: string, path: string): SignedRequest {
    return {
      method,
      url: this.baseUrl + path,
      consumerKey: this.consumer.key,
      consumerSecret: this.consumer.secret,
      timestampSec: this.clockSec(),
    };
  }

  requestTokenCall(over: Partial<SignedRequest> = {}): Promise<RawReply> {
    return signedCall({ ...this.base('POST', '/oauth/request_token'), oauth: { oauth_callback: 'oob' }, ...over });
  }

  async requestToken(): Promise<{ token: string; secret: string }> {
    const r = await this.requestTokenCall();
    if (r.status !== 200) throw new Error(`request_token ${r.status}: ${r.text}`);
    const f = new URLSearchParams(r.text);
    return { token: f.get('oauth_token')!, secret: f.get('oauth_token_secret')! };
  }

  exchangeCall(rt: { token: string; secret: string }, pin: string, over: Partial<SignedRequest> = {}): Promise<RawReply> {
    return signedCall({
      ...this.base('POST', '/oauth/access_token'),
      token: rt.token,
      tokenSecret: rt.secret,
      oauth: { oauth_verifier: pin },
      ...over,
    });
  }

  verifyCall(at: { token: string; secret: string }, over: Partial<SignedRequest> = {}): Promise<RawReply> {
    return signedCall({ ...this.base('GET', '/1.1/account/verify_credentials.json'), token: at.token, tokenSecret: at.secret, ...over });
  }

  invalidateCall(at: { token: string; secret: string }, over: Partial<SignedRequest> = {}): Promise<RawReply> {
    return signedCall({ ...this.base('POST', '/1.1/oauth/invalidate_token'), token: at.token, tokenSecret: at.secret, ...over });
  }
}

export function parseForm(text: string): Record<string, string> {
  return Object.fromEntries(new URLSearchParams(text));
}

/** POST JSON to the control endpoint. */
export async function control(baseUrl: string, path: string, body: unknown): Promise<RawReply> {
  return httpCall(baseUrl + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}
