/**
 * The signing proxy in front of the local provider, which checks every signature with its own
 * signer: queries, form, JSON, binary and chunked bodies, unicode and reserved characters,
 * repeated parameter names; the 503 and dead-token paths; the policy; and the log.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { viaSocket, withProxy } from '../helpers/proxy-fixture.js';

async function* chunks(total: number, size: number): AsyncIterable<Buffer> {
  const piece = randomBytes(size);
  for (let sent = 0; sent < total; sent += size) yield piece.subarray(0, Math.min(size, total - sent));
}

test('GET /2/users/me is signed and answered by the provider', async (t) => {
  const f = await withProxy(t);
  const r = await viaSocket(f.socket, { path: '/2/users/me' });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json(), { data: { id: '6253282', name: 'Twitter API', username: 'twitterapi' } });
  assert.equal(f.provider.stats().api.outcomes.ok, 1);
});

test('a form body is signed: statuses/update with unicode and reserved characters', async (t) => {
  const f = await withProxy(t);
  const status = 'Hello Ladies + Gentlemen, a signed OAuth request! ☃ 100% & more=yes';
  const r = await viaSocket(f.socket, {
    method: 'POST',
    path: '/1.1/statuses/update.json?include_entities=true',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: `status=${encodeURIComponent(status)}`,
  });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json().text, status);
});

test('a JSON body is not signed and reaches the provider unchanged', async (t) => {
  const f = await withProxy(t);
  const body = JSON.stringify({ text: 'hi ☃ "quoted" & <b>' });
  const r = await viaSocket(f.socket, { method: 'POST', path: '/2/tweets', headers: { 'content-type': 'application/json' }, body });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.json().data.text, 'hi ☃ "quoted" & <b>');
});

test('a binary upload with a length and a chunked one stream through whole', async (t) => {
  const f = await withProxy(t);
  const data = randomBytes(3 * 1024 * 1024 + 17);
  const withLength = await viaSocket(f.socket, { method: 'POST', path: '/1.1/media/upload.json', headers: { 'content-type': 'application/octet-stream' }, body: data });
  assert.equal(withLength.status, 200, withLength.text);
  assert.equal(withLength.json().size, data.length);
  assert.equal(withLength.json().sha256, createHash('sha256').update(data).digest('hex'));

  const hash = createHash('sha256');
  const total = 5 * 1024 * 1024 + 3;
  async function* hashed() {
    for await (const c of chunks(total, 64 * 1024)) {
      hash.update(c);
      yield c;
    }
  }
  const chunked = await viaSocket(f.socket, { method: 'POST', path: '/1.1/media/upload.json', headers: { 'content-type': 'application/octet-stream', 'transfer-encoding': 'chunked' }, body: hashed() });
  assert.equal(chunked.status, 200, chunked.text);
  assert.equal(chunked.json().size, total);
  assert.equal(chunked.json().sha256, hash.digest('hex'));
});

test('unicode and reserved characters in the path and query, repeated names in query and form', async (t) => {
  const f = await withProxy(t);
  const query = 'a=1&a=2&a=%20&b=%E2%98%83&c=x%2By&empty=&flag&sp=a+b&amp=%26%3D';
  const r = await viaSocket(f.socket, {
    method: 'POST',
    path: `/echo/caf%C3%A9/a%2Fb/%7Euser/sp%20ace?${query}`,
    headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' },
    body: 'a=3&z=%F0%9F%98%80&z=last&plus=1%2B1',
  });
  assert.equal(r.status, 200, r.text);
  const echo = r.json();
  // %7E is the unreserved '~': the proxy sends (and signs) its plain form
  assert.equal(echo.path, '/echo/caf%C3%A9/a%2Fb/~user/sp%20ace');
  assert.deepEqual(echo.params, [
    ['a', '1'], ['a', '2'], ['a', ' '], ['b', '☃'], ['c', 'x+y'], ['empty', ''], ['flag', ''], ['sp', 'a b'], ['amp', '&='],
    ['a', '3'], ['z', '😀'], ['z', 'last'], ['plus', '1+1'],
  ]);
});

test('raw UTF-8 in the request line is sent percent-encoded and signed as such', async (t) => {
  const f = await withProxy(t);
  const r = await viaSocket(f.socket, { path: '/echo/%E2%98%83?q=%C3%A9t%C3%A9' });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json().params, [['q', 'été']]);
});

test('a query with malformed percent-encoding is refused before anything is signed', async (t) => {
  const f = await withProxy(t);
  const r = await viaSocket(f.socket, { path: '/echo/x?a=%E2%98' });
  assert.equal(r.status, 400);
  assert.equal(r.json().error, 'bad_encoding');
  assert.equal(f.provider.stats().api.requests, 0);
});

test('not authorized: 503 with the reason, nothing sent', async (t) => {
  const f = await withProxy(t);
  f.notAuthorized = 'not authorized: waiting for a PIN (the display shows the URL)';
  const r = await viaSocket(f.socket, { path: '/2/users/me' });
  assert.equal(r.status, 503);
  assert.equal(r.json().error, 'not_authorized');
  assert.equal(r.headers['pinauthd-reason'], f.notAuthorized);
  assert.equal(f.provider.stats().api.requests, 0);
});

test('a 401 that says the token is dead is passed on with the reason and reported to the daemon', async (t) => {
  const f = await withProxy(t);
  f.provider.faults.rejectAccessTokens();
  const r = await viaSocket(f.socket, { path: '/2/users/me' });
  assert.equal(r.status, 401);
  assert.equal(r.json().errors[0].code, 89);
  assert.match(String(r.headers['pinauthd-reason']), /no longer valid/);
  assert.equal(f.rejected.length, 1);
  assert.equal(f.rejected[0]!.code, 'OAUTH_TOKEN_REJECTED');
});

test("a 401 with Twitter's code 32 (could not authenticate) is reported too, for the daemon to verify", async (t) => {
  const f = await withProxy(t);
  // The provider's answer to a token it cannot authenticate with (here: the wrong secret).
  f.account = { ...f.account, tokenSecret: 'not-the-token-secret' };
  const r = await viaSocket(f.socket, { path: '/2/users/me' });
  assert.equal(r.status, 401);
  assert.equal(r.json().errors[0].code, 32);
  assert.match(String(r.headers['pinauthd-reason']), /no longer valid/);
  assert.equal(f.rejected.length, 1);
  assert.equal(f.rejected[0]!.code, 'OAUTH_TOKEN_REJECTED');
});

test('other API errors pass through untouched and do not report the token', async (t) => {
  const f = await withProxy(t);
  const r = await viaSocket(f.socket, { method: 'POST', path: '/1.1/statuses/update.json', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'other=1' });
  assert.equal(r.status, 403);
  assert.equal(r.json().errors[0].code, 170);
  assert.equal(f.rejected.length, 0);
});

test('policy: methods, path prefixes, body cap, rate limit', async (t) => {
  const f = await withProxy(t, { proxy: { methods: ['GET', 'POST'], paths: ['/2/', '/1.1/media/'], maxBodyBytes: 1000, rateLimit: { requests: 5, perSeconds: 3600 } } });
  const del = await viaSocket(f.socket, { method: 'DELETE', path: '/2/tweets/1' });
  assert.equal(del.status, 405);
  assert.equal(del.headers.allow, 'GET, POST');
  // '..' is resolved before the prefix is checked
  const escape = await viaSocket(f.socket, { path: '/2/../1.1/account/verify_credentials.json' });
  assert.equal(escape.status, 403);
  assert.equal(escape.json().error, 'path_not_allowed');
  const big = await viaSocket(f.socket, { method: 'POST', path: '/1.1/media/upload.json', headers: { 'content-type': 'application/octet-stream' }, body: Buffer.alloc(1001) });
  assert.equal(big.status, 413);
  const bigChunked = await viaSocket(f.socket, { method: 'POST', path: '/1.1/media/upload.json', headers: { 'content-type': 'application/octet-stream' }, body: chunks(5000, 100) });
  assert.equal(bigChunked.status, 413);
  assert.equal(f.provider.stats().api.outcomes.ok ?? 0, 0);
  // method and path refusals come before the rate limit, the two 413s after it: 3 tokens left
  const statuses = [];
  for (let i = 0; i < 4; i++) statuses.push((await viaSocket(f.socket, { path: '/2/users/me' })).status);
  assert.deepEqual(statuses, [200, 200, 200, 429]);
});

test('a form body larger than maxFormBytes is refused (it would be held whole to sign it)', async (t) => {
  const f = await withProxy(t, { proxy: { maxFormBytes: 1024 } });
  const r = await viaSocket(f.socket, { method: 'POST', path: '/1.1/statuses/update.json', headers: { 'content-type': 'application/x-www-form-urlencoded', 'transfer-encoding': 'chunked' }, body: chunks(4096, 256) });
  assert.equal(r.status, 413);
  assert.equal(f.provider.stats().api.requests, 0);
});

test('many clients at once are all served', async (t) => {
  const f = await withProxy(t);
  const replies = await Promise.all(Array.from({ length: 40 }, (_, i) => viaSocket(f.socket, { path: `/echo/n${i}?i=${i}` })));
  replies.forEach((r, i) => {
    assert.equal(r.status, 200);
    assert.deepEqual(r.json().params, [['i', String(i)]]);
  });
});

test('the log has method, path, status and duration, and no secret, signature or query', async (t) => {
  const f = await withProxy(t);
  // canaries where a careless log line would pick them up
  f.account = { ...f.account, consumerSecret: f.account.consumerSecret };
  await viaSocket(f.socket, { path: '/2/users/me?secret_query=CANARY-QUERY', headers: { authorization: 'Bearer CANARY-CLIENT-AUTH' } });
  await viaSocket(f.socket, { method: 'POST', path: '/1.1/statuses/update.json', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'status=CANARY-BODY' });
  f.provider.faults.rejectAccessTokens();
  await viaSocket(f.socket, { path: '/2/users/me' });
  const text = f.logText();
  for (const secret of [f.account.consumerSecret, f.account.token, f.account.tokenSecret, 'CANARY-QUERY', 'CANARY-CLIENT-AUTH', 'CANARY-BODY', 'oauth_signature', 'OAuth ']) {
    assert.ok(!text.includes(secret), `the log contains ${secret}`);
  }
  const entries = f.logLines().filter((l) => l.msg === 'api request');
  assert.equal(entries.length, 3);
  assert.deepEqual(
    entries.map((e) => [e.method, e.path, e.status]),
    [['GET', '/2/users/me', 200], ['POST', '/1.1/statuses/update.json', 200], ['GET', '/2/users/me', 401]],
  );
  for (const e of entries) assert.equal(typeof e.ms, 'number');
});

test('the client Authorization header never reaches the provider; ours does', async (t) => {
  const f = await withProxy(t);
  const r = await viaSocket(f.socket, { path: '/echo/x', headers: { authorization: 'OAuth oauth_consumer_key="evil"', 'proxy-authorization': 'Basic eA==', connection: 'x-drop-me', 'x-drop-me': '1' } });
  // the provider checked our signature: the client's header would have made it a duplicate or a bad key
  assert.equal(r.status, 200, r.text);
});
