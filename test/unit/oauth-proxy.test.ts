/**
 * HTTPS_PROXY / NO_PROXY / provider.proxy (issue 11 item 8): which proxy a request takes
 * (src/oauth/proxy-policy.ts), and the OAuth client through a real CONNECT proxy on 127.0.0.1
 * to a TLS server whose name (provider.test) only the proxy can resolve.
 */
import assert from 'node:assert/strict';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { ConfigError, resolveConfig } from '../../src/config/load.js';
import { isPinauthError, toPinauthError } from '../../src/errors.js';
import { OAuthTransportError, sendRequest, type SendOptions } from '../../src/oauth/http.js';
import { describeProxy, noProxyMatches, parseProxyUrl, proxyFor } from '../../src/oauth/proxy-policy.js';
import { startConnectProxy, type ConnectProxy, type ConnectProxyOptions } from '../helpers/connect-proxy.js';
import { makeTestCerts, type TestCerts } from '../helpers/test-certs.js';

const SECRET = 'canary-pw-7Qz';

describe('NO_PROXY matching (as curl reads it)', () => {
  const cases: Array<[list: string, host: string, port: number, expected: boolean]> = [
    ['example.com', 'example.com', 443, true],
    ['example.com', 'api.example.com', 443, true],
    ['example.com', 'notexample.com', 443, false],
    ['example.com', 'example.com.evil.net', 443, false],
    ['.example.com', 'api.example.com', 443, true],
    ['.example.com', 'example.com', 443, true],
    ['*.example.com', 'a.b.example.com', 443, true],
    ['EXAMPLE.com', 'Api.Example.COM', 443, true],
    ['example.com.', 'api.example.com', 443, true],
    ['*', 'anything.at.all', 443, true],
    ['foo.net, *', 'api.x.com', 443, true],
    ['foo.net,bar.net', 'api.x.com', 443, false],
    ['foo.net bar.net\tapi.x.com', 'api.x.com', 443, true],
    ['', 'api.x.com', 443, false],
    [' , ,', 'api.x.com', 443, false],
    ['api.x.com:443', 'api.x.com', 443, true],
    ['api.x.com:8443', 'api.x.com', 443, false],
    ['10.1.2.3', '10.1.2.3', 443, true],
    ['10.1.2.3', '10.1.2.30', 443, false],
    ['10.1.2.3:443', '10.1.2.3', 443, true],
    ['10.1.2.3:80', '10.1.2.3', 443, false],
    ['10.0.0.0/8', '10.200.3.4', 443, true],
    ['10.0.0.0/8', '11.0.0.1', 443, false],
    ['192.168.0.0/16:443', '192.168.7.7', 443, true],
    ['3.0.0.0', 'example.3.0.0.0', 443, false],
    ['::1', '[::1]', 443, true],
    ['[::1]', '::1', 443, true],
    ['[2001:db8::5]:443', '[2001:db8::5]', 443, true],
    ['[2001:db8::5]:8443', '[2001:db8::5]', 443, false],
    ['2001:db8::5', '[2001:db8:0:0::5]', 443, true],
    ['2001:db8::/32', '[2001:db8:ffff::1]', 443, true],
    ['2001:db8::/32', '[2001:db9::1]', 443, false],
    ['fe80::1', '[fe80::2]', 443, false],
    ['example.com', '[::1]', 443, false],
    ['10.0.0.0/33', '10.0.0.1', 443, false],
  ];
  for (const [list, host, port, expected] of cases) {
    it(`${JSON.stringify(list)} ${expected ? 'exempts' : 'does not exempt'} ${host}:${port}`, () => {
      assert.equal(noProxyMatches(list, host, port), expected);
    });
  }
});

describe('which proxy a request takes', () => {
  const api = new URL('https://api.x.com/2/users/me');
  const route = (url: URL, setting: string | null, env: NodeJS.ProcessEnv) => proxyFor(url, setting, env).route;

  it('https_proxy before HTTPS_PROXY before all_proxy/ALL_PROXY; empty values are unset', () => {
    assert.equal(route(api, null, { https_proxy: 'http://low:1', HTTPS_PROXY: 'http://up:2' })?.shown, 'low:1');
    assert.equal(route(api, null, { HTTPS_PROXY: 'http://up:2', ALL_PROXY: 'http://all:3' })?.source, 'HTTPS_PROXY');
    assert.equal(route(api, null, { https_proxy: '  ', ALL_PROXY: 'http://all:3' })?.shown, 'all:3');
    assert.equal(route(api, null, { all_proxy: 'http://a:4', ALL_PROXY: 'http://b:5' })?.shown, 'a:4');
    assert.equal(route(api, null, { HTTP_PROXY: 'http://plain:6' }), null, 'http_proxy is for http targets');
    assert.equal(route(api, null, {}), null);
  });

  it('no_proxy before NO_PROXY', () => {
    assert.equal(route(api, null, { HTTPS_PROXY: 'http://p:1', NO_PROXY: 'x.com' }), null);
    assert.equal(route(api, null, { HTTPS_PROXY: 'http://p:1', no_proxy: 'other.net', NO_PROXY: 'x.com' })?.shown, 'p:1');
    assert.match(describeProxy(proxyFor(api, null, { HTTPS_PROXY: 'http://p:1', NO_PROXY: 'x.com' })), /direct: NO_PROXY exempts api\.x\.com/);
  });

  it('provider.proxy wins over the environment; "" (or "none") means never, NO_PROXY does not apply to it', () => {
    const env = { HTTPS_PROXY: 'http://env:1', NO_PROXY: '*' };
    assert.equal(route(api, 'http://cfg:3128', env)?.source, 'provider.proxy');
    assert.equal(route(api, '', { HTTPS_PROXY: 'http://env:1' }), null);
    assert.match(describeProxy(proxyFor(api, '', {})), /provider\.proxy is "none"/);
  });

  it('a loopback target never goes through a proxy', () => {
    for (const u of ['http://127.0.0.1:8723/oauth/request_token', 'https://localhost/x', 'http://[::1]:1/x']) {
      assert.equal(route(new URL(u), 'http://cfg:3128', { HTTPS_PROXY: 'http://p:1', HTTP_PROXY: 'http://p:1', ALL_PROXY: 'http://p:1' }), null, u);
    }
  });

  it('proxy URLs: host:port means http, default ports, https proxies, and the rest refused by name without the value', () => {
    assert.deepEqual(
      { ...parseProxyUrl('proxy.lan:3128', 'HTTPS_PROXY') },
      { protocol: 'http:', hostname: 'proxy.lan', port: 3128, shown: 'proxy.lan:3128', source: 'HTTPS_PROXY' },
    );
    assert.equal(parseProxyUrl('http://proxy.lan', 'x').port, 80);
    assert.equal(parseProxyUrl('https://proxy.lan', 'x').port, 443);
    assert.equal(parseProxyUrl('http://[fd00::1]:8080', 'x').hostname, 'fd00::1');
    assert.equal(parseProxyUrl('http://[fd00::1]:8080', 'x').shown, '[fd00::1]:8080');
    for (const bad of [`socks5://u:${SECRET}@p:1080`, `http://u:${SECRET}@p:1/path`, `http://u:${SECRET}@:1`, `http://u:${SECRET}@p:99999`, `ftp://u:${SECRET}@p`]) {
      assert.throws(
        () => parseProxyUrl(bad, 'HTTPS_PROXY'),
        (e: unknown) => isPinauthError(e, 'CONFIG_INVALID') && e.message.startsWith('HTTPS_PROXY: ') && !e.message.includes(SECRET),
        bad,
      );
    }
  });

  it('credentials become a Basic Proxy-Authorization (percent-decoded) and are never part of what is shown', () => {
    const r = parseProxyUrl(`http://me%40school:${SECRET}%21@proxy.lan:3128`, 'HTTPS_PROXY');
    assert.equal(r.authorization, `Basic ${Buffer.from(`me@school:${SECRET}!`).toString('base64')}`);
    const text = describeProxy({ route: r });
    assert.equal(text, 'through http proxy proxy.lan:3128 (from HTTPS_PROXY, with credentials)');
    assert.ok(!text.includes(SECRET) && !r.shown.includes('me'));
  });
});

describe('provider.proxy in the config', () => {
  const env: NodeJS.ProcessEnv = { HOME: '/home/pi', PINAUTHD_CONSUMER_KEY: 'k', PINAUTHD_CONSUMER_SECRET: 's' };
  const load = (proxy: unknown) => resolveConfig({ provider: { preset: 'twitter', proxy }, display: { driver: 'text', port: '/dev/ttyUSB0' } }, { env }).provider.proxy;
  const problems = (proxy: unknown): readonly string[] => {
    try {
      load(proxy);
    } catch (e) {
      if (e instanceof ConfigError) return e.problems;
      throw e;
    }
    return [];
  };

  it('absent reads the environment (null), "" and "none" mean no proxy, a URL is kept', () => {
    assert.equal(resolveConfig({ provider: { preset: 'twitter' }, display: { driver: 'text', port: '/dev/ttyUSB0' } }, { env }).provider.proxy, null);
    assert.equal(load(''), '');
    assert.equal(load('None'), '');
    assert.equal(load('http://proxy.lan:3128'), 'http://proxy.lan:3128');
  });

  it('refused by the schema or the proxy parser, never quoting the value', () => {
    assert.deepEqual(problems(3128), ['/provider/proxy: must be string']);
    assert.deepEqual(problems(`http://u:${SECRET} x@p:1`), ['/provider/proxy: must match pattern "^[\\x21-\\x7e]*$"']);
    const [one, ...rest] = problems(`socks5h://u:${SECRET}@p:1080`);
    assert.deepEqual(rest, []);
    assert.match(one!, /^\/provider\/proxy: socks5h:\/\/ proxies are not supported/);
    assert.ok(!one!.includes(SECRET));
  });
});

describe('the OAuth client through a CONNECT proxy', () => {
  let certs: TestCerts;
  let good: https.Server;
  let wrongName: https.Server;
  const proxies: ConnectProxy[] = [];
  const port = (s: https.Server) => (s.address() as AddressInfo).port;

  async function tlsServer(cert: string): Promise<https.Server> {
    const s = https.createServer({ key: certs.key, cert }, (_req, res) => res.writeHead(200, { 'content-type': 'text/plain' }).end('through'));
    s.on('tlsClientError', () => undefined);
    await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
    return s;
  }
  async function proxy(extra: Partial<ConnectProxyOptions> = {}): Promise<ConnectProxy> {
    const p = await startConnectProxy({ hosts: { 'provider.test': '127.0.0.1' }, ...extra });
    proxies.push(p);
    return p;
  }
  const send = (path: string, target: https.Server, opts: Partial<SendOptions>) =>
    sendRequest({ method: 'GET', url: `https://provider.test:${port(target)}${path}` }, { timeoutMs: 5000, maxReplyBytes: 65536, allowHttpLoopback: false, ca: certs.ca, env: {}, ...opts });

  before(async () => {
    certs = await makeTestCerts({ provider: 'DNS:provider.test', loopback: 'IP:127.0.0.1' });
    good = await tlsServer(certs.leaf.provider!);
    wrongName = await tlsServer(certs.leaf.loopback!);
  });
  after(async () => {
    for (const p of proxies) await p.close();
    for (const s of [good, wrongName]) {
      s.closeAllConnections();
      await new Promise((r) => s.close(r));
    }
    await certs.cleanup();
  });

  it('HTTPS_PROXY: tunnels with CONNECT provider.test:port and checks the certificate against provider.test', async () => {
    const p = await proxy();
    const reply = await send('/x', good, { env: { HTTPS_PROXY: p.url } });
    assert.equal(reply.status, 200);
    assert.equal(reply.body, 'through');
    assert.deepEqual(p.connects, [`provider.test:${port(good)}`]);
    assert.deepEqual(p.authorizations, [], 'no credentials configured, none sent');
  });

  it('provider.proxy "none" goes direct even with HTTPS_PROXY set (and this machine cannot resolve provider.test)', async () => {
    const p = await proxy();
    await assert.rejects(send('/x', good, { env: { HTTPS_PROXY: p.url }, proxy: '', timeoutMs: 2000 }), (e: unknown) => e instanceof OAuthTransportError && !/proxy/i.test(e.message));
    assert.equal(p.connects.length, 0);
  });

  it('NO_PROXY naming the provider goes direct', async () => {
    const p = await proxy();
    await assert.rejects(send('/x', good, { env: { HTTPS_PROXY: p.url, NO_PROXY: '.test' }, timeoutMs: 2000 }), (e: unknown) => e instanceof OAuthTransportError && !/proxy/i.test(e.message));
    assert.equal(p.connects.length, 0);
  });

  it("a certificate for the proxy's address (127.0.0.1) but not for provider.test is refused", async () => {
    const p = await proxy();
    await assert.rejects(send('/x', wrongName, { env: { HTTPS_PROXY: p.url } }), (e: unknown) => {
      assert.ok(e instanceof OAuthTransportError);
      assert.match(e.message, /TLS failure talking to provider\.test:\d+\/x \(ERR_TLS_CERT_ALTNAME_INVALID\)/);
      return true;
    });
    assert.equal(p.connects.length, 1);
  });

  it('an https:// proxy (TLS to the proxy, its certificate checked against its own address, then CONNECT)', async () => {
    const p = await proxy({ tls: { key: certs.key, cert: certs.leaf.loopback! } });
    const reply = await send('/y', good, { proxy: p.url });
    assert.equal(reply.status, 200);
    assert.deepEqual(p.connects, [`provider.test:${port(good)}`]);
  });

  it('credentials from the URL reach the proxy as Proxy-Authorization, never the messages or the log', async () => {
    const p = await proxy({ credentials: `pi:${SECRET}` });
    assert.equal((await send('/x', good, { env: { HTTPS_PROXY: `http://pi:${SECRET}@127.0.0.1:${p.port}` } })).status, 200);
    assert.deepEqual(p.authorizations, [`Basic ${Buffer.from(`pi:${SECRET}`).toString('base64')}`]);

    const lines: string[] = [];
    const log = pino({ level: 'debug' }, { write: (s: string) => void lines.push(s) });
    await assert.rejects(send('/x', good, { env: { HTTPS_PROXY: `http://pi:wrong-${SECRET}@127.0.0.1:${p.port}` } }), (e: unknown) => {
      const err = toPinauthError(e);
      log.error({ err: err.toLog() }, err.message);
      assert.equal(err.code, 'OAUTH_NETWORK');
      assert.match(err.message, new RegExp(`The proxy 127\\.0\\.0\\.1:${p.port} \\(HTTPS_PROXY\\) refused the tunnel to provider\\.test:\\d+ with HTTP 407: it wants credentials`));
      assert.deepEqual(err.short, ['Proxy: HTTP 407', `127.0.0.1:${p.port}`]);
      assert.equal((e as OAuthTransportError).requestMayHaveBeenSent, false);
      return true;
    });
    assert.ok(lines.length > 0);
    assert.ok(!lines.join('').includes(SECRET), 'the password is not in the log');
    assert.ok(!lines.join('').includes(Buffer.from(`pi:wrong-${SECRET}`).toString('base64')), 'nor its Basic form');
  });

  for (const status of [403, 502]) {
    it(`a proxy that answers CONNECT with ${status}: a clear refusal naming the proxy, nothing sent`, async () => {
      const p = await proxy({ refuseWith: status });
      await assert.rejects(send('/x', good, { env: { HTTPS_PROXY: p.url } }), (e: unknown) => {
        assert.ok(e instanceof OAuthTransportError);
        assert.equal(e.code, 'OAUTH_NETWORK');
        assert.match(e.message, new RegExp(`proxy 127\\.0\\.0\\.1:${p.port} \\(HTTPS_PROXY\\) refused the tunnel .* HTTP ${status}: it ${status === 403 ? 'does not allow' : 'could not reach'}`));
        assert.match(e.message, /Nothing was sent to provider\.test/);
        assert.equal(e.requestMayHaveBeenSent, false);
        return true;
      });
    });
  }

  it('a proxy that is not there: "cannot reach the proxy" with its host:port, not a provider error', async () => {
    const p = await proxy();
    await p.close();
    await assert.rejects(send('/x', good, { env: { HTTPS_PROXY: `http://u:${SECRET}@127.0.0.1:${p.port}` } }), (e: unknown) => {
      assert.ok(e instanceof OAuthTransportError);
      assert.equal(e.code, 'OAUTH_NETWORK');
      assert.match(e.message, new RegExp(`Cannot reach the proxy 127\\.0\\.0\\.1:${p.port} \\(HTTPS_PROXY\\) \\(ECONNREFUSED\\)`));
      assert.deepEqual(e.short, ['Proxy down', `127.0.0.1:${p.port}`]);
      assert.ok(!JSON.stringify(toPinauthError(e).toLog()).includes(SECRET));
      return true;
    });
  });

  it('a proxy that accepts and never answers CONNECT: the call keeps its timeout and lets go of the connection', async () => {
    const p = await proxy({ silent: true });
    await assert.rejects(send('/x', good, { env: { HTTPS_PROXY: p.url }, timeoutMs: 400 }), (e: unknown) => {
      assert.ok(e instanceof OAuthTransportError);
      assert.equal(e.code, 'OAUTH_TIMEOUT');
      assert.match(e.message, new RegExp(`proxy 127\\.0\\.0\\.1:${p.port}`));
      assert.equal(e.requestMayHaveBeenSent, false);
      return true;
    });
    assert.equal(p.connects.length, 1, 'the CONNECT was read');
    while (p.openConnections() > 0) await new Promise((r) => setTimeout(r, 20));
  });

  it('a proxy variable that is not a usable URL: a config error naming the variable, not its value', async () => {
    await assert.rejects(send('/x', good, { env: { https_proxy: `socks5://u:${SECRET}@127.0.0.1:1080` } }), (e: unknown) => {
      assert.ok(isPinauthError(e, 'CONFIG_INVALID'));
      assert.match(e.message, /^https_proxy: socks5:\/\/ proxies are not supported/);
      assert.ok(!e.message.includes(SECRET));
      return true;
    });
  });
});
