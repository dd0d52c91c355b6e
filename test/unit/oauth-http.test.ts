import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { isPinauthError } from '../../src/errors.js';
import { OAuthTransportError, sendRequest, type FetchLike, type SendOptions } from '../../src/oauth/http.js';
import { checkTlsEnvironment, checkUrlPolicy, isLoopbackHost } from '../../src/oauth/url-policy.js';
import { refusedPort, startServer, type TestServer } from '../helpers/oauth-server.js';

const opts: SendOptions = { timeoutMs: 5000, maxReplyBytes: 64 * 1024, allowHttpLoopback: true, env: {} };
const AUTH = 'OAuth oauth_signature="CANARY-SIGNATURE", oauth_token="CANARY-TOKEN"';

describe('oauth http: URL policy', () => {
  it('refuses plain http to a non-loopback host, even when loopback http is allowed', async () => {
    await assert.rejects(sendRequest({ method: 'GET', url: 'http://api.example.com/x' }, opts), (e: unknown) => isPinauthError(e, 'OAUTH_INSECURE') && /https/.test(e.message));
  });
  it('refuses loopback http unless allowHttpLoopback', () => {
    assert.throws(() => checkUrlPolicy('http://127.0.0.1:1/x', false), (e: unknown) => isPinauthError(e, 'OAUTH_INSECURE') && /allowHttpLoopback/.test(e.message));
    assert.equal(checkUrlPolicy('http://127.0.0.1:1/x', true).port, '1');
  });
  it('accepts https anywhere', () => {
    assert.equal(checkUrlPolicy('https://api.x.com/oauth/request_token', false).host, 'api.x.com');
  });
  it('refuses other schemes and embedded credentials', () => {
    for (const url of ['ftp://127.0.0.1/x', 'file:///etc/passwd', 'https://user:pw@api.x.com/', 'not a url']) {
      assert.throws(() => checkUrlPolicy(url, true), (e: unknown) => isPinauthError(e, 'OAUTH_INSECURE'), url);
    }
  });
  it('knows loopback hosts', () => {
    for (const h of ['127.0.0.1', '127.255.0.9', 'localhost', 'LOCALHOST', '[::1]', '::1', '::ffff:127.0.0.1']) assert.ok(isLoopbackHost(h), h);
    for (const h of ['128.0.0.1', '10.0.0.1', '127.example.com', 'localhost.example.com', '::2', '[::]', '0.0.0.0', '::ffff:10.0.0.1']) assert.ok(!isLoopbackHost(h), h);
    // as URL parsing writes them: an IPv4-mapped address in hex
    for (const u of ['http://[::ffff:127.0.0.1]/', 'http://[::ffff:127.9.8.7]/']) assert.ok(isLoopbackHost(new URL(u).hostname), u);
    for (const u of ['http://[::ffff:10.0.0.1]/', 'http://[::ffff:128.0.0.1]/', 'http://[::ffff:7f00:1:2]/']) assert.ok(!isLoopbackHost(new URL(u).hostname), u);
  });
  it('refuses to run with NODE_TLS_REJECT_UNAUTHORIZED=0', async () => {
    assert.throws(() => checkTlsEnvironment({ NODE_TLS_REJECT_UNAUTHORIZED: '0' }), (e: unknown) => isPinauthError(e, 'OAUTH_INSECURE'));
    assert.doesNotThrow(() => checkTlsEnvironment({ NODE_TLS_REJECT_UNAUTHORIZED: '1' }));
    const saved = process.env.NODE_TLS_REJECT_UNAUTHORIZED;
    process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0';
    try {
      const { env: _env, ...fromProcess } = opts;
      await assert.rejects(sendRequest({ method: 'GET', url: 'https://api.x.com/' }, fromProcess), (e: unknown) => isPinauthError(e, 'OAUTH_INSECURE') && /NODE_TLS_REJECT_UNAUTHORIZED/.test(e.message));
    } finally {
      if (saved === undefined) delete process.env.NODE_TLS_REJECT_UNAUTHORIZED;
      else process.env.NODE_TLS_REJECT_UNAUTHORIZED = saved;
    }
  });
});

describe('oauth http: against a local server', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer((req, res) => {
      switch (req.url) {
        case '/ok':
          res.writeHead(200, { 'content-type': 'application/x-www-form-urlencoded' }).end('a=1');
          return;
        case '/never':
          return; // never answers
        case '/reset':
          res.socket?.destroy();
          return;
        case '/redirect':
          res.writeHead(302, { location: 'http://api.example.com/elsewhere' }).end();
          return;
        case '/big-declared':
          res.writeHead(200, { 'content-length': String(10 * 1024 * 1024) });
          res.write(Buffer.alloc(1024, 0x61));
          return;
        case '/big-chunked': {
          res.writeHead(200, { 'content-type': 'text/plain' });
          const mb = Buffer.alloc(1024 * 1024, 0x61);
          let sent = 0;
          const more = () => {
            while (sent < 10 && !res.destroyed) {
              sent++;
              if (!res.write(mb)) return void res.once('drain', more);
            }
            res.end();
          };
          more();
          return;
        }
        default:
          res.writeHead(404).end();
      }
    });
  });
  after(() => server.close());

  it('sends the request and reads the reply', async () => {
    const reply = await sendRequest({ method: 'POST', url: `${server.origin}/ok`, headers: { Authorization: AUTH }, body: '' }, opts);
    assert.equal(reply.status, 200);
    assert.equal(reply.body, 'a=1');
    assert.equal(reply.headers.get('content-type'), 'application/x-www-form-urlencoded');
    assert.equal(server.requests.at(-1)!.headers.authorization, AUTH);
  });

  it('times out a server that never answers', async () => {
    const e = await sendRequest({ method: 'GET', url: `${server.origin}/never`, headers: { Authorization: AUTH } }, { ...opts, timeoutMs: 200 }).catch((x: unknown) => x);
    assert.ok(e instanceof OAuthTransportError, String(e));
    assert.equal(e.code, 'OAUTH_TIMEOUT');
    assert.equal(e.requestMayHaveBeenSent, true);
    assert.doesNotMatch(e.message, /CANARY/);
  });

  it('refuses a 10 MB reply streamed without a length', async () => {
    await assert.rejects(sendRequest({ method: 'GET', url: `${server.origin}/big-chunked` }, opts), (e: unknown) => isPinauthError(e, 'OAUTH_MALFORMED_REPLY') && /maxReplyBytes/.test(e.message));
  });

  it('refuses a reply that declares 10 MB', async () => {
    await assert.rejects(sendRequest({ method: 'GET', url: `${server.origin}/big-declared` }, opts), (e: unknown) => isPinauthError(e, 'OAUTH_MALFORMED_REPLY'));
  });

  it('reports a connection reset after sending as OAUTH_NETWORK with ECONNRESET, maybe sent', async () => {
    const e = await sendRequest({ method: 'POST', url: `${server.origin}/reset`, headers: { Authorization: AUTH }, body: '' }, opts).catch((x: unknown) => x);
    assert.ok(e instanceof OAuthTransportError, String(e));
    assert.equal(e.code, 'OAUTH_NETWORK');
    assert.equal(e.causeCode, 'ECONNRESET');
    assert.equal(e.requestMayHaveBeenSent, true);
    assert.doesNotMatch(e.message, /CANARY/);
  });

  it('does not follow redirects', async () => {
    const reply = await sendRequest({ method: 'GET', url: `${server.origin}/redirect` }, opts);
    assert.equal(reply.status, 302);
    assert.equal(server.requests.at(-1)!.url, '/redirect');
  });
});

describe('oauth http: connection failures', () => {
  it('reports a refused connection as OAUTH_NETWORK/ECONNREFUSED, not sent', async () => {
    const port = await refusedPort();
    const e = await sendRequest({ method: 'GET', url: `http://127.0.0.1:${port}/x`, headers: { Authorization: AUTH } }, opts).catch((x: unknown) => x);
    assert.ok(e instanceof OAuthTransportError, String(e));
    assert.equal(e.code, 'OAUTH_NETWORK');
    assert.equal(e.causeCode, 'ECONNREFUSED');
    assert.equal(e.requestMayHaveBeenSent, false);
    assert.match(e.message, /ECONNREFUSED/);
    assert.doesNotMatch(e.message, /CANARY/);
  });
});

describe('oauth http: injected fetch', () => {
  it('uses the injected fetch with a fresh signal per attempt and reads a web stream', async () => {
    const signals: AbortSignal[] = [];
    const fake: FetchLike = async (url, init) => {
      signals.push(init.signal);
      assert.equal(url, 'https://api.x.com/oauth/request_token');
      assert.equal(init.redirect, 'manual');
      return new Response('oauth_token=t', { status: 200 }) as unknown as Awaited<ReturnType<FetchLike>>;
    };
    for (let i = 0; i < 2; i++) {
      const reply = await sendRequest({ method: 'POST', url: 'https://api.x.com/oauth/request_token', body: '' }, { ...opts, fetch: fake });
      assert.equal(reply.body, 'oauth_token=t');
    }
    assert.equal(signals.length, 2);
    assert.notEqual(signals[0], signals[1]);
  });

  it('caps a web stream body too', async () => {
    const fake: FetchLike = async () => new Response('x'.repeat(100_000)) as unknown as Awaited<ReturnType<FetchLike>>;
    await assert.rejects(sendRequest({ method: 'GET', url: 'https://api.x.com/' }, { ...opts, fetch: fake }), (e: unknown) => isPinauthError(e, 'OAUTH_MALFORMED_REPLY'));
  });

  it('a refused connection from an injected fetch is known not to be sent; an unknown failure may have been', async () => {
    const refused: FetchLike = async () => {
      throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    };
    const e1 = await sendRequest({ method: 'GET', url: 'https://api.x.com/' }, { ...opts, fetch: refused }).catch((x: unknown) => x);
    assert.ok(e1 instanceof OAuthTransportError && e1.requestMayHaveBeenSent === false);
    const odd: FetchLike = async () => {
      throw new Error('socket hang up');
    };
    const e2 = await sendRequest({ method: 'GET', url: 'https://api.x.com/' }, { ...opts, fetch: odd }).catch((x: unknown) => x);
    assert.ok(e2 instanceof OAuthTransportError && e2.requestMayHaveBeenSent === true && e2.code === 'OAUTH_NETWORK');
  });
});
