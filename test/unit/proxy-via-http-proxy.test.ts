/**
 * The signing proxy's upstream calls take the same HTTP proxy as the OAuth client (one policy,
 * src/oauth/proxy-policy.ts): an https API origin (api.test, resolved only by the CONNECT
 * proxy) reached through the tunnel, and the proxy's refusals and silence as clear replies.
 */
import assert from 'node:assert/strict';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { startConnectProxy, type ConnectProxy } from '../helpers/connect-proxy.js';
import { viaSocket, withProxy } from '../helpers/proxy-fixture.js';
import { makeTestCerts, type TestCerts } from '../helpers/test-certs.js';

const SECRET = 'canary-proxy-pw-4Kd';
let certs: TestCerts;
let api: https.Server;
let origin: string;
const seen: Array<{ path: string; signed: boolean }> = [];
const proxies: ConnectProxy[] = [];

before(async () => {
  certs = await makeTestCerts({ api: 'DNS:api.test' });
  api = https.createServer({ key: certs.key, cert: certs.leaf.api! }, (req, res) => {
    seen.push({ path: req.url ?? '', signed: /^OAuth .*oauth_signature=/.test(req.headers.authorization ?? '') });
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"data":{"id":"1"}}');
  });
  await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
  origin = `https://api.test:${(api.address() as AddressInfo).port}`;
});
after(async () => {
  for (const p of proxies) await p.close();
  api.closeAllConnections();
  await new Promise((r) => api.close(r));
  await certs.cleanup();
});

async function connectProxy(opts: Partial<Parameters<typeof startConnectProxy>[0]> = {}): Promise<ConnectProxy> {
  const p = await startConnectProxy({ hosts: { 'api.test': '127.0.0.1' }, ...opts });
  proxies.push(p);
  return p;
}

test('a signed request goes through the CONNECT tunnel to the https origin; the log names the proxy, not its password', async (t) => {
  const p = await connectProxy({ credentials: `pi:${SECRET}` });
  const env: NodeJS.ProcessEnv = { HTTPS_PROXY: `http://pi:${SECRET}@127.0.0.1:${p.port}` };
  const f = await withProxy(t, { origins: () => [origin], env, ca: certs.ca });
  const r = await viaSocket(f.socket, { path: '/2/users/me' });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json(), { data: { id: '1' } });
  assert.deepEqual(seen.at(-1), { path: '/2/users/me', signed: true });
  assert.deepEqual(p.connects, [`api.test:${new URL(origin).port}`]);
  // keep-alive through the tunnel: a second call needs no second CONNECT
  assert.equal((await viaSocket(f.socket, { path: '/2/users/me' })).status, 200);
  assert.equal(p.connects.length, 1);
  const line = f.logLines().find((l) => l.msg === 'api request');
  assert.equal(line?.proxy, `127.0.0.1:${p.port}`);
  assert.ok(!f.logText().includes(SECRET));
});

test('a proxy that refuses (407) or is not there: 502 with a reason naming it; one that never answers: 504 within the timeout', async (t) => {
  const env: NodeJS.ProcessEnv = {};
  const f = await withProxy(t, { origins: () => [origin], env, ca: certs.ca, proxy: { timeoutMs: 500 } });

  const refusing = await connectProxy({ credentials: 'pi:right' });
  env.HTTPS_PROXY = `http://pi:${SECRET}@127.0.0.1:${refusing.port}`;
  let r = await viaSocket(f.socket, { path: '/2/users/me' });
  assert.equal(r.status, 502);
  assert.equal(r.json().error, 'proxy_refused');
  assert.match(r.json().message, new RegExp(`The proxy 127\\.0\\.0\\.1:${refusing.port} \\(HTTPS_PROXY\\) refused the tunnel to api\\.test:\\d+ with HTTP 407`));
  assert.match(String(r.headers['pinauthd-reason']), /HTTP 407/);

  const gone = await connectProxy();
  await gone.close();
  env.HTTPS_PROXY = `127.0.0.1:${gone.port}`;
  r = await viaSocket(f.socket, { path: '/2/users/me' });
  assert.equal(r.status, 502);
  assert.equal(r.json().error, 'proxy_unreachable');
  assert.match(r.json().message, new RegExp(`Cannot reach the proxy 127\\.0\\.0\\.1:${gone.port}`));

  const silent = await connectProxy({ silent: true });
  env.HTTPS_PROXY = silent.url;
  r = await viaSocket(f.socket, { path: '/2/users/me' });
  assert.equal(r.status, 504);
  assert.equal(r.json().error, 'proxy_timeout');
  assert.match(r.json().message, /did not answer the CONNECT to api\.test:\d+ within 500 ms/);

  env.HTTPS_PROXY = `socks5://u:${SECRET}@127.0.0.1:1080`;
  r = await viaSocket(f.socket, { path: '/2/users/me' });
  assert.equal(r.status, 502);
  assert.equal(r.json().error, 'bad_proxy_setting');

  const errors = f.logLines().filter((l) => l.msg === 'api request').map((l) => l.error);
  assert.deepEqual(errors, ['proxy_refused', 'proxy_unreachable', 'proxy_timeout', 'bad_proxy_setting']);
  assert.ok(!f.logText().includes(SECRET), 'no password in the log');
  assert.ok(!r.text.includes(SECRET) && !JSON.stringify(r.headers).includes(SECRET), 'nor in the reply');
});
