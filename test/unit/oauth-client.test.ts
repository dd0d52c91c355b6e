import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { after, before, beforeEach, describe, it } from 'node:test';
import pino from 'pino';
import type { ProviderConfig } from '../../src/config/types.js';
import { isPinauthError } from '../../src/errors.js';
import { OAuthClient, formatVerifier, offsetToKeep } from '../../src/oauth/client.js';
import { parseOAuthHeader, refusedPort, startServer, type SeenRequest, type TestServer } from '../helpers/oauth-server.js';
import { loadVectors } from '../helpers/vectors.js';

const replies = loadVectors().provider_replies;

const CONSUMER_KEY = 'ck-public';
const CONSUMER_SECRET = 'CANARY-CONSUMER-SECRET';
const REQUEST = { token: 'Z6eEdO8MOmk394WozF5oKyuAv855l4Mlqo7hhlSLik', secret: 'Kd75W4OQfb2oJTV0vzGzeXftVAwgMnEK9MumzYcM' };
const ACCESS = { token: '6253282-eWudHldSbIaelX7swmsiHImEL4KinwaGloHANdrY', secret: '2EEfA6BG5ly3sR3XjE0IBSnlQu4ZrUzPiYTmrkVU' };
const PIN = '9081726';

/** An independent HMAC-SHA1 check (header + query parameters; our bodies are empty). */
function rfc3986(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}
function signatureValid(req: SeenRequest, origin: string, tokenSecret: string): boolean {
  const { oauth_signature: sig, ...params } = parseOAuthHeader(req.headers.authorization);
  const u = new URL(req.url, origin);
  const pairs = [...Object.entries(params), ...u.searchParams].map(([k, v]) => [rfc3986(k), rfc3986(v)] as const);
  pairs.sort(([a, av], [b, bv]) => (a < b ? -1 : a > b ? 1 : av < bv ? -1 : av > bv ? 1 : 0));
  const base = `${req.method}&${rfc3986(origin + u.pathname)}&${rfc3986(pairs.map(([k, v]) => `${k}=${v}`).join('&'))}`;
  return createHmac('sha1', `${rfc3986(CONSUMER_SECRET)}&${rfc3986(tokenSecret)}`).update(base).digest('base64') === sig;
}

function providerFor(origin: string, over: Partial<ProviderConfig> = {}): ProviderConfig {
  return {
    name: 'test',
    requestTokenUrl: `${origin}/oauth/request_token`,
    authorizeUrl: `${origin}/oauth/authorize`,
    accessTokenUrl: `${origin}/oauth/access_token`,
    verifyUrl: `${origin}/1.1/account/verify_credentials.json`,
    invalidateUrl: `${origin}/1.1/oauth/invalidate_token`,
    signatureMethod: 'HMAC-SHA1',
    pin: { digits: 7 },
    allowHttpLoopback: true,
    timeoutMs: 3000,
    maxReplyBytes: 64 * 1024,
    requestTokenTtlSec: 900,
    minVerifyIntervalSec: 60,
    apiOrigins: [origin],
    proxy: null,
    ...over,
  };
}

function capture() {
  const lines: string[] = [];
  const logger = pino({ level: 'debug' }, { write: (s: string) => void lines.push(s) });
  return { logger, lines, records: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

type Mode = 'ok' | 'skew-once' | 'skew-always' | 'wrong-pin' | 'reset' | 'hang' | 'html' | 'no-confirm' | 'revoked' | 'other-json' | 'rate-limited' | 'verify-32' | 'app-32';

describe('oauth client against a local provider', () => {
  let server: TestServer;
  let mode: Mode = 'ok';
  /** The test provider's clock is this far ahead of ours. */
  let serverSkewMs = 0;
  let problems: string[] = [];

  before(async () => {
    server = await startServer((req, res) => {
      const origin = server.origin;
      const oauth = parseOAuthHeader(req.headers.authorization);
      const path = new URL(req.url, origin).pathname;
      const serverNow = Date.now() + serverSkewMs;
      const stale = Math.abs(Number(oauth.oauth_timestamp) * 1000 - serverNow) > 60_000;
      if (mode === 'skew-always' || (mode === 'skew-once' && stale)) {
        res.writeHead(401, { date: new Date(serverNow).toUTCString(), 'content-type': 'application/json' });
        res.end(JSON.stringify({ errors: [{ code: 135, message: 'Timestamp out of bounds.' }] }));
        return;
      }
      if (mode === 'reset') return void res.socket?.destroy();
      if (mode === 'hang') return;
      if (mode === 'rate-limited') return void res.writeHead(429, { 'retry-after': '60' }).end(JSON.stringify({ errors: [{ code: 88, message: 'Rate limit exceeded' }] }));
      // Twitter's "Could not authenticate you": at verify only (a dead token), or everywhere (a bad app key)
      const couldNot = JSON.stringify({ errors: [{ code: 32, message: 'Could not authenticate you.' }] });
      if (mode === 'app-32' || (mode === 'verify-32' && path === '/1.1/account/verify_credentials.json')) return void res.writeHead(401).end(couldNot);
      if (oauth.oauth_consumer_key !== CONSUMER_KEY) problems.push('consumer key');
      if (!/^[A-Za-z0-9_-]{22,}$/.test(oauth.oauth_nonce ?? '')) problems.push('nonce');
      if (oauth.oauth_signature_method !== 'HMAC-SHA1') problems.push('method');
      switch (path) {
        case '/oauth/request_token':
          if (req.method !== 'POST') problems.push('request_token method');
          if (oauth.oauth_callback !== 'oob') problems.push('oauth_callback');
          if (!signatureValid(req, origin, '')) problems.push('request_token signature');
          if (mode === 'html') return void res.writeHead(200, { 'content-type': 'text/html' }).end('<html><body>Sign in to the Wi-Fi</body></html>');
          if (mode === 'no-confirm') return void res.writeHead(200).end(replies.request_token.replace('&oauth_callback_confirmed=true', ''));
          return void res.writeHead(200, { 'content-type': 'application/x-www-form-urlencoded' }).end(replies.request_token);
        case '/oauth/access_token':
          if (req.method !== 'POST') problems.push('access_token method');
          if (oauth.oauth_token !== REQUEST.token) problems.push('access_token token');
          if (!('oauth_verifier' in oauth)) problems.push('oauth_verifier');
          if (!signatureValid(req, origin, REQUEST.secret)) problems.push('access_token signature');
          if (mode === 'wrong-pin' || (oauth.oauth_verifier !== PIN && oauth.oauth_verifier !== '908-172-6')) {
            return void res.writeHead(401).end(`Error processing your OAuth request: Invalid oauth_verifier parameter ${oauth.oauth_verifier}`);
          }
          return void res.writeHead(200).end(`${replies.access_token}&x_custom=1`);
        case '/1.1/account/verify_credentials.json':
          if (req.method !== 'GET') problems.push('verify method');
          if (oauth.oauth_token !== ACCESS.token || !signatureValid(req, origin, ACCESS.secret)) problems.push('verify signature');
          if (mode === 'revoked') return void res.writeHead(401).end(JSON.stringify({ errors: [{ code: 89, message: 'Invalid or expired token.' }] }));
          if (mode === 'other-json') return void res.writeHead(200).end(JSON.stringify({ data: { name: 'x' } }));
          return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ id: 6253282, id_str: '6253282', screen_name: 'twitterapi', name: 'X API' }));
        case '/1.1/oauth/invalidate_token':
          if (req.method !== 'POST' || !signatureValid(req, origin, ACCESS.secret)) problems.push('invalidate');
          return void res.writeHead(200).end(JSON.stringify({ access_token: ACCESS.token }));
        default:
          res.writeHead(404).end();
      }
    });
  });
  after(() => server.close());
  beforeEach(() => {
    mode = 'ok';
    serverSkewMs = 0;
    problems = [];
    server.requests.length = 0;
  });

  const client = (over: Partial<ProviderConfig> = {}, logger = pino({ level: 'silent' })) =>
    new OAuthClient({ provider: providerFor(server.origin, over), consumerKey: CONSUMER_KEY, consumerSecret: CONSUMER_SECRET, logger });

  it('requestToken: signed POST with oauth_callback=oob, shortest authorize URL', async () => {
    const rt = await client().requestToken();
    assert.deepEqual(problems, []);
    assert.equal(rt.token, REQUEST.token);
    assert.equal(rt.secret, REQUEST.secret);
    assert.equal(rt.authorizeUrl, `${server.origin}/oauth/authorize?oauth_token=${REQUEST.token}`);
    assert.ok(Math.abs(rt.issuedAt - Date.now()) < 60_000);
    assert.match(server.requests[0]!.headers.authorization!, /oauth_callback="oob"/);
    assert.equal(server.requests[0]!.url, '/oauth/request_token');
  });

  it('requestToken: x_auth_access_type is sent and signed; force_login/screen_name only when configured', async () => {
    const rt = await client({ accessType: 'write', forceLogin: true, screenName: 'some one' }).requestToken();
    assert.deepEqual(problems, []);
    assert.equal(server.requests[0]!.url, '/oauth/request_token?x_auth_access_type=write');
    assert.equal(rt.authorizeUrl, `${server.origin}/oauth/authorize?oauth_token=${REQUEST.token}&force_login=true&screen_name=some%20one`);
  });

  it('requestToken: insists on oauth_callback_confirmed=true', async () => {
    mode = 'no-confirm';
    await assert.rejects(client().requestToken(), (e: unknown) => isPinauthError(e, 'OAUTH_MALFORMED_REPLY') && /oauth_callback_confirmed/.test(e.message));
  });

  it('requestToken: an HTML page with 200 is a malformed reply', async () => {
    mode = 'html';
    await assert.rejects(client().requestToken(), (e: unknown) => isPinauthError(e, 'OAUTH_MALFORMED_REPLY'));
  });

  it('requestToken: 429 is rate limited with retryAfterMs', async () => {
    mode = 'rate-limited';
    await assert.rejects(client().requestToken(), (e: unknown) => isPinauthError(e, 'OAUTH_RATE_LIMITED') && e.retryAfterMs === 60_000);
  });

  it('exchange: PIN as a signed oauth_verifier, with the request token secret', async () => {
    const at = await client().exchange(REQUEST, PIN);
    assert.deepEqual(problems, []);
    assert.deepEqual(at, { token: ACCESS.token, secret: ACCESS.secret, userId: '6253282', screenName: 'twitterapi', extra: { x_custom: '1' } });
    assert.match(server.requests[0]!.headers.authorization!, new RegExp(`oauth_verifier="${PIN}"`));
  });

  it('exchange: formats the PIN with the provider template', async () => {
    await client({ pin: { digits: 7, template: '###-###-#' } }).exchange(REQUEST, PIN);
    assert.deepEqual(problems, []);
    assert.equal(parseOAuthHeader(server.requests[0]!.headers.authorization).oauth_verifier, '908-172-6');
  });

  it('exchange: refuses a PIN that is not digits, without a request', async () => {
    await assert.rejects(client().exchange(REQUEST, '12a4567'), (e: unknown) => isPinauthError(e, 'PIN_FORMAT'));
    assert.equal(server.requests.length, 0);
  });

  it('exchange: a wrong PIN is OAUTH_WRONG_PIN, never retried, and the PIN echoed back is not in the message', async () => {
    mode = 'wrong-pin';
    await assert.rejects(client().exchange(REQUEST, PIN), (e: unknown) => isPinauthError(e, 'OAUTH_WRONG_PIN') && !e.message.includes(PIN));
    assert.equal(server.requests.length, 1);
  });

  it('exchange: a reset after sending is OAUTH_REPLY_LOST, not retried', async () => {
    mode = 'reset';
    await assert.rejects(client().exchange(REQUEST, PIN), (e: unknown) => isPinauthError(e, 'OAUTH_REPLY_LOST'));
    assert.equal(server.requests.length, 1);
  });

  it('exchange: a timeout after sending is OAUTH_REPLY_LOST', async () => {
    mode = 'hang';
    await assert.rejects(client({ timeoutMs: 200 }).exchange(REQUEST, PIN), (e: unknown) => isPinauthError(e, 'OAUTH_REPLY_LOST'));
    assert.equal(server.requests.length, 1);
  });

  it('exchange: a refused connection is OAUTH_NETWORK (the PIN never left)', async () => {
    const port = await refusedPort();
    const c = new OAuthClient({ provider: providerFor(`http://127.0.0.1:${port}`), consumerKey: CONSUMER_KEY, consumerSecret: CONSUMER_SECRET, logger: pino({ level: 'silent' }) });
    await assert.rejects(c.exchange(REQUEST, PIN), (e: unknown) => isPinauthError(e, 'OAUTH_NETWORK'));
  });

  it('requestToken: a timeout is OAUTH_TIMEOUT', async () => {
    mode = 'hang';
    await assert.rejects(client({ timeoutMs: 200 }).requestToken(), (e: unknown) => isPinauthError(e, 'OAUTH_TIMEOUT'));
  });

  it('verify: Twitter shape', async () => {
    assert.deepEqual(await client().verify(ACCESS), { userId: '6253282', screenName: 'twitterapi' });
    assert.deepEqual(problems, []);
  });

  it('verify: other JSON gives empty strings', async () => {
    mode = 'other-json';
    assert.deepEqual(await client().verify(ACCESS), { userId: '', screenName: '' });
  });

  it('verify: a revoked token is OAUTH_TOKEN_REJECTED', async () => {
    mode = 'revoked';
    await assert.rejects(client().verify(ACCESS), (e: unknown) => isPinauthError(e, 'OAUTH_TOKEN_REJECTED'));
  });

  it('verify, code 32, app key proven earlier in this run (request_token): the token is rejected, no extra call', async () => {
    const c = client();
    await c.requestToken();
    mode = 'verify-32';
    server.requests.length = 0;
    await assert.rejects(c.verify(ACCESS), (e: unknown) => isPinauthError(e, 'OAUTH_TOKEN_REJECTED') && /app key was accepted/.test(e.message));
    assert.deepEqual(server.requests.map((r) => new URL(r.url, server.origin).pathname), ['/1.1/account/verify_credentials.json']);
  });

  it('verify, code 32, nothing proven yet (a stored token at start): a request_token settles it, the token is rejected', async () => {
    mode = 'verify-32';
    await assert.rejects(client().verify(ACCESS), (e: unknown) => isPinauthError(e, 'OAUTH_TOKEN_REJECTED') && e.providerCode === 32);
    assert.deepEqual(server.requests.map((r) => new URL(r.url, server.origin).pathname), ['/1.1/account/verify_credentials.json', '/oauth/request_token']);
  });

  it('verify, code 32 everywhere (the app key is bad): OAUTH_BAD_CONSUMER from the request_token, the token not called dead', async () => {
    mode = 'app-32';
    await assert.rejects(client().verify(ACCESS), (e: unknown) => isPinauthError(e, 'OAUTH_BAD_CONSUMER') && /getting a request token/.test(e.message));
    assert.equal(server.requests.length, 2);
  });

  it('verify, code 32 and the network gone for the request_token: a transient network error, not a verdict', async () => {
    mode = 'verify-32';
    const c = client();
    const original = c.requestToken.bind(c);
    c.requestToken = async () => {
      mode = 'reset';
      return original();
    };
    await assert.rejects(c.verify(ACCESS), (e: unknown) => isPinauthError(e, 'OAUTH_NETWORK'));
  });

  it('verify/invalidate: null endpoints answer without a request', async () => {
    const c = client({ verifyUrl: null, invalidateUrl: null });
    assert.equal(await c.verify(ACCESS), null);
    assert.equal(await c.invalidate(ACCESS), false);
    assert.equal(server.requests.length, 0);
  });

  it('invalidate: signed POST', async () => {
    assert.equal(await client().invalidate(ACCESS), true);
    assert.deepEqual(problems, []);
  });

  it('refuses plain http to loopback unless allowed', async () => {
    await assert.rejects(client({ allowHttpLoopback: false }).requestToken(), (e: unknown) => isPinauthError(e, 'OAUTH_INSECURE'));
    assert.equal(server.requests.length, 0);
  });

  it('clock skew: one retry with the Date header offset, remembered and logged', async () => {
    mode = 'skew-once';
    serverSkewMs = 3_600_000;
    const log = capture();
    const c = client({}, log.logger);
    const at = await c.exchange(REQUEST, PIN);
    assert.equal(at.token, ACCESS.token);
    assert.equal(server.requests.length, 2);
    assert.ok(Math.abs(c.clockOffsetMs - 3_600_000) < 5_000, String(c.clockOffsetMs));
    const warn = log.records().filter((r) => r.msg === 'clock skew corrected');
    assert.equal(warn.length, 1);
    assert.equal(warn[0]!.level, 40);
    assert.ok(Math.abs((warn[0]!.offsetMs as number) - 3_600_000) < 5_000);
    // later calls use the offset at once
    await c.verify(ACCESS);
    assert.equal(server.requests.length, 3);
    const rt = await c.requestToken();
    assert.ok(Math.abs(rt.issuedAt - (Date.now() + 3_600_000)) < 60_000);
    assert.equal(server.requests.length, 4);
  });

  it('clock skew: a reload\'s new client keeps the learnt offset while the provider\'s servers are the same', async () => {
    mode = 'skew-once';
    serverSkewMs = 3_600_000;
    const p = providerFor(server.origin);
    const old = client();
    await old.requestToken();
    assert.equal(server.requests.length, 2, 'learnt with one refused call');
    const reloaded = (after: ProviderConfig) =>
      new OAuthClient({ provider: after, consumerKey: CONSUMER_KEY, consumerSecret: CONSUMER_SECRET, logger: pino({ level: 'silent' }), clockOffsetMs: offsetToKeep(p, old.clockOffsetMs, after) });
    // a new timeout or reply cap: the same servers, the same clock
    const same = reloaded({ ...p, timeoutMs: 5000, maxReplyBytes: 32 * 1024 });
    assert.equal(same.clockOffsetMs, old.clockOffsetMs);
    await same.requestToken();
    assert.equal(server.requests.length, 3, 'no refused call after the reload');
    // another server: its clock is not known
    const moved = { ...p, accessTokenUrl: 'http://127.0.0.2:1/oauth/access_token' };
    assert.equal(offsetToKeep(p, old.clockOffsetMs, moved), 0);
    assert.equal(offsetToKeep(p, old.clockOffsetMs, { ...p, verifyUrl: null }), 0);
  });

  it('clock skew: retried only once', async () => {
    mode = 'skew-always';
    serverSkewMs = 3_600_000;
    await assert.rejects(client().requestToken(), (e: unknown) => isPinauthError(e, 'OAUTH_TIMESTAMP'));
    assert.equal(server.requests.length, 2);
  });

  it('logs each call at debug without secrets', async () => {
    const log = capture();
    const c = client({ accessType: 'write' }, log.logger);
    await c.requestToken();
    await c.exchange(REQUEST, PIN);
    await c.verify(ACCESS);
    mode = 'wrong-pin';
    await c.exchange(REQUEST, PIN).catch(() => {});
    const records = log.records();
    const calls = records.filter((r) => r.msg === 'oauth call');
    assert.equal(calls.length, 4);
    for (const r of calls) {
      assert.equal(r.module, 'oauth');
      assert.equal(typeof r.status, 'number');
      assert.equal(typeof r.ms, 'number');
      assert.doesNotMatch(String(r.url), /\?/);
    }
    assert.equal(calls[0]!.url, `${server.origin}/oauth/request_token`);
    const text = log.lines.join('\n');
    for (const secret of [CONSUMER_SECRET, REQUEST.secret, ACCESS.secret, ACCESS.token, PIN, 'oauth_signature', 'OAuth ']) {
      assert.ok(!text.includes(secret), `log contains ${secret}`);
    }
  });
});

describe('oauth client: formatVerifier', () => {
  it('fills the template digit by digit', () => {
    assert.equal(formatVerifier('123456789', '###-###-###'), '123-456-789');
    assert.equal(formatVerifier('1234567'), '1234567');
  });
  it('refuses a PIN that does not fit the template', () => {
    assert.throws(() => formatVerifier('12345678', '###-###-###'), (e: unknown) => isPinauthError(e, 'PIN_FORMAT') && e.short.every((l) => l.length <= 20));
    assert.throws(() => formatVerifier(''), (e: unknown) => isPinauthError(e, 'PIN_FORMAT'));
  });
});

describe('oauth client: every value from the provider is bounded before it is stored or shown', () => {
  /** A client whose provider answers every call with `body` (200). */
  function clientReplying(body: string) {
    const cap = capture();
    const fetch = async () => ({ status: 200, headers: { get: () => null }, body: (async function* () { yield Buffer.from(body); })() });
    return { cap, client: new OAuthClient({ provider: providerFor('https://provider.example'), consumerKey: CONSUMER_KEY, consumerSecret: CONSUMER_SECRET, logger: cap.logger, fetch }) };
  }
  const huge = 'A'.repeat(5000);
  const badTokens = [huge, 'has space', 'ctl\u001b[2J', 'ünïcode', 'x'.repeat(1025)];
  for (const [i, bad] of badTokens.entries()) {
    it(`request_token and access_token replies with a bad token or secret (${i}) are refused, the value never in the message`, async () => {
      const enc = encodeURIComponent(bad);
      for (const body of [`oauth_token=${enc}&oauth_token_secret=s&oauth_callback_confirmed=true`, `oauth_token=t&oauth_token_secret=${enc}&oauth_callback_confirmed=true`]) {
        const { client } = clientReplying(body);
        await assert.rejects(client.requestToken(), (e: unknown) => isPinauthError(e, 'OAUTH_MALFORMED_REPLY') && !e.message.includes(bad));
      }
      for (const body of [`oauth_token=${enc}&oauth_token_secret=s&user_id=1&screen_name=a`, `oauth_token=t&oauth_token_secret=${enc}`]) {
        const { client } = clientReplying(body);
        await assert.rejects(client.exchange(REQUEST, PIN), (e: unknown) => isPinauthError(e, 'OAUTH_MALFORMED_REPLY') && !e.message.includes(bad));
      }
    });
  }
  it('a token of 1024 visible characters is taken', async () => {
    const t = '~'.repeat(1024);
    const { client } = clientReplying(`oauth_token=${t}&oauth_token_secret=${t}&oauth_callback_confirmed=true`);
    assert.equal((await client.requestToken()).token, t);
  });
  it('screen_name and user_id: control characters and excess cleaned out, with a warning; extra fields bounded', async () => {
    const name = encodeURIComponent('\u001b]0;owned\u0007evil\u202e\n' + 'n'.repeat(100));
    const extras = Array.from({ length: 40 }, (_, i) => `x${i}=v`).join('&');
    const { client, cap } = clientReplying(`oauth_token=t&oauth_token_secret=s&user_id=${encodeURIComponent('1\n2')}&screen_name=${name}&long=${'v'.repeat(300)}&${extras}`);
    const at = await client.exchange(REQUEST, PIN);
    assert.equal(at.userId, '');
    assert.equal(at.screenName, `]0;ownedevil${'n'.repeat(52)}`);
    assert.equal(Object.keys(at.extra).length, 16);
    assert.equal(at.extra.long, undefined);
    assert.ok(cap.records().some((r) => r.level === 40 && /screen_name cleaned/.test(String(r.msg))));
  });
  it('the verify reply is cleaned the same way', async () => {
    const { client } = clientReplying(JSON.stringify({ id_str: 'x'.repeat(65), screen_name: 'a\u001b[31mb' }));
    assert.deepEqual(await client.verify(ACCESS), { userId: '', screenName: 'a[31mb' });
  });
});
