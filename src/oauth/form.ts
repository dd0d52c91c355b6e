/**
 * Strict parser for the form-encoded replies of request_token and access_token.
 *
 * A captive portal's HTML, a JSON error with a 200 status or a truncated reply must not be
 * mistaken for a token, so anything that is not exactly `name=value(&name=value)*` with
 * well-formed percent-encoding is refused as OAUTH_MALFORMED_REPLY.
 */
import { PinauthError } from '../errors.js';

// Characters a form-encoded name or value may carry unencoded: RFC 3986 unreserved, '%' for
// escapes, '+' for a space, and the sub-delimiters some providers leave as they are.
const FIELD = /^[A-Za-z0-9\-._~%+!*'(),:;/@$]*$/;
const BAD_ESCAPE = /%(?![0-9A-Fa-f]{2})/;

function malformed(why: string): PinauthError {
  return new PinauthError('OAUTH_MALFORMED_REPLY', `Provider reply is not form-encoded (${why}); check the provider URLs, or a proxy/captive portal in the way.`);
}

function decode(s: string, what: string): string {
  if (BAD_ESCAPE.test(s)) throw malformed(`bad percent-escape in a ${what}`);
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    throw malformed(`invalid UTF-8 in a ${what}`);
  }
}

/**
 * Parse `a=1&b=2` into a null-prototype record. Refuses empty input, pairs without '=',
 * empty names, repeated names, stray characters (HTML, JSON, spaces) and bad escapes.
 * One trailing newline (some servers add it) is tolerated.
 */
export function parseForm(body: string): Record<string, string> {
  if (typeof body !== 'string') throw malformed('no text');
  const text = body.replace(/\r?\n$/, '');
  if (text === '') throw malformed('empty reply');
  const out = Object.create(null) as Record<string, string>;
  for (const pair of text.split('&')) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw malformed(eq === 0 ? 'a field without a name' : 'a field without "="');
    const rawName = pair.slice(0, eq);
    const rawValue = pair.slice(eq + 1);
    if (!FIELD.test(rawName) || !FIELD.test(rawValue)) throw malformed('unexpected characters');
    const name = decode(rawName, 'name');
    if (name === '') throw malformed('a field without a name');
    if (Object.hasOwn(out, name)) throw malformed('a repeated field');
    out[name] = decode(rawValue, 'value');
  }
  return out;
}

/** True when the body parses as a strict form (for telling a form error reply from text). */
export function looksLikeForm(body: string): boolean {
  try {
    parseForm(body);
    return true;
  } catch {
    return false;
  }
}
