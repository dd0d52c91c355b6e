import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  MalformedOAuthInput,
  baseStringUri,
  computeSignature,
  parseAuthorizationHeader,
  parseFormEncoded,
  percentEncode,
  signatureBaseString,
  signaturesEqual,
  type Param,
} from '../../local-provider/signature.js';
import * as helper from '../helpers/provider-client.js';
import { loadVectors } from '../helpers/vectors.js';

const V = loadVectors();

function providerBase(method: string, url: string, params: Param[]): string {
  const u = new URL(url);
  return signatureBaseString(method, baseStringUri(u.protocol.slice(0, -1), u.host, u.pathname), params);
}

test('percent-encoding matches the published cases (provider and test signer)', () => {
  assert.ok(V.percent_encoding.cases.length >= 4);
  for (const [raw, enc] of V.percent_encoding.cases) {
    assert.equal(percentEncode(raw), enc);
    assert.equal(helper.rfc3986(raw), enc);
  }
});

test('signature vectors: base string and signature (provider)', () => {
  assert.ok(V.signatures.length >= 5);
  for (const v of V.signatures) {
    const params: Param[] = [
      ...Object.entries(v.params ?? {}),
      ...Object.entries(v.query ?? {}),
      ...Object.entries(v.body ?? {}),
      ...Object.entries(v.oauth),
    ];
    const base = providerBase(v.method, v.url, params);
    if (v.base_string !== undefined) assert.equal(base, v.base_string, v.source);
    assert.equal(computeSignature('HMAC-SHA1', base, v.consumer_secret, v.token_secret), v.signature, v.source);
  }
});

test('signature vectors: the test signer agrees (so flow tests sign correctly)', () => {
  for (const v of V.signatures) {
    const pairs: helper.Pairs = [
      ...Object.entries(v.params ?? {}),
      ...Object.entries(v.query ?? {}),
      ...Object.entries(v.body ?? {}),
      ...Object.entries(v.oauth),
    ];
    const base = helper.baseString(v.method, v.url, pairs);
    if (v.base_string !== undefined) assert.equal(base, v.base_string, v.source);
    assert.equal(helper.sign('HMAC-SHA1', base, v.consumer_secret, v.token_secret), v.signature, v.source);
  }
});

test('base string normalization: repeated, empty and reserved parameters from query and body', () => {
  for (const v of V.base_strings) {
    const u = new URL(v.url);
    const params: Param[] = [
      ...parseFormEncoded(u.search.slice(1)),
      ...parseFormEncoded(v.body),
      ...Object.entries(v.oauth),
    ];
    assert.equal(providerBase(v.method, v.url, params), v.base_string, v.source);
  }
});

test('HMAC-SHA1, HMAC-SHA256 and PLAINTEXT over one base string', () => {
  const m = V.methods_over_one_base_string;
  assert.equal(computeSignature('HMAC-SHA1', m.base_string, m.consumer_secret, m.token_secret), m['HMAC-SHA1']);
  assert.equal(computeSignature('HMAC-SHA256', m.base_string, m.consumer_secret, m.token_secret), m['HMAC-SHA256']);
  assert.equal(computeSignature('PLAINTEXT', m.base_string, m.consumer_secret, m.token_secret), m.PLAINTEXT);
  for (const p of V.plaintext) {
    assert.equal(computeSignature('PLAINTEXT', '', p.consumer_secret, p.token_secret), p.signature);
  }
});

test('signaturesEqual: equal only for identical strings', () => {
  assert.equal(signaturesEqual('abc=', 'abc='), true);
  assert.equal(signaturesEqual('abc=', 'abd='), false);
  assert.equal(signaturesEqual('abc=', 'abc'), false);
  assert.equal(signaturesEqual('', 'x'), false);
});

test('base string URI: lowercase host, default port dropped, query removed', () => {
  assert.equal(baseStringUri('HTTP', 'EXAMPLE.com:80', '/r?x=1'), 'http://example.com/r');
  assert.equal(baseStringUri('https', 'example.com:443', '/r'), 'https://example.com/r');
  assert.equal(baseStringUri('http', '127.0.0.1:8723', '/oauth/request_token'), 'http://127.0.0.1:8723/oauth/request_token');
});

test('Authorization header: realm, spacing and percent-decoding', () => {
  const h =
    'OAuth realm="Example",oauth_consumer_key="9djdj82h48djs9d2" ,  oauth_nonce="7d8f3e4a", oauth_callback="oob", oauth_signature="djosJKDKJSD8743243%2Fjdk33klY%3D"';
  assert.deepEqual(parseAuthorizationHeader(h), [
    ['realm', 'Example'],
    ['oauth_consumer_key', '9djdj82h48djs9d2'],
    ['oauth_nonce', '7d8f3e4a'],
    ['oauth_callback', 'oob'],
    ['oauth_signature', 'djosJKDKJSD8743243/jdk33klY='],
  ]);
  assert.deepEqual(parseAuthorizationHeader('oauth oauth_token="a%20b"'), [['oauth_token', 'a b']]);
  assert.deepEqual(parseAuthorizationHeader('OAuth'), []);
  assert.equal(parseAuthorizationHeader('Bearer abc'), null);
  assert.equal(parseAuthorizationHeader('OAuthx a="b"'), null);
});

test('Authorization header: malformed input is refused, not guessed at', () => {
  for (const bad of [
    'OAuth oauth_token=abc',
    'OAuth oauth_token="abc',
    'OAuth oauth_token="a" oauth_nonce="b"',
    'OAuth oauth_token="%E0%A4%A"',
    'OAuth ="x"',
    'OAuth a="b",,c="d"',
  ]) {
    assert.throws(() => parseAuthorizationHeader(bad), MalformedOAuthInput, bad);
  }
});

test('form decoding: + is a space, missing = means empty, bad escapes refused', () => {
  assert.deepEqual(parseFormEncoded('a=1+2&b&c=%3D&&d='), [
    ['a', '1 2'],
    ['b', ''],
    ['c', '='],
    ['d', ''],
  ]);
  assert.deepEqual(parseFormEncoded(''), []);
  assert.throws(() => parseFormEncoded('a=%zz'), MalformedOAuthInput);
  assert.throws(() => parseFormEncoded('a=%C3'), MalformedOAuthInput);
});
