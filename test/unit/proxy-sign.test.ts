/**
 * What the proxy signs, against the published vectors (../shared/vectors/oauth1.json, as
 * given): a request as a client sends it over the socket (path, query and body as bytes),
 * through the proxy's target resolution, must sign to the published signature.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { baseString } from '../../src/oauth/sign.js';
import { authorizationFor, checkPolicy, forwardHeaders, resolveTarget, RateLimiter, ProxyRefusal } from '../../src/proxy/request.js';
import { loadVectors } from '../helpers/vectors.js';

const V = loadVectors();

function signatureIn(header: string): string {
  return decodeURIComponent(/oauth_signature="([^"]*)"/.exec(header)![1]!);
}

/** A form-encoding as a client would send it. */
function form(fields: Record<string, string>): string {
  return Object.entries(fields).map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)}`).join('&');
}

test('each published signature vector with an access token, sent through the proxy, signs as published', () => {
  const vectors = V.signatures.filter((v) => v.oauth.oauth_token && !v.oauth.oauth_verifier && v.oauth.oauth_version === '1.0');
  assert.ok(vectors.length >= 2);
  for (const v of vectors) {
    const u = new URL(v.url);
    const query = { ...v.params, ...v.query };
    const path = `${u.pathname}${Object.keys(query).length ? `?${form(query)}` : ''}`;
    const target = resolveTarget(path, 'api', [u.origin]);
    const header = authorizationFor(
      v.method,
      target.url,
      v.body ? form(v.body) : undefined,
      { consumerKey: v.oauth.oauth_consumer_key!, consumerSecret: v.consumer_secret, token: v.oauth.oauth_token!, tokenSecret: v.token_secret, signatureMethod: 'HMAC-SHA1', clockOffsetMs: 0 },
      false,
      { nonce: v.oauth.oauth_nonce!, timestamp: Number(v.oauth.oauth_timestamp) },
    );
    assert.equal(signatureIn(header), v.signature, v.source);
  }
});

test('the RFC 5849 3.4.1.1 base string (repeated names, reserved characters, a name without "=") survives the proxy', () => {
  for (const v of V.base_strings) {
    const u = new URL(v.url);
    const target = resolveTarget(`${u.pathname}${u.search}`, 'api', [u.origin]);
    assert.equal(baseString({ method: v.method, url: target.url.href, body: v.body, oauth: v.oauth }), v.base_string, v.source);
  }
});

test('targets: only the configured origins, chosen by Host or an absolute URL', () => {
  const origins = ['https://api.x.com', 'https://upload.twitter.com'];
  assert.equal(resolveTarget('/2/users/me', 'api', origins).url.href, 'https://api.x.com/2/users/me');
  assert.equal(resolveTarget('/2/users/me', undefined, origins).origin, 'https://api.x.com');
  assert.equal(resolveTarget('/2/users/me', '%2Frun%2Fpinauthd%2Fapi.sock', origins).origin, 'https://api.x.com');
  assert.equal(resolveTarget('/1.1/media/upload.json', 'upload.twitter.com', origins).origin, 'https://upload.twitter.com');
  assert.equal(resolveTarget('/x', 'UPLOAD.twitter.com:443', origins).origin, 'https://upload.twitter.com');
  assert.equal(resolveTarget('https://upload.twitter.com/1.1/media/upload.json?a=1', 'api', origins).url.href, 'https://upload.twitter.com/1.1/media/upload.json?a=1');
  const refused = (fn: () => unknown, status: number) => assert.throws(fn, (e: unknown) => e instanceof ProxyRefusal && e.status === status);
  refused(() => resolveTarget('/x', 'evil.example', origins), 421);
  refused(() => resolveTarget('https://evil.example/x', 'api', origins), 403);
  refused(() => resolveTarget('https://api.x.com.evil.example/x', 'api', origins), 403);
  refused(() => resolveTarget('*', 'api', origins), 400);
  refused(() => resolveTarget('/x', 'api', []), 503);
  // dot segments are resolved and escaped unreserved characters decoded before the policy looks
  const t = resolveTarget('/2/%75sers/../%7Eme/./x#frag', 'api', origins);
  assert.equal(t.url.href, 'https://api.x.com/2/~me/x');
  assert.throws(() => checkPolicy('GET', resolveTarget('/2/../1.1/x', 'api', origins), { methods: ['GET'], paths: ['/2/'] }), /only allows paths under \/2\//);
});

test('hop-by-hop headers, those Connection names, and Authorization are not forwarded', () => {
  const raw = ['Host', 'api', 'Authorization', 'OAuth x', 'Connection', 'keep-alive, X-Secret-Hop', 'X-Secret-Hop', '1', 'Keep-Alive', 'timeout=5', 'Transfer-Encoding', 'chunked', 'Proxy-Authorization', 'Basic x', 'TE', 'trailers', 'Upgrade', 'h2c', 'Content-Type', 'application/json', 'Accept', 'a', 'Accept', 'b'];
  assert.deepEqual(forwardHeaders(raw), [['Content-Type', 'application/json'], ['Accept', 'a'], ['Accept', 'b']]);
});

test('the rate limiter refills continuously', () => {
  let now = 0;
  const limiter = new RateLimiter({ requests: 2, perSeconds: 10 }, () => now);
  assert.equal(limiter.take(), 0);
  assert.equal(limiter.take(), 0);
  assert.equal(limiter.take(), 5000);
  now = 5000;
  assert.equal(limiter.take(), 0);
  assert.ok(limiter.take() > 0);
});
