/**
 * 11. A board behind an HTTP proxy (issue 11 item 8): the real daemon with HTTPS_PROXY or
 * provider.proxy, through a CONNECT proxy on 127.0.0.1, to the local provider behind a TLS
 * front named provider.test, a name only the proxy resolves (as behind a school's proxy).
 * The provider's certificate is checked against provider.test; the proxy's refusals show on
 * the display and in the log naming the proxy, never its password.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Stack, type DaemonProcess } from '../helpers/stack.js';
import { startConnectProxy, type ConnectProxy, type ConnectProxyOptions } from '../helpers/connect-proxy.js';
import { makeTestCerts, type TestCerts } from '../helpers/test-certs.js';
import { record } from './figures.js';
import { startProxy } from './proxy.js';

const SECTION = '11 network proxy';
const NAME = 'provider.test';
const SECRET = 'canary-proxy-pw-R8v';
const cleanups: Array<() => Promise<unknown>> = [];
let certs: TestCerts;

before(async () => {
  certs = await makeTestCerts({ provider: `DNS:${NAME}` });
  cleanups.push(() => certs.cleanup());
});
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

/** The local provider behind a TLS front for provider.test, and a CONNECT proxy that knows the name. */
async function setup(proxyOpts: Partial<ConnectProxyOptions> = {}): Promise<{ s: Stack; proxy: ConnectProxy; port: number }> {
  const s = await Stack.start({ profile: 'lcd20x4', keypadMode: 'keys', provider: { scheme: 'https' } });
  cleanups.push(() => s.close());
  const front = await startProxy({ target: s.provider.url, tls: { key: certs.key, cert: certs.leaf.provider! }, preserveHost: true });
  cleanups.push(() => front.close());
  const port = Number(new URL(front.url).port);
  const proxy = await startConnectProxy({ hosts: { [NAME]: '127.0.0.1' }, ...proxyOpts });
  cleanups.push(() => proxy.close());
  await s.rewriteConfig((c) => {
    c.provider.baseUrl = `https://${NAME}:${port}`;
  });
  return { s, proxy, port };
}

const trustCa = () => ({ NODE_EXTRA_CA_CERTS: certs.caFile });

describe('HTTPS_PROXY and provider.proxy, the real daemon', () => {
  it('the whole PIN flow through HTTPS_PROXY (CONNECT), the certificate checked against provider.test', async () => {
    const { s, proxy, port } = await setup({ credentials: `pi:${SECRET}` });
    const d = s.spawn(['run'], { ...trustCa(), HTTPS_PROXY: `http://pi:${SECRET}@127.0.0.1:${proxy.port}` });
    await s.authorize(d);
    assert.deepEqual([...new Set(proxy.connects)], [`${NAME}:${port}`]);
    const stats = s.provider.stats();
    assert.equal(stats.access_token.statuses['200'], 1);
    const doctor = await s.cli(['doctor'], { ...trustCa(), HTTPS_PROXY: `http://pi:${SECRET}@127.0.0.1:${proxy.port}` });
    assert.match(doctor.stdout, new RegExp(`proxy: https://${NAME.replace('.', '\\.')}:${port}: through http proxy 127\\.0\\.0\\.1:${proxy.port} \\(from HTTPS_PROXY, with credentials\\)`));
    assert.match(doctor.stdout, /ok +provider: .* answered \(HTTP \d{3}\)/);
    // the signing proxy's upstream call takes the same proxy (one policy)
    const tunnels = proxy.connects.length;
    const api = await s.cli(['request', '/2/users/me']);
    assert.equal(api.code, 0, api.stderr + api.stdout);
    assert.ok(proxy.connects.length > tunnels, 'pinauthd request went through the proxy too');
    const status = await s.cli(['status', '--json']);
    for (const text of [d.output, doctor.stdout, doctor.stderr, status.stdout, api.stdout, api.stderr]) assert.ok(!text.includes(SECRET), 'no proxy password in any output');
    await d.stop();
    record(
      SECTION,
      'item 8: HTTPS_PROXY=http://user:pass@127.0.0.1 (CONNECT); provider.test known only to the proxy',
      `authorized through the tunnel (request_token, access_token, verify), then pinauthd request: ${proxy.connects.length} CONNECTs; doctor names the proxy; password in no output`,
      'flow completes, password never shown',
    );
  });

  it('a proxy that wants other credentials: "Proxy: HTTP 407" and its host:port on the display, the reason in the log', async () => {
    const { s, proxy } = await setup({ credentials: 'pi:right' });
    const d = s.spawn(['run'], { ...trustCa(), HTTPS_PROXY: `http://pi:${SECRET}@127.0.0.1:${proxy.port}` });
    const line = await d.waitForLog((l) => /refused the tunnel/.test(JSON.stringify(l)), 20_000, 'the proxy refusal in the log');
    const text = JSON.stringify(line);
    assert.match(text, new RegExp(`The proxy 127\\.0\\.0\\.1:${proxy.port} \\(HTTPS_PROXY\\) refused the tunnel to ${NAME.replace('.', '\\.')}:\\d+ with HTTP 407`));
    const shown = await s.waitForText(`127.0.0.1:${proxy.port}`, 15_000);
    assert.match(shown.join('\n'), /Proxy: HTTP 407/);
    assert.equal(s.provider.stats().request_token.requests, 0, 'nothing reached the provider');
    assert.ok(!d.output.includes(SECRET));
    await d.stop();
    record(SECTION, 'item 8: proxy answers CONNECT with 407', `display: "${shown.join(' ').replace(/\s+/g, ' ').trim().slice(0, 60)}"; log names 127.0.0.1:port, no password`, 'clear message, no secret');
  });

  it('provider.proxy in the config wins over HTTPS_PROXY (which points at nothing)', async () => {
    const { s, proxy } = await setup();
    const dead = await startConnectProxy({ hosts: {} });
    await dead.close();
    await s.rewriteConfig((c) => {
      c.provider.proxy = proxy.url;
    });
    const d: DaemonProcess = s.spawn(['run'], { ...trustCa(), HTTPS_PROXY: dead.url });
    await d.waitForState('awaiting_pin', 20_000);
    assert.ok(proxy.connects.length >= 1);
    await d.stop();
    record(SECTION, 'item 8: provider.proxy set, HTTPS_PROXY pointing at a closed port', 'the configured proxy is used; URL shown', 'config wins');
  });
});
