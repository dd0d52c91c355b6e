import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ErrorCodes, type ErrorCode } from '../../src/errors.js';
import {
  parseErrorBody,
  providerError,
  retryAfterMsFrom,
  sanitizeProviderText,
  type ProviderCallContext,
} from '../../src/oauth/provider-errors.js';
import { loadVectors } from '../helpers/vectors.js';

const shapes = loadVectors().provider_replies.error_shapes_seen;

function headers(h: Record<string, string> = {}) {
  const lower = Object.fromEntries(Object.entries(h).map(([k, v]) => [k.toLowerCase(), v]));
  return { get: (name: string) => lower[name.toLowerCase()] ?? null };
}

function map(status: number, body: string, context: ProviderCallContext, h: Record<string, string> = {}, nowMs = 1_000_000) {
  return providerError({ status, headers: headers(h), body }, context, { nowMs });
}

const json = (code: number, message = 'x') => JSON.stringify({ errors: [{ code, message }] });

describe('oauth provider errors: body shapes seen', () => {
  it('JSON {"errors":[{code,message}]}', () => {
    assert.deepEqual(parseErrorBody(shapes[0]!), { shape: 'json', code: 32, message: 'Could not authenticate you.' });
  });
  it('XML <errors><error code=..>', () => {
    const p = parseErrorBody(shapes[1]!);
    assert.equal(p.shape, 'xml');
    assert.equal(p.code, 415);
    assert.match(p.message, /^Callback URL not approved/);
  });
  it('XML <hash><error>', () => {
    assert.deepEqual(parseErrorBody(shapes[2]!), { shape: 'xml', message: 'Invalid / expired Token' });
  });
  it('bare text', () => {
    assert.deepEqual(parseErrorBody(shapes[3]!), { shape: 'text', message: 'Invalid request token' });
    assert.deepEqual(parseErrorBody(shapes[4]!), { shape: 'text', message: 'Request token missing' });
  });
  it('HTML error page (title)', () => {
    const p = parseErrorBody('<!DOCTYPE html><html><head><title>503 Service &amp; Unavailable</title></head><body><h1>x</h1></body></html>');
    assert.deepEqual(p, { shape: 'html', message: '503 Service & Unavailable' });
  });
  it('empty body', () => assert.deepEqual(parseErrorBody('  '), { shape: 'empty', message: '' }));
  it('JSON that is not an error object falls back to its text', () => {
    assert.equal(parseErrorBody('{"foo":1}').shape, 'json');
  });
});

describe('oauth provider errors: mapping', () => {
  const cases: [string, number, string, ProviderCallContext, ErrorCode][] = [
    ['shape 0 (code 32)', 401, shapes[0]!, 'request_token', 'OAUTH_BAD_CONSUMER'],
    ['shape 1 (code 415)', 403, shapes[1]!, 'request_token', 'OAUTH_CALLBACK_SETTINGS'],
    ['shape 2 exchanging', 401, shapes[2]!, 'exchange', 'OAUTH_REQUEST_TOKEN_INVALID'],
    ['shape 2 verifying', 401, shapes[2]!, 'verify', 'OAUTH_TOKEN_REJECTED'],
    ['shape 3 exchanging', 401, shapes[3]!, 'exchange', 'OAUTH_REQUEST_TOKEN_INVALID'],
    ['shape 4 exchanging', 401, shapes[4]!, 'exchange', 'OAUTH_REQUEST_TOKEN_INVALID'],
    ['code 215', 400, json(215, 'Bad Authentication data.'), 'request_token', 'OAUTH_BAD_CONSUMER'],
    ['code 416', 401, json(416, 'Invalid or suspended application.'), 'request_token', 'OAUTH_BAD_CONSUMER'],
    ['code 417', 401, json(417, "Desktop applications only support the oauth_callback value 'oob'"), 'request_token', 'OAUTH_CALLBACK_SETTINGS'],
    ['code 89 exchanging', 401, json(89, 'Invalid or expired token.'), 'exchange', 'OAUTH_REQUEST_TOKEN_INVALID'],
    ['code 89 verifying', 401, json(89, 'Invalid or expired token.'), 'verify', 'OAUTH_TOKEN_REJECTED'],
    ['code 89 invalidating', 401, json(89, 'Invalid or expired token.'), 'invalidate', 'OAUTH_TOKEN_REJECTED'],
    ['wrong verifier', 401, 'Error processing your OAuth request: Invalid oauth_verifier parameter', 'exchange', 'OAUTH_WRONG_PIN'],
    ['code 135', 401, json(135, 'Timestamp out of bounds.'), 'exchange', 'OAUTH_TIMESTAMP'],
    ['401 timestamp text', 401, 'oauth_problem=timestamp_refused', 'request_token', 'OAUTH_TIMESTAMP'],
    ['429', 429, json(88, 'Rate limit exceeded'), 'request_token', 'OAUTH_RATE_LIMITED'],
    ['code 88 on 400', 400, json(88, 'Rate limit exceeded'), 'verify', 'OAUTH_RATE_LIMITED'],
    ['500 HTML', 500, '<html><title>Oops</title></html>', 'exchange', 'OAUTH_PROVIDER_DOWN'],
    ['503 empty', 503, '', 'verify', 'OAUTH_PROVIDER_DOWN'],
    ['verify 401 without code', 401, 'Unauthorized', 'verify', 'OAUTH_TOKEN_REJECTED'],
    ['other 403', 403, json(999, 'Something else'), 'request_token', 'OAUTH_REJECTED'],
    ['redirect', 302, '', 'request_token', 'OAUTH_REJECTED'],
    ['exchange 401 unknown text', 401, 'Nope', 'exchange', 'OAUTH_WRONG_PIN'],
    ['shape 0 (code 32) exchanging: the consumer was proven by request_token', 401, shapes[0]!, 'exchange', 'OAUTH_WRONG_PIN'],
    ['request_token 401 without a code', 401, 'Unauthorized', 'request_token', 'OAUTH_BAD_CONSUMER'],
    ['exchange 404', 404, 'Not found', 'exchange', 'OAUTH_REJECTED'],
  ];
  for (const [name, status, body, context, code] of cases) {
    it(`${name} -> ${code}`, () => {
      const e = map(status, body, context);
      assert.equal(e.code, code);
      assert.equal(e.status, status);
      // the short form fits a 20-column display
      for (const line of e.short) assert.ok(line.length <= 20, line);
      assert.ok(e.short.length > 0 && e.short.length <= 2);
    });
  }

  it('keeps the provider code', () => {
    assert.equal(map(401, shapes[0]!, 'request_token').providerCode, 32);
  });

  it('callback settings message tells what to do', () => {
    const e = map(403, shapes[1]!, 'request_token');
    assert.match(e.message, /callback URL/);
    assert.match(e.message, /settings/);
    assert.deepEqual(e.short, ErrorCodes.OAUTH_CALLBACK_SETTINGS.short);
  });

  it('redacts values we sent before the text is truncated', () => {
    const e = providerError({ status: 401, headers: headers(), body: `Invalid oauth_verifier parameter 1234567 for token SECRET-TOKEN` }, 'exchange', { redact: ['1234567', 'SECRET-TOKEN'] });
    assert.equal(e.code, 'OAUTH_WRONG_PIN');
    assert.doesNotMatch(e.message, /1234567|SECRET-TOKEN/);
  });
});

describe('oauth provider errors: retry-after', () => {
  const now = Date.parse('2024-01-01T00:00:00Z');
  it('Retry-After in seconds', () => {
    assert.equal(map(429, '', 'request_token', { 'Retry-After': '120' }, now).retryAfterMs, 120_000);
  });
  it('Retry-After as an HTTP date', () => {
    assert.equal(map(429, '', 'request_token', { 'Retry-After': 'Mon, 01 Jan 2024 00:01:30 GMT' }, now).retryAfterMs, 90_000);
  });
  it('x-rate-limit-reset in epoch seconds', () => {
    assert.equal(map(429, json(88), 'verify', { 'x-rate-limit-reset': String(now / 1000 + 900) }, now).retryAfterMs, 900_000);
  });
  it('5xx carries Retry-After too', () => {
    const e = map(503, '', 'verify', { 'Retry-After': '30' }, now);
    assert.equal(e.code, 'OAUTH_PROVIDER_DOWN');
    assert.equal(e.retryAfterMs, 30_000);
  });
  it('none given', () => {
    assert.equal(retryAfterMsFrom(headers(), now), undefined);
    assert.equal(map(429, '', 'verify', {}, now).retryAfterMs, undefined);
  });
  it('a date in the past is zero, not negative', () => {
    assert.equal(retryAfterMsFrom(headers({ 'retry-after': 'Sun, 31 Dec 2023 23:00:00 GMT' }), now), 0);
  });
});

describe('oauth provider errors: hostile text', () => {
  it('strips control and bidi characters (no forged log lines or terminal escapes)', () => {
    const e = map(403, 'bad\n{"level":50,"msg":"forged"}\r\u001b[2J\u202eevil', 'request_token');
    assert.doesNotMatch(e.message, /[\u0000-\u001f\u007f-\u009f\u202e]/);
    assert.match(e.message, /bad \{"level":50/);
  });
  it('truncates long provider text', () => {
    const e = map(403, 'x'.repeat(10_000), 'request_token');
    assert.ok(e.message.length < 500, String(e.message.length));
    assert.equal(sanitizeProviderText('y'.repeat(300)).length, 201);
  });
  it('truncates the HTML of a huge error page', () => {
    const e = map(500, `<html><body>${'<p>junk</p>'.repeat(5000)}</body></html>`, 'exchange');
    assert.ok(e.message.length < 500);
  });
});

describe('oauth provider errors: every error shape at every step', () => {
  const codes = Object.keys(loadVectors().provider_replies.error_codes).map(Number);
  // Each published code in each body shape the provider may use, plus the shapes seen as given.
  const bodies = [
    ...shapes,
    ...codes.map((c) => json(c, loadVectors().provider_replies.error_codes[String(c)]!)),
    ...codes.map((c) => `<?xml version="1.0"?><errors><error code="${c}">${loadVectors().provider_replies.error_codes[String(c)]}</error></errors>`),
    'Unauthorized',
    '',
  ];
  /** What each step may make of a 4xx refusal, whatever the body says. */
  const allowed: Record<ProviderCallContext, ErrorCode[]> = {
    // nothing is proven yet: the app's settings or key, the clock, a rate limit, or a refusal
    request_token: ['OAUTH_BAD_CONSUMER', 'OAUTH_CALLBACK_SETTINGS', 'OAUTH_TIMESTAMP', 'OAUTH_RATE_LIMITED', 'OAUTH_REQUEST_TOKEN_INVALID', 'OAUTH_REJECTED'],
    // the app key is proven: the PIN or the request token (never a wait that ignores the keypad)
    exchange: ['OAUTH_WRONG_PIN', 'OAUTH_REQUEST_TOKEN_INVALID', 'OAUTH_TIMESTAMP', 'OAUTH_RATE_LIMITED'],
    verify: ['OAUTH_TOKEN_REJECTED', 'OAUTH_BAD_CONSUMER', 'OAUTH_CALLBACK_SETTINGS', 'OAUTH_TIMESTAMP', 'OAUTH_RATE_LIMITED', 'OAUTH_REJECTED'],
    invalidate: ['OAUTH_TOKEN_REJECTED', 'OAUTH_BAD_CONSUMER', 'OAUTH_CALLBACK_SETTINGS', 'OAUTH_TIMESTAMP', 'OAUTH_RATE_LIMITED', 'OAUTH_REJECTED'],
  };
  for (const context of Object.keys(allowed) as ProviderCallContext[]) {
    it(`${context}: ${bodies.length} bodies x 400/401/403`, () => {
      for (const body of bodies) {
        for (const status of [400, 401, 403]) {
          const e = map(status, body, context);
          assert.ok(allowed[context].includes(e.code), `${context} ${status} ${body.slice(0, 80)} -> ${e.code}`);
        }
      }
    });
  }
  it('code 32 (401) at each step: app key at request_token, a wrong PIN at access_token', () => {
    const byStep = (['request_token', 'exchange', 'verify'] as const).map((c) => map(401, json(32, 'Could not authenticate you.'), c).code);
    assert.deepEqual(byStep, ['OAUTH_BAD_CONSUMER', 'OAUTH_WRONG_PIN', 'OAUTH_BAD_CONSUMER']);
  });
  it('code 32 (401) once the app key was proven in this run: the access token at verify and invalidate, still the PIN at access_token', () => {
    const proven = (['request_token', 'exchange', 'verify', 'invalidate'] as const).map(
      (c) => providerError({ status: 401, body: json(32, 'Could not authenticate you.'), headers: { get: () => null } }, c, { consumerProven: true }).code,
    );
    assert.deepEqual(proven, ['OAUTH_BAD_CONSUMER', 'OAUTH_WRONG_PIN', 'OAUTH_TOKEN_REJECTED', 'OAUTH_TOKEN_REJECTED']);
    // an unmistakable app refusal (416: suspended app) stays the app's, proven or not
    assert.equal(providerError({ status: 401, body: json(416, 'Invalid / suspended application'), headers: { get: () => null } }, 'verify', { consumerProven: true }).code, 'OAUTH_BAD_CONSUMER');
  });
});

describe('oauth provider errors: OAuth parameters echoed back', () => {
  const echoes = [
    'Authorization: OAuth oauth_consumer_key="pinauthd-demo-key", oauth_nonce="N0NCE", oauth_signature="SIG%3D", oauth_token="TOK"',
    '{"errors":[{"code":32,"message":"bad"}],"request":{"headers":{"Authorization":"OAuth oauth_signature=\\"SIG%3D\\", oauth_token=\\"TOK\\""}}}',
    'received oauth_signature=SIG%3D&oauth_token=TOK&oauth_verifier=1234567',
    '<hash><error>Invalid signature</error><oauth_signature>SIG%3D</oauth_signature></hash>',
    '{"oauth_signature":"SIG%3D","oauth_token":"TOK"}',
  ];
  for (const body of echoes) {
    it(body.slice(0, 60), () => {
      for (const context of ['request_token', 'exchange', 'verify'] as const) {
        const e = map(401, body, context);
        assert.doesNotMatch(e.message, /SIG|TOK|N0NCE|1234567/, e.message);
      }
    });
  }
});
