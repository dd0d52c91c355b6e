import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { control, httpCall, type RawReply } from '../helpers/provider-client.js';
import { DEMO, authorize, jsonErrors, withProvider } from '../helpers/provider-fixture.js';

function assertCode(r: RawReply, status: number, code: number): void {
  assert.equal(r.status, status, r.text);
  assert.equal(jsonErrors(r)[0]!.code, code, r.text);
}

async function state(url: string): Promise<any> {
  return JSON.parse((await httpCall(url + '/__control/state')).text);
}

test('fail5xx: the next N requests get 5xx (with Retry-After), then it clears', async (t) => {
  const f = await withProvider(t);
  f.provider.faults.fail5xx = { count: 2, status: 503, retryAfterSec: 7 };
  for (let i = 0; i < 2; i++) {
    const r = await f.client.requestTokenCall();
    assertCode(r, 503, 130);
    assert.equal(r.headers['retry-after'], '7');
  }
  assert.equal(f.provider.faults.fail5xx?.count, 0);
  assert.equal((await f.client.requestTokenCall()).status, 200);

  f.provider.faults.fail5xx = { count: 1, status: 500 };
  const r500 = await f.client.requestTokenCall();
  assertCode(r500, 500, 131);
  assert.equal(r500.headers['retry-after'], undefined);
});

test('fail5xx with an endpoint filter leaves other endpoints alone', async (t) => {
  const f = await withProvider(t);
  f.provider.faults.fail5xx = { count: 1, endpoint: 'access_token' };
  const rt = await f.client.requestToken();
  const pin = f.provider.approve(rt.token);
  assert.equal((await f.client.exchangeCall(rt, pin)).status, 503);
  // The failed call did not use the PIN up.
  assert.equal((await f.client.exchangeCall(rt, pin)).status, 200);
});

test('drop before: the connection dies, nothing was processed', async (t) => {
  const f = await withProvider(t);
  f.provider.faults.drop = { count: 1, when: 'before' };
  await assert.rejects(f.client.requestTokenCall(), (e: NodeJS.ErrnoException) => e.code === 'ECONNRESET');
  assert.equal((await state(f.provider.url)).requestTokens.length, 0);
  assert.equal(f.provider.stats().request_token.outcomes.dropped_before, 1);
  assert.equal((await f.client.requestTokenCall()).status, 200);
});

test('drop after on access_token: the PIN is used up but the reply is lost', async (t) => {
  const f = await withProvider(t);
  const rt = await f.client.requestToken();
  const pin = f.provider.approve(rt.token);
  f.provider.faults.drop = { count: 1, when: 'after', endpoint: '/oauth/access_token' };
  await assert.rejects(f.client.exchangeCall(rt, pin), (e: NodeJS.ErrnoException) => e.code === 'ECONNRESET');
  const again = await f.client.exchangeCall(rt, pin);
  assert.equal(again.status, 401);
  assert.equal(again.text, 'Invalid request token.');
  const s = f.provider.stats().access_token.outcomes;
  assert.equal(s.dropped_after, 1);
  assert.equal((await state(f.provider.url)).accessTokens.valid, 1);
});

test('delayMs holds the reply back (the request is processed), only for the named endpoint', async (t) => {
  const f = await withProvider(t);
  f.provider.faults.delayMs = 600_000;
  f.provider.faults.delayEndpoint = 'request_token';
  let settled = false;
  const pending = f.client.requestTokenCall().finally(() => {
    settled = true;
  });
  // Other endpoints answer at once while the request_token reply is held.
  const page = await httpCall(f.provider.url + '/oauth/authorize');
  assert.equal(page.status, 200);
  const st = await state(f.provider.url);
  assert.equal(st.requestTokens.length, 1, 'the request was processed');
  assert.equal(settled, false, 'but its reply has not come');
  await f.provider.close();
  await assert.rejects(pending);
});

test('rateLimit: 429 with Retry-After, x-rate-limit-reset and code 88', async (t) => {
  const f = await withProvider(t);
  f.provider.faults.rateLimit = { count: 1, retryAfterSec: 60 };
  const r = await f.client.requestTokenCall();
  assertCode(r, 429, 88);
  assert.equal(r.headers['retry-after'], '60');
  assert.equal(r.headers['x-rate-limit-reset'], String(Math.floor(f.clock.ms / 1000) + 60));
  assert.equal(r.headers['x-rate-limit-remaining'], '0');
  assert.equal((await f.client.requestTokenCall()).status, 200);
});

test('clockSkewSec moves the provider clock and its Date header', async (t) => {
  const f = await withProvider(t);
  f.provider.faults.clockSkewSec = 3600;
  const r = await f.client.requestTokenCall();
  assertCode(r, 401, 135);
  assert.equal(r.headers.date, new Date(f.clock.ms + 3_600_000).toUTCString());
  // A client that corrects by the Date header gets in.
  const skewed = Math.floor(Date.parse(String(r.headers.date)) / 1000);
  assert.equal((await f.client.requestTokenCall({ timestampSec: skewed })).status, 200);
});

test('malformed: html, missing-fields, huge, garbage', async (t) => {
  const f = await withProvider(t);
  f.provider.faults.malformed = { count: 1, kind: 'html' };
  const html = await f.client.requestTokenCall();
  assert.equal(html.status, 200);
  assert.match(html.text, /<html>/);
  assert.equal(new URLSearchParams(html.text).get('oauth_token_secret'), null);

  f.provider.faults.malformed = { count: 1, kind: 'missing-fields' };
  const missing = new URLSearchParams((await f.client.requestTokenCall()).text);
  assert.ok(missing.get('oauth_token'));
  assert.equal(missing.get('oauth_token_secret'), null);

  f.provider.faults.malformed = { count: 1, kind: 'huge' };
  const huge = await f.client.requestTokenCall();
  assert.equal(huge.body.length, 10 * 1024 * 1024);
  assert.equal(huge.headers['content-length'], undefined);

  f.provider.faults.malformed = { count: 1, kind: 'garbage' };
  const garbage = await f.client.requestTokenCall();
  assert.throws(() => new TextDecoder('utf-8', { fatal: true }).decode(garbage.body));

  assert.equal(f.provider.faults.malformed.count, 0);
  assert.equal((await f.client.requestTokenCall()).status, 200);
});

test('malformed missing-fields on verify_credentials and access_token', async (t) => {
  const f = await withProvider(t);
  const at = await authorize(f);
  f.provider.faults.malformed = { count: 1, kind: 'missing-fields', endpoint: 'verify_credentials' };
  const v = JSON.parse((await f.client.verifyCall(at)).text);
  assert.equal(v.id_str, undefined);
  assert.equal(v.screen_name, undefined);
  const rt = await f.client.requestToken();
  f.provider.faults.malformed = { count: 1, kind: 'missing-fields', endpoint: 'access_token' };
  const r = new URLSearchParams((await f.client.exchangeCall(rt, f.provider.approve(rt.token))).text);
  assert.equal(r.get('oauth_token_secret'), null);
});

test('expireRequestTokens: pending tokens die at once', async (t) => {
  const f = await withProvider(t);
  const rt = await f.client.requestToken();
  const pin = f.provider.approve(rt.token);
  assert.equal(f.provider.faults.expireRequestTokens(), 1);
  assertCode(await f.client.exchangeCall(rt, pin), 401, 89);
});

test('rejectAccessTokens: issued tokens are revoked', async (t) => {
  const f = await withProvider(t);
  const at = await authorize(f);
  assert.equal((await f.client.verifyCall(at)).status, 200);
  assert.equal(f.provider.faults.rejectAccessTokens(), 1);
  assertCode(await f.client.verifyCall(at), 401, 89);
  assertCode(await f.client.invalidateCall(at), 401, 89);
});

test('xmlErrors: errors come in the XML shapes', async (t) => {
  const f = await withProvider(t);
  f.provider.faults.xmlErrors = true;
  const bad = await f.client.requestTokenCall({ consumerSecret: 'wrong' });
  assert.equal(bad.status, 401);
  assert.match(String(bad.headers['content-type']), /xml/);
  assert.equal(bad.text, '<?xml version="1.0" encoding="UTF-8"?><errors><error code="32">Could not authenticate you.</error></errors>');
  const rt = await f.client.requestToken();
  const used = await f.client.exchangeCall({ token: 'unknown', secret: rt.secret }, '1');
  assert.equal(used.text, '<?xml version="1.0" encoding="UTF-8"?><hash><error>Invalid request token.</error><request>/oauth/access_token</request></hash>');
});

test('control endpoint: set faults, read state, approve and deny as the person', async (t) => {
  const f = await withProvider(t);
  const set = await control(f.provider.url, '/__control/faults', { fail5xx: { count: 1, status: 502 }, xmlErrors: false });
  assert.equal(set.status, 200, set.text);
  assert.equal((await state(f.provider.url)).faults.fail5xx.count, 1);
  assert.equal((await f.client.requestTokenCall()).status, 502);
  assert.equal(f.provider.faults.fail5xx?.count, 0);

  const rt = await f.client.requestToken();
  const ap = await control(f.provider.url, '/__control/approve', { oauth_token: rt.token });
  assert.equal(ap.status, 200);
  const { pin } = JSON.parse(ap.text) as { pin: string };
  assert.match(pin, /^\d{7}$/);
  assert.equal((await f.client.exchangeCall(rt, pin)).status, 200);
  // The state lists tokens but never their secrets or PINs.
  const st = JSON.stringify(await state(f.provider.url));
  assert.ok(!st.includes(rt.secret) && !st.includes(pin));

  assert.equal((await control(f.provider.url, '/__control/approve', { oauth_token: rt.token })).status, 404);
  const rt2 = await f.client.requestToken();
  assert.equal((await control(f.provider.url, '/__control/deny', { oauth_token: rt2.token })).status, 200);
  assert.throws(() => f.provider.approve(rt2.token));

  const exp = await control(f.provider.url, '/__control/faults', { expireRequestTokens: true, rejectAccessTokens: true });
  assert.equal(JSON.parse(exp.text).rejectedAccessTokens, 1);

  assert.equal((await control(f.provider.url, '/__control/faults', { drop: { count: 1, when: 'sometimes' } })).status, 400);
  assert.equal((await control(f.provider.url, '/__control/faults', { bogus: 1 })).status, 400);
  const notJson = await httpCall(f.provider.url + '/__control/faults', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: '{}' });
  assert.equal(notJson.status, 415);

  await control(f.provider.url, '/__control/faults', { rateLimit: { count: 5, retryAfterSec: 1 } });
  await control(f.provider.url, '/__control/reset', {});
  assert.equal(f.provider.faults.rateLimit, null);
  assert.equal(f.provider.stats().request_token.requests, 0);
  assert.equal((await f.client.requestTokenCall()).status, 200);
});

test('CLI prints the URL and the demo key, never the secret, and stops on SIGTERM', async () => {
  const main = fileURLToPath(new URL('../../local-provider/main.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', main, '--port', '0', '--skew', '5', '--quiet'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.setEncoding('utf8');
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d: string) => {
      out += d;
      if (out.includes('\n')) resolve();
    });
    child.once('exit', () => reject(new Error(`exited early: ${out}`)));
  });
  const m = /^local provider at (http:\/\/127\.0\.0\.1:\d+) consumer key pinauthd-demo-key/.exec(out);
  assert.ok(m, out);
  assert.ok(!out.includes(DEMO.secret));
  const st = await state(m[1]!);
  assert.equal(st.faults.clockSkewSec, 5);
  child.kill('SIGTERM');
  const [code] = await once(child, 'exit');
  assert.equal(code, 0);
});
