/**
 * 5. Hostile input and secrets: config fuzz (in process and through the CLI), a trace-level
 * secret scan across flows and errors, TLS refusals, store permissions.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import type { IncomingMessage } from 'node:http';
import { chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadConfig, resolveConfig } from '../../src/config/index.js';
import { isPinauthError } from '../../src/errors.js';
import { DAEMON_ENTRY, DEMO_KEY, DEMO_SECRET, Stack, type DaemonProcess } from '../helpers/stack.js';
import { SEED, ms, record, rng } from './figures.js';
import { startProxy, type Proxy } from './proxy.js';

const SECTION = '5 hostile input';
const tmpDirs: string[] = [];
const stacks: Stack[] = [];
const proxies: Proxy[] = [];
after(async () => {
  await Promise.all(stacks.map((s) => s.close()));
  await Promise.all(proxies.map((p) => p.close()));
  await Promise.all(tmpDirs.map((d) => rm(d, { recursive: true, force: true })));
});
async function tmp(): Promise<string> {
  const d = await mkdtemp(path.join(os.tmpdir(), 'pinauthd-hostile-'));
  tmpDirs.push(d);
  return d;
}

function baseConfig(): Record<string, any> {
  return {
    provider: { preset: 'local', baseUrl: 'http://127.0.0.1:8723', timeoutMs: 3000 },
    credentials: { consumerKey: DEMO_KEY, consumerSecret: DEMO_SECRET },
    store: { path: '/tmp/pinauthd-fuzz/tokens.json' },
    display: { driver: 'pinpad', port: '/dev/ttyUSB0', cols: 20, rows: 4, serial: { baudRate: 9600 } },
    keypad: { mode: 'keys', delimiter: 'LF', maxLineBytes: 128 },
    daemon: { pinTries: 3, backoff: { initialMs: 200, maxMs: 1000 }, reconnect: { initialMs: 50, maxMs: 300 } },
    log: { level: 'info' },
  };
}

const HUGE = 'A'.repeat(2_000_000);
function hostileValue(r: () => number): unknown {
  const vals: unknown[] = [
    null, true, false, 0, -1, 1.5, 1e308, -1e308, 2 ** 53 + 1, '', 'x', HUGE, '\u0000\r\n', '../../../../etc/shadow',
    'http://192.0.2.1/', 'javascript:alert(1)', 'file:///etc/passwd', 'tcp://', 'tcp://h:99999', [], [1, 'a', null], {},
    { a: { b: { c: 1 } } }, { __proto__: { polluted: true } }, JSON.parse('{"__proto__":{"polluted":true}}'),
    { constructor: { prototype: { polluted: true } } }, 'stdio', '💥'.repeat(1000), '%s%n%x', '${HOME}',
  ];
  return vals[Math.floor(r() * vals.length)];
}

function allPaths(o: unknown, prefix: string[] = []): string[][] {
  if (typeof o !== 'object' || o === null || Array.isArray(o)) return [prefix];
  return [prefix, ...Object.entries(o).flatMap(([k, v]) => allPaths(v, [...prefix, k]))];
}

function mutate(cfg: Record<string, any>, r: () => number): void {
  const paths = allPaths(cfg);
  const n = 1 + Math.floor(r() * 3);
  for (let i = 0; i < n; i++) {
    const p = paths[Math.floor(r() * paths.length)]!;
    const what = r();
    if (p.length === 0) continue;
    let parent: any = cfg;
    for (const k of p.slice(0, -1)) parent = parent?.[k];
    if (typeof parent !== 'object' || parent === null) continue;
    const last = p[p.length - 1]!;
    if (what < 0.6) parent[last] = hostileValue(r);
    else if (what < 0.8) parent[`unknown${Math.floor(r() * 100)}`] = hostileValue(r);
    else delete parent[last];
  }
}

function checkConfigError(e: unknown): string {
  assert.ok(isPinauthError(e), `not a PinauthError: ${String((e as Error)?.stack ?? e).slice(0, 2000)}`);
  assert.ok(['CONFIG_INVALID', 'CONFIG_SECRET_MISSING'].includes(e.code), e.code);
  assert.ok(e.message.length > 10 && e.message.length < 20_000, `message of ${e.message.length} chars`);
  assert.ok(!e.message.includes(DEMO_SECRET), 'consumer secret in a config error');
  return e.message;
}

describe('config fuzz', () => {
  it('random wrong types, unknown keys and huge values through resolveConfig: a config or a clear error', () => {
    const r = rng(SEED + 50);
    const N = 3000;
    let invalid = 0;
    const started = Date.now();
    for (let i = 0; i < N; i++) {
      const cfg = baseConfig();
      mutate(cfg, r);
      try {
        resolveConfig(JSON.parse(JSON.stringify(cfg)), { file: '/etc/pinauthd/config.json', env: {} });
      } catch (e) {
        checkConfigError(e);
        invalid++;
      }
      assert.equal(({} as any).polluted, undefined, 'prototype polluted');
    }
    record(SECTION, 'config fuzz through resolveConfig: clear error / accepted', `${invalid} / ${N - invalid}`, 'no other outcome');
    record(SECTION, 'config fuzz time', ms(Date.now() - started));
  });

  const files: Array<[string, string | Buffer]> = [
    ['empty file', ''],
    ['not JSON', 'provider: twitter\n'],
    ['JSON null', 'null'],
    ['JSON array', '[1,2,3]'],
    ['a string', '"hello"'],
    ['trailing comma', '{"provider": {"preset": "local",}}'],
    ['binary', Buffer.from([0xff, 0xfe, 0x00, 0x01, 0x80, 0x81])],
    ['over 1 MiB', `{"x":"${'a'.repeat(1_100_000)}"}`],
    ['deep nesting (arrays)', `${'['.repeat(200_000)}${']'.repeat(200_000)}`],
    ['deep nesting (objects)', `{"provider":{"preset":"local"},"log":${'{"a":'.repeat(60_000)}1${'}'.repeat(60_000)}}`],
    ['__proto__ keys', '{"__proto__":{"polluted":true},"provider":{"preset":"local","__proto__":{"x":1}}}'],
    ['huge number', '{"provider":{"preset":"local","timeoutMs":1e999}}'],
    ['wrong types everywhere', '{"provider":"twitter","store":[],"display":1,"keypad":true,"daemon":"x","log":null}'],
    ['unknown keys', '{"provider":{"preset":"local"},"providers":{},"dispaly":{}}'],
    ['plain http outside loopback', '{"provider":{"preset":"generic","baseUrl":"http://192.0.2.1","requestTokenUrl":"http://192.0.2.1/rt","authorizeUrl":"http://192.0.2.1/a","accessTokenUrl":"http://192.0.2.1/at"},"credentials":{"consumerKey":"k","consumerSecret":"s"}}'],
  ];

  it('hostile files through loadConfig and `pinauthd run --config`: exit 3, a clear message, no stack trace', async () => {
    const dir = await tmp();
    let cliOk = 0;
    const started = Date.now();
    for (const [i, [what, body]] of files.entries()) {
      const file = path.join(dir, `c${i}.json`);
      await writeFile(file, body);
      let message = '';
      try {
        await loadConfig({ file, env: {} });
        assert.fail(`${what}: accepted`);
      } catch (e) {
        message = checkConfigError(e);
      }
      assert.equal(({} as any).polluted, undefined, 'prototype polluted');
      const res = await runCli(['run', '--config', file]);
      assert.equal(res.code, 3, `${what}: exit ${res.code}\n${res.stderr.slice(0, 3000)}`);
      assert.doesNotMatch(res.stderr, /\n\s+at .+[(:]\d+/, `${what}: a stack trace`);
      assert.ok(res.stderr.length < 20_000, `${what}: ${res.stderr.length} bytes of stderr`);
      assert.match(res.stderr, /config|JSON/i, `${what}: says it is the config`);
      if (what === 'plain http outside loopback') {
        assert.match(message, /https|http/);
        record(SECTION, 'plain http provider outside loopback', `refused: ${message.split('\n')[1]?.slice(0, 90)}`, 'refused');
      }
      cliOk++;
    }
    record(SECTION, 'hostile config files via loadConfig + `run --config` (exit 3, no stack)', `${cliOk}/${files.length}`, 'all');
    record(SECTION, 'hostile config file time', ms(Date.now() - started));
  });
});

function runCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const { PINAUTHD_CONSUMER_KEY, PINAUTHD_CONSUMER_SECRET, CREDENTIALS_DIRECTORY, PINAUTHD_CONFIG, ...rest } = process.env;
    void PINAUTHD_CONSUMER_KEY, PINAUTHD_CONSUMER_SECRET, CREDENTIALS_DIRECTORY, PINAUTHD_CONFIG;
    const c = spawn(process.execPath, [...DAEMON_ENTRY, ...args], { env: { ...rest, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    c.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    c.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    c.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('TLS', () => {
  let certs: Record<string, string>;
  before(async () => {
    const dir = await tmp();
    const sh = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
    await writeFile(path.join(dir, 'ext'), 'subjectAltName=IP:127.0.0.1\n');
    sh(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=pinauthd test CA']);
    sh(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'leaf.key', '-out', 'leaf.csr', '-subj', '/CN=127.0.0.1']);
    sh(['x509', '-req', '-in', 'leaf.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-extfile', 'ext', '-out', 'good.pem']);
    sh(['x509', '-req', '-in', 'leaf.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '-1', '-extfile', 'ext', '-out', 'expired.pem']);
    sh(['req', '-x509', '-key', 'leaf.key', '-out', 'self.pem', '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1']);
    certs = { dir };
    for (const n of ['ca.pem', 'leaf.key', 'good.pem', 'expired.pem', 'self.pem']) certs[n] = await readFile(path.join(dir, n), 'utf8');
  });

  async function tlsCase(cert: string): Promise<{ s: Stack; d: DaemonProcess }> {
    const s = await Stack.start({ profile: 'lcd20x4', keypadMode: 'keys' });
    stacks.push(s);
    const p = await startProxy({ target: s.provider.url, tls: { key: certs['leaf.key']!, cert } });
    proxies.push(p);
    await s.rewriteConfig((c) => {
      c.provider.baseUrl = p.url;
    });
    const d = s.spawn(['run'], { NODE_EXTRA_CA_CERTS: path.join(certs.dir!, 'ca.pem') });
    return { s, d };
  }

  it('a certificate from a trusted CA is accepted (the proxy is sound)', async () => {
    // the provider then refuses the signature (it was made for the proxy's URL): proof that
    // the request went through TLS and reached it
    const { s, d } = await tlsCase(certs['good.pem']!);
    await d.waitForLog((l) => l.module === 'oauth' && l.status === 401, 15_000, 'a reply through the TLS proxy');
    assert.ok(s.provider.stats().request_token.requests >= 1);
    assert.ok(!/TLS failure/.test(d.output));
  });

  for (const [what, file, code] of [
    ['self-signed', 'self.pem', /SELF_SIGNED/],
    ['expired', 'expired.pem', /EXPIRED/],
  ] as const) {
    it(`a ${what} certificate is refused with a clear message`, async () => {
      const { s, d } = await tlsCase(certs[file]!);
      const line = await d.waitForLog((l) => /TLS failure/.test(JSON.stringify(l)), 15_000, 'a TLS failure');
      const text = JSON.stringify(line);
      assert.match(text, code);
      assert.match(text, /certificate/);
      assert.equal(s.provider.stats().request_token.requests, 0, 'nothing reached the provider');
      const shown = await s.waitForText(/TLS|certif|network|retry/i, 10_000);
      record(SECTION, `TLS: ${what} certificate`, `refused (${/[A-Z_]*(SELF_SIGNED|EXPIRED)[A-Z_]*/.exec(text)?.[0]}); display: "${shown.join(' ').replace(/\s+/g, ' ').trim().slice(0, 60)}"`, 'refused');
    });
  }
});

describe('store permissions', () => {
  it('a store file or directory readable by others is repaired to 0600/0700, and the log says so', async () => {
    const s = await Stack.start({ profile: 'lcd20x4', keypadMode: 'keys' });
    stacks.push(s);
    const d0 = s.spawn(['run', '--once']);
    await d0.waitForState('awaiting_pin');
    const pin = await s.approve();
    for (const k of pin) s.sim.pressKey(k);
    assert.equal(await d0.exited, 0);
    const dir = path.dirname(s.storePath);
    await chmod(dir, 0o755);
    await chmod(s.storePath, 0o644);
    const d = s.spawn(['run']);
    await d.waitForState('authorized');
    assert.equal((await stat(dir)).mode & 0o777, 0o700);
    assert.equal((await stat(s.storePath)).mode & 0o777, 0o600);
    assert.ok(d.logs.some((l) => l.was === '0755' && /repaired/.test(String(l.msg))), 'directory repair logged');
    assert.ok(d.logs.some((l) => l.was === '0644' && /repaired/.test(String(l.msg))), 'file repair logged');
    await d.stop();
    record(SECTION, 'store 0644 in a 0755 directory', 'repaired to 0600/0700, logged at warn', 'refused or repaired');
  });

  it('a store in a shared sticky directory is refused (exit 6) with a clear message', async () => {
    const s = await Stack.start({ profile: 'lcd20x4', keypadMode: 'keys' });
    stacks.push(s);
    const shared = path.join(s.dir, 'shared');
    await mkdir(shared);
    await chmod(shared, 0o1777);
    await s.rewriteConfig((c) => {
      c.store.path = path.join(shared, 'tokens.json');
    });
    const r = await s.cli(['run']);
    assert.equal(r.code, 6, r.stderr + r.stdout.slice(-2000));
    assert.match(r.stderr + r.stdout, /shared|sticky/);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
    record(SECTION, 'store in a shared sticky directory (0o1777)', 'refused, exit 6', 'refused');
  });
});
