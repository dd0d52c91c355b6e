import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isPinauthError } from '../../src/errors.js';
import {
  authorizationHeader,
  baseString,
  collectParams,
  createOAuth,
  makeNonce,
  percentEncode,
  signBaseString,
  signRequest,
  type SignatureMethod,
} from '../../src/oauth/sign.js';
import { loadVectors, type SignatureVector } from '../helpers/vectors.js';

const vectors = loadVectors();

/** The request a vector describes: GET params go in the query, POST body fields in the body. */
function requestOf(v: SignatureVector): { url: string; body?: Record<string, string> } {
  const query = { ...(v.query ?? {}), ...(v.method === 'GET' ? (v.params ?? {}) : {}) };
  const url = Object.keys(query).length > 0 ? `${v.url}?${new URLSearchParams(query).toString()}` : v.url;
  const body = { ...(v.body ?? {}), ...(v.method !== 'GET' ? (v.params ?? {}) : {}) };
  return Object.keys(body).length > 0 ? { url, body } : { url };
}

function signVector(v: SignatureVector) {
  const { oauth_consumer_key, oauth_nonce, oauth_timestamp, oauth_signature_method, oauth_version, oauth_token, ...extraOAuth } = v.oauth;
  const req = requestOf(v);
  return signRequest({
    method: v.method,
    ...req,
    consumerKey: oauth_consumer_key!,
    consumerSecret: v.consumer_secret,
    ...(oauth_token !== undefined ? { token: oauth_token } : {}),
    tokenSecret: v.token_secret,
    signatureMethod: oauth_signature_method as SignatureMethod,
    nonce: oauth_nonce!,
    timestamp: oauth_timestamp!,
    // Vectors without oauth_version were signed without it.
    version: oauth_version ?? null,
    extraOAuth,
  });
}

describe('oauth sign: published signature vectors', () => {
  for (const v of vectors.signatures) {
    it(`signature: ${v.source}`, () => {
      const signed = signVector(v);
      assert.equal(signed.oauth.oauth_signature, v.signature);
      assert.match(signed.authorization, new RegExp(`oauth_signature="${percentEncode(v.signature).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}"`));
      if (!('oauth_version' in v.oauth)) assert.doesNotMatch(signed.authorization, /oauth_version/);
      for (const k of ['oauth_verifier', 'oauth_callback']) {
        if (k in v.oauth) assert.ok(signed.authorization.includes(`${k}="${percentEncode(v.oauth[k]!)}"`), `${k} in the header`);
      }
    });
    if (v.base_string) {
      it(`base string: ${v.source}`, () => {
        assert.equal(baseString({ method: v.method, ...requestOf(v), oauth: v.oauth }), v.base_string);
      });
    }
  }
});

describe('oauth sign: base string vectors', () => {
  for (const v of vectors.base_strings) {
    it(v.source, () => {
      assert.equal(baseString({ method: v.method, url: v.url, body: v.body, oauth: v.oauth }), v.base_string);
    });
  }
  it('keeps repeated names from query and body (RFC 5849 3.4.1.3)', () => {
    const p = collectParams('http://example.com/r?a3=a&c%40=', 'a3=2+q&c2');
    assert.deepEqual(p.a3, ['a', '2 q']);
    assert.equal(p['c@'], '');
    assert.equal(p.c2, '');
  });
});

describe('oauth sign: plaintext vectors', () => {
  for (const v of vectors.plaintext) {
    it(v.source, () => {
      assert.equal(signBaseString('PLAINTEXT', 'ignored', v.consumer_secret, v.token_secret), v.signature);
      const signed = signRequest({
        method: 'POST',
        url: 'https://photos.example.net/initiate',
        consumerKey: 'dpf43f3p2l4k3l03',
        consumerSecret: v.consumer_secret,
        tokenSecret: v.token_secret,
        signatureMethod: 'PLAINTEXT',
        extraOAuth: { oauth_callback: 'oob' },
      });
      assert.equal(signed.oauth.oauth_signature, v.signature);
      assert.ok(signed.authorization.includes(`oauth_signature="${percentEncode(v.signature)}"`));
    });
  }
});

describe('oauth sign: percent encoding vectors', () => {
  for (const [input, expected] of vectors.percent_encoding.cases) {
    it(JSON.stringify(input), () => assert.equal(percentEncode(input), expected));
  }
});

describe('oauth sign: methods over one base string', () => {
  const m = vectors.methods_over_one_base_string;
  for (const method of ['HMAC-SHA1', 'HMAC-SHA256', 'PLAINTEXT'] as const) {
    it(method, () => {
      assert.equal(signBaseString(method, m.base_string, m.consumer_secret, m.token_secret), m[method]);
    });
  }
});

describe('oauth sign: safe defaults', () => {
  const base = { method: 'POST', url: 'https://api.example.com/oauth/request_token', consumerKey: 'ck', consumerSecret: 'CANARY-SECRET' } as const;

  it('uses a fresh URL-safe nonce of at least 128 bits per request', () => {
    const a = signRequest({ ...base, signatureMethod: 'HMAC-SHA1' }).oauth.oauth_nonce!;
    const b = signRequest({ ...base, signatureMethod: 'HMAC-SHA1' }).oauth.oauth_nonce!;
    assert.notEqual(a, b);
    for (const n of [a, b, makeNonce()]) {
      assert.match(n, /^[A-Za-z0-9_-]+$/);
      assert.ok(Buffer.from(n, 'base64url').length * 8 >= 128);
    }
  });

  it('never lets oauth-1.0a fall back to Math.random nonces', () => {
    const oauth = createOAuth({ consumerKey: 'k', consumerSecret: 's', signatureMethod: 'HMAC-SHA1' });
    const original = Math.random;
    Math.random = () => 0; // the package's own nonce would be 'aaaa...'
    try {
      assert.notEqual(oauth.getNonce(), 'a'.repeat(32));
      assert.doesNotMatch(oauth.getNonce(), /^a+$/);
    } finally {
      Math.random = original;
    }
  });

  it('timestamps from the local clock plus the known offset', () => {
    const now = () => 1_700_000_000_500;
    const plain = signRequest({ ...base, signatureMethod: 'HMAC-SHA1', now });
    assert.equal(plain.oauth.oauth_timestamp, '1700000000');
    const skewed = signRequest({ ...base, signatureMethod: 'HMAC-SHA1', now, clockOffsetMs: 3_600_000 });
    assert.equal(skewed.oauth.oauth_timestamp, '1700003600');
  });

  it('HMAC-SHA1 by header, with oauth_callback and oauth_verifier signed and sent', () => {
    const signed = signRequest({ ...base, signatureMethod: 'HMAC-SHA1', token: 'rt', tokenSecret: 'rts', extraOAuth: { oauth_verifier: '1234567' } });
    assert.match(signed.authorization, /^OAuth /);
    assert.match(signed.authorization, /oauth_signature_method="HMAC-SHA1"/);
    assert.match(signed.authorization, /oauth_verifier="1234567"/);
    assert.match(signed.authorization, /oauth_version="1.0"/);
    // The verifier is part of the signature: changing it changes the signature.
    const other = signRequest({ ...base, signatureMethod: 'HMAC-SHA1', token: 'rt', tokenSecret: 'rts', extraOAuth: { oauth_verifier: '7654321' }, nonce: signed.oauth.oauth_nonce!, timestamp: signed.oauth.oauth_timestamp! });
    assert.notEqual(other.oauth.oauth_signature, signed.oauth.oauth_signature);
  });

  it('builds the header from oauth_* parameters only, sorted and encoded', () => {
    assert.equal(
      authorizationHeader({ oauth_nonce: 'n', oauth_callback: 'oob', realm: 'x', oauth_signature: 'a+b/c=' }),
      'OAuth oauth_callback="oob", oauth_nonce="n", oauth_signature="a%2Bb%2Fc%3D"',
    );
  });

  it('refuses PLAINTEXT over plain http', () => {
    assert.throws(
      () => signRequest({ ...base, url: 'http://api.example.com/oauth/request_token', signatureMethod: 'PLAINTEXT' }),
      (e: unknown) => isPinauthError(e, 'OAUTH_INSECURE') && !e.message.includes('CANARY'),
    );
  });

  it('allows PLAINTEXT to loopback http only when allowed', () => {
    const url = 'http://127.0.0.1:8080/oauth/request_token';
    assert.throws(() => signRequest({ ...base, url, signatureMethod: 'PLAINTEXT' }), (e: unknown) => isPinauthError(e, 'OAUTH_INSECURE'));
    const signed = signRequest({ ...base, url, signatureMethod: 'PLAINTEXT', allowHttpLoopback: true });
    assert.equal(signed.oauth.oauth_signature, 'CANARY-SECRET&');
  });

  it('HMAC-SHA256 signatures differ from HMAC-SHA1 over the same request', () => {
    const fixed = { ...base, nonce: 'n', timestamp: 1 };
    const sha1 = signRequest({ ...fixed, signatureMethod: 'HMAC-SHA1' }).oauth.oauth_signature!;
    const sha256 = signRequest({ ...fixed, signatureMethod: 'HMAC-SHA256' }).oauth.oauth_signature!;
    assert.equal(Buffer.from(sha1, 'base64').length, 20);
    assert.equal(Buffer.from(sha256, 'base64').length, 32);
  });
});
