/**
 * OAuth 1.0a signature checking for the local provider (RFC 5849 section 3).
 *
 * Written independently of src/oauth on purpose: the provider cross-checks our client, so
 * sharing code would let one bug hide on both sides. Only node:crypto is used.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export type ProviderSignatureMethod = 'HMAC-SHA1' | 'HMAC-SHA256' | 'PLAINTEXT';

/** A name/value pair; parameters may repeat, so they are kept as a list. */
export type Param = [name: string, value: string];

/** The input was not well formed (bad header syntax, bad percent-encoding). */
export class MalformedOAuthInput extends Error {
  override readonly name = 'MalformedOAuthInput';
}

/** RFC 5849 3.6: everything but the unreserved set ALPHA / DIGIT / "-" / "." / "_" / "~", UTF-8 first. */
export function percentEncode(value: string): string {
  return encodeURIComponent(value).replace(
    /[!'()*]/g,
    (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase(),
  );
}

function strictDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    throw new MalformedOAuthInput('bad percent-encoding');
  }
}

/**
 * application/x-www-form-urlencoded decoding as RFC 5849 3.4.1.3.1 asks for query and body:
 * `+` is a space, a name without `=` has an empty value, empty pieces are skipped.
 */
export function parseFormEncoded(text: string): Param[] {
  const out: Param[] = [];
  if (text.length === 0) return out;
  for (const piece of text.split('&')) {
    if (piece.length === 0) continue;
    const eq = piece.indexOf('=');
    const rawName = eq === -1 ? piece : piece.slice(0, eq);
    const rawValue = eq === -1 ? '' : piece.slice(eq + 1);
    out.push([strictDecode(rawName.replace(/\+/g, ' ')), strictDecode(rawValue.replace(/\+/g, ' '))]);
  }
  return out;
}

/**
 * Parse `Authorization: OAuth realm="x", oauth_consumer_key="...", ...` (RFC 5849 3.5.1).
 * Returns null when the scheme is not OAuth. Values are percent-decoded; `realm` is returned
 * too (the caller leaves it out of the base string).
 */
export function parseAuthorizationHeader(header: string): Param[] | null {
  const m = /^\s*OAuth(?:\s+|$)/i.exec(header);
  if (!m) return null;
  const rest = header.slice(m[0].length);
  const out: Param[] = [];
  // One `name="value"` at a time, separated by commas with optional whitespace.
  const item = /\s*([A-Za-z0-9_.~%-]+)\s*=\s*"([^"]*)"\s*(,|$)/y;
  let pos = 0;
  while (pos < rest.length) {
    if (/^\s*$/.test(rest.slice(pos))) break;
    item.lastIndex = pos;
    const hit = item.exec(rest);
    if (!hit) throw new MalformedOAuthInput('bad Authorization header syntax');
    out.push([strictDecode(hit[1]!), strictDecode(hit[2]!)]);
    pos = item.lastIndex;
    if (hit[3] === '' && pos < rest.length) throw new MalformedOAuthInput('bad Authorization header syntax');
  }
  return out;
}

/** RFC 5849 3.4.1.2: lowercase scheme and host, default ports dropped, no query or fragment. */
export function baseStringUri(scheme: string, hostHeader: string, path: string): string {
  const s = scheme.toLowerCase();
  let host = hostHeader.toLowerCase();
  if ((s === 'http' && host.endsWith(':80')) || (s === 'https' && host.endsWith(':443'))) {
    host = host.slice(0, host.lastIndexOf(':'));
  }
  const q = path.indexOf('?');
  return `${s}://${host}${q === -1 ? path : path.slice(0, q)}`;
}

/** RFC 5849 3.4.1.3.2: encode, sort by name then value (byte order), join. */
export function normalizeParameters(params: Param[]): string {
  const encoded = params.map(([n, v]) => [percentEncode(n), percentEncode(v)] as const);
  encoded.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  return encoded.map(([n, v]) => `${n}=${v}`).join('&');
}

/**
 * The signature base string. `params` are all the signed parameters: the protocol parameters
 * (without realm and oauth_signature), the query and a form body.
 */
export function signatureBaseString(method: string, uri: string, params: Param[]): string {
  return [method.toUpperCase(), percentEncode(uri), percentEncode(normalizeParameters(params))].join('&');
}

export function computeSignature(
  method: ProviderSignatureMethod,
  baseString: string,
  consumerSecret: string,
  tokenSecret: string,
): string {
  const key = `${percentEncode(consumerSecret)}&${percentEncode(tokenSecret)}`;
  switch (method) {
    case 'HMAC-SHA1':
      return createHmac('sha1', key).update(baseString).digest('base64');
    case 'HMAC-SHA256':
      return createHmac('sha256', key).update(baseString).digest('base64');
    case 'PLAINTEXT':
      return key;
  }
}

/** Constant-time comparison, so a forger learns nothing from response times. */
export function signaturesEqual(expected: string, given: string): boolean {
  const a = Buffer.from(expected, 'utf8');
  const b = Buffer.from(given, 'utf8');
  return a.length === b.length && timingSafeEqual(a, b);
}

export function isSignatureMethod(s: string): s is ProviderSignatureMethod {
  return s === 'HMAC-SHA1' || s === 'HMAC-SHA256' || s === 'PLAINTEXT';
}
