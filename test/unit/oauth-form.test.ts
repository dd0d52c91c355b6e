import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { isPinauthError, PinauthError } from '../../src/errors.js';
import { parseForm } from '../../src/oauth/form.js';
import { percentEncode } from '../../src/oauth/sign.js';
import { loadVectors } from '../helpers/vectors.js';

const replies = loadVectors().provider_replies;

// Sorted: a record lists integer-like names ("0") first, whatever order the reply had.
const sorted = (ps: [string, string][]) => [...ps].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
const entries = (r: Record<string, string>) => sorted(Object.entries(r));
const malformed = (e: unknown) => isPinauthError(e, 'OAUTH_MALFORMED_REPLY');

describe('oauth form parser', () => {
  it('parses the published request_token reply', () => {
    assert.deepEqual(entries(parseForm(replies.request_token)), sorted([
      ['oauth_token', 'Z6eEdO8MOmk394WozF5oKyuAv855l4Mlqo7hhlSLik'],
      ['oauth_token_secret', 'Kd75W4OQfb2oJTV0vzGzeXftVAwgMnEK9MumzYcM'],
      ['oauth_callback_confirmed', 'true'],
    ]));
  });

  it('parses the published access_token reply', () => {
    const r = parseForm(replies.access_token);
    assert.equal(r.oauth_token, '6253282-eWudHldSbIaelX7swmsiHImEL4KinwaGloHANdrY');
    assert.equal(r.user_id, '6253282');
    assert.equal(r.screen_name, 'twitterapi');
  });

  it('decodes percent-escapes and + as space, keeps empty values', () => {
    assert.deepEqual(entries(parseForm('a=x%2By+z&b=&c%40=%E2%98%83')), sorted([['a', 'x+y z'], ['b', ''], ['c@', '☃']]));
  });

  it('tolerates one trailing newline', () => {
    assert.deepEqual(entries(parseForm('a=1\r\n')), [['a', '1']]);
  });

  it('has no prototype to pollute', () => {
    const r = parseForm('__proto__=x&constructor=y');
    assert.equal(Object.getPrototypeOf(r), null);
    assert.equal(r['__proto__'], 'x');
    assert.equal(({} as Record<string, unknown>).x, undefined);
  });

  const bad: [string, string][] = [
    ['empty', ''],
    ['JSON', '{"oauth_token":"x"}'],
    ['JSON error', '{"errors":[{"code":32,"message":"Could not authenticate you."}]}'],
    ['HTML', '<html><body>Login to Wi-Fi</body></html>'],
    ['bare text', 'Invalid request token'],
    ['no =', 'oauth_token'],
    ['empty name', '=x'],
    ['empty pair', 'a=1&&b=2'],
    ['trailing &', 'a=1&'],
    ['repeated name', 'a=1&a=2'],
    ['space', 'a=1 2'],
    ['unencoded =', 'a=b=c'],
    ['bad escape', 'a=%zz'],
    ['truncated escape', 'a=%4'],
    ['invalid UTF-8', 'a=%ff'],
    ['two newlines', 'a=1\n\n'],
    ['control char', 'a=1\u0000'],
  ];
  for (const [name, body] of bad) {
    it(`refuses ${name}`, () => assert.throws(() => parseForm(body), malformed));
  }
  for (const body of replies.error_shapes_seen) {
    it(`refuses error shape ${body.slice(0, 30)}`, () => assert.throws(() => parseForm(body), malformed));
  }

  const key = fc.string({ minLength: 1, maxLength: 12, unit: 'grapheme' });
  const value = fc.string({ maxLength: 40, unit: 'grapheme' });
  const pairs = fc.uniqueArray(fc.tuple(key, value), { minLength: 1, maxLength: 8, selector: ([k]) => k });

  it('round-trips RFC 3986 encoded pairs (property)', () => {
    fc.assert(
      fc.property(pairs, (ps) => {
        const body = ps.map(([k, v]) => `${percentEncode(k)}=${percentEncode(v)}`).join('&');
        assert.deepEqual(entries(parseForm(body)), sorted(ps));
      }),
    );
  });

  it('round-trips URLSearchParams encoding (+ for space) (property)', () => {
    fc.assert(
      fc.property(pairs, (ps) => {
        assert.deepEqual(entries(parseForm(new URLSearchParams(ps).toString())), sorted(ps));
      }),
    );
  });

  it('throws nothing but PinauthError on arbitrary input (property)', () => {
    const anyText = fc.oneof(fc.string({ unit: 'binary' }), fc.string({ unit: fc.constantFrom('a', '=', '&', '%', '2', 'F', '+', '<', '{', '\n') }));
    fc.assert(
      fc.property(anyText, (text) => {
        try {
          const r = parseForm(text);
          assert.ok(Object.keys(r).length > 0);
        } catch (e) {
          assert.ok(e instanceof PinauthError && e.code === 'OAUTH_MALFORMED_REPLY', String(e));
        }
      }),
      { numRuns: 2000 },
    );
  });
});
