import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { httpCall, signedCall, authorizationHeader, formBody, type RawReply } from '../helpers/provider-client.js';
import { DEMO, authorize, jsonErrors, withProvider } from '../helpers/provider-fixture.js';

const INVALID_VERIFIER = 'Error processing your OAuth request: Invalid oauth_verifier parameter';

function assertCode(r: RawReply, status: number, code: number): void {
  assert.equal(r.status, status, r.text);
  assert.equal(jsonErrors(r)[0]!.code, code, r.text);
}

test('the whole PIN flow: request_token, approve, access_token, verify, invalidate', async (t) => {
  const f = await withProvider(t);
  const r1 = await f.client.requestTokenCall();
  assert.equal(r1.status, 200, r1.text);
  assert.match(String(r1.headers['content-type']), /^text\/html/); // as Twitter labels it
  const rt = Object.fromEntries(new URLSearchParams(r1.text));
  assert.deepEqual(Object.keys(rt), ['oauth_token', 'oauth_token_secret', 'oauth_callback_confirmed']);
  assert.equal(rt.oauth_callback_confirmed, 'true');
  assert.ok(rt.oauth_token!.length >= 20 && rt.oauth_token_secret!.length >= 20);

  const pin = f.provider.approve(rt.oauth_token!);
  assert.match(pin, /^\d{7}$/);
  assert.equal(f.provider.approve(rt.oauth_token!), pin, 'approving twice shows the same PIN');

  const r2 = await f.client.exchangeCall({ token: rt.oauth_token!, secret: rt.oauth_token_secret! }, pin);
  assert.equal(r2.status, 200, r2.text);
  const at = Object.fromEntries(new URLSearchParams(r2.text));
  assert.deepEqual(Object.keys(at), ['oauth_token', 'oauth_token_secret', 'user_id', 'screen_name']);
  assert.equal(at.user_id, '6253282');
  assert.equal(at.screen_name, 'twitterapi');
  assert.ok(at.oauth_token!.startsWith('6253282-'));
  const access = { token: at.oauth_token!, secret: at.oauth_token_secret! };

  const r3 = await f.client.verifyCall(access);
  assert.equal(r3.status, 200, r3.text);
  assert.match(r3.text, /^\{"id":6253282,"id_str":"6253282",/);
  assert.deepEqual(JSON.parse(r3.text), { id: 6253282, id_str: '6253282', screen_name: 'twitterapi', name: 'Twitter API' });

  const r4 = await f.client.invalidateCall(access);
  assert.equal(r4.status, 200, r4.text);
  assert.deepEqual(JSON.parse(r4.text), { access_token: access.token });

  assertCode(await f.client.verifyCall(access), 401, 89);
  assert.equal(jsonErrors(await f.client.verifyCall(access))[0]!.message, 'Invalid or expired token.');

  const s = f.provider.stats();
  assert.equal(s.request_token.requests, 1);
  assert.equal(s.access_token.outcomes.ok, 1);
  assert.equal(s.verify_credentials.statuses['401'], 2);
  // No secret ever reaches the log.
  const log = f.lines.join('\n');
  for (const secret of [DEMO.secret, rt.oauth_token_secret!, at.oauth_token_secret!, pin]) assert.ok(!log.includes(secret));
});

test('HMAC-SHA256 signatures are accepted; big user ids stay exact in id', async (t) => {
  const f = await withProvider(t, { users: [{ id: '1234567890123456789', screenName: 'big' }] });
  const rt = await (async () => {
    const r = await f.client.requestTokenCall({ signatureMethod: 'HMAC-SHA256' });
    assert.equal(r.status, 200, r.text);
    const p = new URLSearchParams(r.text);
    return { token: p.get('oauth_token')!, secret: p.get('oauth_token_secret')! };
  })();
  const r = await f.client.exchangeCall(rt, f.provider.approve(rt.token), { signatureMethod: 'HMAC-SHA256' });
  assert.equal(r.status, 200, r.text);
  const p = new URLSearchParams(r.text);
  const v = await f.client.verifyCall({ token: p.get('oauth_token')!, secret: p.get('oauth_token_secret')! }, { signatureMethod: 'HMAC-SHA256' });
  assert.match(v.text, /"id":1234567890123456789,"id_str":"1234567890123456789"/);
});

test('the authorize page works in a browser: form, Authorize app, big PIN', async (t) => {
  const f = await withProvider(t);
  for (const path of ['/oauth/authorize', '/oauth/authenticate']) {
    const rt = await f.client.requestToken();
    const page = await httpCall(`${f.provider.url}${path}?oauth_token=${rt.token}`);
    assert.equal(page.status, 200);
    assert.match(String(page.headers['content-type']), /^text\/html/);
    assert.match(page.text, /pinauthd demo/);
    assert.match(page.text, /@twitterapi/);
    assert.match(page.text, />Authorize app</);
    assert.match(page.text, />Cancel</);
    const formKey = /name="form_key" value="([^"]+)"/.exec(page.text)![1]!;

    // A forged form (wrong form_key) does not approve anything.
    const forged = await httpCall(f.provider.url + path, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: formBody({ oauth_token: rt.token, form_key: 'x', action: 'allow', user: '0' }),
    });
    assert.equal(forged.status, 400);

    const done = await httpCall(f.provider.url + path, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: formBody({ oauth_token: rt.token, form_key: formKey, action: 'allow', user: '0' }),
    });
    assert.equal(done.status, 200);
    const pin = /<code>(\d{7})<\/code>/.exec(done.text)![1]!;
    const r = await f.client.exchangeCall(rt, pin);
    assert.equal(r.status, 200, r.text);
    // The page of a used token says so.
    assert.match((await httpCall(`${f.provider.url}${path}?oauth_token=${rt.token}`)).text, /invalid/);
  }
});

test('Cancel on the page denies: the request token is dead', async (t) => {
  const f = await withProvider(t);
  const rt = await f.client.requestToken();
  const page = await httpCall(`${f.provider.url}/oauth/authorize?oauth_token=${rt.token}`);
  const formKey = /name="form_key" value="([^"]+)"/.exec(page.text)![1]!;
  const done = await httpCall(`${f.provider.url}/oauth/authorize`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: formBody({ oauth_token: rt.token, form_key: formKey, action: 'cancel' }),
  });
  assert.match(done.text, /not granted/);
  const r = await f.client.exchangeCall(rt, '1234567');
  assert.equal(r.status, 401);
  assert.equal(r.text, 'Invalid request token.');
  assert.throws(() => f.provider.approve(rt.token));
});

test('wrong PIN: 401 bare text; the right PIN still works; too many wrong ones burn the token', async (t) => {
  const f = await withProvider(t, { maxVerifierTries: 3 });
  const rt = await f.client.requestToken();
  const pin = f.provider.approve(rt.token);
  const wrong = pin === '0000000' ? '0000001' : '0000000';

  // Before approval nothing is a valid verifier.
  const rt2 = await f.client.requestToken();
  const early = await f.client.exchangeCall(rt2, wrong);
  assert.equal(early.status, 401);
  assert.equal(early.text, INVALID_VERIFIER);

  const r = await f.client.exchangeCall(rt, wrong);
  assert.equal(r.status, 401);
  assert.match(String(r.headers['content-type']), /^text\/plain/);
  assert.equal(r.text, INVALID_VERIFIER);
  assert.equal((await f.client.exchangeCall(rt, pin)).status, 200);

  const rt3 = await f.client.requestToken();
  const pin3 = f.provider.approve(rt3.token);
  const wrong3 = pin3 === '0000000' ? '0000001' : '0000000';
  for (let i = 0; i < 3; i++) assert.equal((await f.client.exchangeCall(rt3, wrong3)).text, INVALID_VERIFIER);
  const late = await f.client.exchangeCall(rt3, pin3);
  assert.equal(late.status, 401);
  assert.equal(late.text, 'Invalid request token.');
});

test('a PIN works once: reuse gets 401 Invalid request token', async (t) => {
  const f = await withProvider(t);
  const rt = await f.client.requestToken();
  const pin = f.provider.approve(rt.token);
  assert.equal((await f.client.exchangeCall(rt, pin)).status, 200);
  const again = await f.client.exchangeCall(rt, pin);
  assert.equal(again.status, 401);
  assert.equal(again.text, 'Invalid request token.');
  assert.equal(f.provider.stats().access_token.outcomes.invalid_request_token, 1);
});

test('unknown request token and missing oauth_token on access_token', async (t) => {
  const f = await withProvider(t);
  const r = await f.client.exchangeCall({ token: 'nope', secret: 'x' }, '1234567');
  assert.equal(r.status, 401);
  assert.equal(r.text, 'Invalid request token.');
  const r2 = await signedCall({
    method: 'POST',
    url: f.provider.url + '/oauth/access_token',
    consumerKey: DEMO.key,
    consumerSecret: DEMO.secret,
    oauth: { oauth_verifier: '1234567' },
    timestampSec: Math.floor(f.clock.ms / 1000),
  });
  assert.equal(r2.status, 401);
  assert.equal(r2.text, 'Request token missing');
});

test('request tokens expire after their TTL: code 89, and the person can no longer approve', async (t) => {
  const f = await withProvider(t, { requestTokenTtlSec: 60 });
  const rt = await f.client.requestToken();
  const pin = f.provider.approve(rt.token);
  const rt2 = await f.client.requestToken();
  f.clock.ms += 61_000;
  assertCode(await f.client.exchangeCall(rt, pin), 401, 89);
  assert.throws(() => f.provider.approve(rt2.token), /expired/);
  const page = await httpCall(`${f.provider.url}/oauth/authorize?oauth_token=${rt2.token}`);
  assert.match(page.text, /invalid/);
});

test('nonce replay: the same nonce and timestamp are refused the second time', async (t) => {
  const f = await withProvider(t);
  const over = { nonce: 'fixed-nonce-123' };
  assert.equal((await f.client.requestTokenCall(over)).status, 200);
  const replay = await f.client.requestTokenCall(over);
  assertCode(replay, 401, 32);
  assert.equal(f.provider.stats().request_token.outcomes.nonce_replay, 1);
  // A new timestamp makes it a different request.
  f.clock.ms += 1000;
  assert.equal((await f.client.requestTokenCall(over)).status, 200);
});

test('timestamp outside the window: 401 code 135 with the provider Date header', async (t) => {
  const f = await withProvider(t, { timestampWindowSec: 300 });
  const nowSec = Math.floor(f.clock.ms / 1000);
  for (const off of [301, -301, 100_000]) {
    const r = await f.client.requestTokenCall({ timestampSec: nowSec + off });
    assertCode(r, 401, 135);
    assert.equal(jsonErrors(r)[0]!.message, 'Timestamp out of bounds.');
    assert.equal(r.headers.date, new Date(f.clock.ms).toUTCString());
  }
  assert.equal((await f.client.requestTokenCall({ timestampSec: nowSec - 299 })).status, 200);
  assert.equal((await f.client.requestTokenCall({ timestampSec: nowSec + 299 })).status, 200);
  assertCode(await f.client.requestTokenCall({ timestampSec: 'abc' as unknown as number }), 401, 135);
});

test('every reply carries the provider Date header', async (t) => {
  const f = await withProvider(t);
  const want = new Date(f.clock.ms).toUTCString();
  const replies = [
    await f.client.requestTokenCall(),
    await httpCall(f.provider.url + '/nope'),
    await httpCall(f.provider.url + '/__control/state'),
    await httpCall(f.provider.url + '/oauth/authorize'),
    await httpCall(f.provider.url + '/oauth/request_token', { method: 'POST', body: 'x'.repeat(70 * 1024) }),
  ];
  for (const r of replies) assert.equal(r.headers.date, want, `status ${r.status}`);
});

test('authentication failures: bad secret, unknown key, PLAINTEXT, no header, not oob', async (t) => {
  const f = await withProvider(t);
  const url = f.provider.url + '/oauth/request_token';
  const ts = Math.floor(f.clock.ms / 1000);
  const base = { method: 'POST', url, consumerKey: DEMO.key, consumerSecret: DEMO.secret, timestampSec: ts, oauth: { oauth_callback: 'oob' } };

  const badSecret = await signedCall({ ...base, consumerSecret: 'wrong' });
  assertCode(badSecret, 401, 32);
  assert.equal(jsonErrors(badSecret)[0]!.message, 'Could not authenticate you.');
  assertCode(await signedCall({ ...base, consumerKey: 'unknown-key' }), 401, 32);
  // PLAINTEXT with the right secrets is still refused over plain http.
  assertCode(await signedCall({ ...base, signatureMethod: 'PLAINTEXT' }), 401, 32);
  assert.equal(f.provider.stats().request_token.outcomes.plaintext_refused, 1);
  assertCode(await httpCall(url, { method: 'POST' }), 400, 215);
  assertCode(await httpCall(url, { method: 'POST', headers: { authorization: 'Basic Zm9vOmJhcg==' } }), 400, 215);
  assertCode(await httpCall(url, { method: 'POST', headers: { authorization: 'OAuth oauth_consumer_key=' } }), 400, 215);

  const noCallback = await signedCall({ ...base, oauth: {} });
  assertCode(noCallback, 401, 417);
  assertCode(await signedCall({ ...base, oauth: { oauth_callback: 'https://example.com/cb' } }), 401, 417);
  // oauth_callback may also travel in the signed body.
  assert.equal((await signedCall({ ...base, oauth: {}, form: { oauth_callback: 'oob', x_auth_access_type: 'read' } })).status, 200);
  // The same protocol parameter twice is refused.
  assertCode(await signedCall({ ...base, form: { oauth_callback: 'oob' } }), 400, 215);
});

test('query and body take part in the signature: tampering is caught', async (t) => {
  const f = await withProvider(t);
  const ts = Math.floor(f.clock.ms / 1000);
  const signedUrl = f.provider.url + '/oauth/request_token?x_auth_access_type=read';
  const req = { method: 'POST', url: signedUrl, consumerKey: DEMO.key, consumerSecret: DEMO.secret, timestampSec: ts, oauth: { oauth_callback: 'oob' } };
  assert.equal((await signedCall(req)).status, 200);

  const header = authorizationHeader({ ...req, nonce: 'n-tamper-1' });
  const tampered = await httpCall(f.provider.url + '/oauth/request_token?x_auth_access_type=write', { method: 'POST', headers: { authorization: header } });
  assertCode(tampered, 401, 32);

  const h2 = authorizationHeader({ ...req, url: f.provider.url + '/oauth/request_token', form: { x_auth_access_type: 'read' }, nonce: 'n-tamper-2' });
  const bodyTampered = await httpCall(f.provider.url + '/oauth/request_token', {
    method: 'POST',
    headers: { authorization: h2, 'content-type': 'application/x-www-form-urlencoded' },
    body: 'x_auth_access_type=write',
  });
  assertCode(bodyTampered, 401, 32);
});

test('access_token signed without the request token secret fails and leaves the PIN usable', async (t) => {
  const f = await withProvider(t);
  const rt = await f.client.requestToken();
  const pin = f.provider.approve(rt.token);
  assertCode(await f.client.exchangeCall(rt, pin, { tokenSecret: '' }), 401, 32);
  assert.equal((await f.client.exchangeCall(rt, pin)).status, 200);
});

test('an access token works only with its own secret and consumer', async (t) => {
  const other = { key: 'other-key', secret: 'other-secret' };
  const f = await withProvider(t, { consumers: [DEMO, other] });
  const at = await authorize(f);
  assertCode(await f.client.verifyCall({ ...at, secret: 'wrong' }), 401, 32);
  assertCode(await f.client.verifyCall(at, { consumerKey: other.key, consumerSecret: other.secret }), 401, 89);
  assert.equal((await f.client.verifyCall(at)).status, 200);
});

test('request body over the cap: 413, and the server keeps serving', async (t) => {
  const f = await withProvider(t, { maxBodyBytes: 1024 });
  const r = await httpCall(f.provider.url + '/oauth/request_token', { method: 'POST', body: 'a=' + 'x'.repeat(2000) });
  assert.equal(r.status, 413);
  assert.equal((await f.client.requestTokenCall()).status, 200);
});

test('hostile input never crashes it', async (t) => {
  const f = await withProvider(t);
  const url = f.provider.url + '/oauth/request_token';
  const headers = [
    'OAuth oauth_consumer_key="%E0%A4%A"',
    'OAuth ' + 'a="b",'.repeat(1000),
    'OAuth oauth_consumer_key="' + 'x'.repeat(8000) + '"',
    'OAuth \u0000="\u0001"',
  ];
  for (const h of headers) {
    const r = await httpCall(url, { method: 'POST', headers: { authorization: h } }).catch(() => null);
    if (r) assert.ok(r.status >= 400 && r.status < 500, `${r.status} ${r.text}`);
  }
  await httpCall(url + '?%zz=1', { method: 'POST' });
  await httpCall(f.provider.url + '/oauth/authorize?oauth_token=%', {});
  await httpCall(f.provider.url + '/oauth/authorize', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: '%%%' });
  await httpCall(f.provider.url + '/__control/faults', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"fail5xx":' });
  await httpCall(f.provider.url + '/__control/faults', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"__proto__":{"x":1}}' });
  // Raw garbage on the socket.
  await new Promise<void>((resolve) => {
    const s = connect(f.provider.port, '127.0.0.1', () => s.end('\u0000\u00ff GARBAGE / HTTP/9\r\n\r\n'));
    s.on('data', () => {});
    s.on('close', () => resolve());
    s.on('error', () => resolve());
  });
  assert.equal((await f.client.requestTokenCall()).status, 200);
});
