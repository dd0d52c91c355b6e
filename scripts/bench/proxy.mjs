#!/usr/bin/env node
/**
 * The signing proxy's figures (issue 14), for `npm run bench` (run.mjs adds this section) or
 * alone: `node scripts/bench/proxy.mjs` (after `npm run build`).
 *
 * The real daemon, started as the service starts it (the unit's ExecStart: stock node, the
 * loader with its code cache) and logging as it does by default (a line per request, at info,
 * to a pipe that is read as journald reads it), is authorized against the local provider (its
 * own process) through the simulator, then:
 *  - added latency: the same signed GET /2/users/me from a long-running client, direct to the
 *    provider (the client signs, keep-alive) and through api.sock (pinauthd signs), interleaved;
 *  - requests/s with 8 concurrent clients on the socket;
 *  - the daemon's RSS with 100 idle keep-alive connections open;
 *  - twurl-style one process per request: a Node one-shot that loads the token, signs and calls
 *    (scripts/bench/oneshot-request.mjs), and `pinauthd request` (also a process, no secret).
 *
 * Env: BENCH_PROXY_REQUESTS (default 1000 each way), BENCH_PROXY_SECONDS (default 5),
 * BENCH_PROXY_ONESHOTS (default 20).
 */
import { spawn } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpuTicks, median, memoryOf, TICK_MS, unitCommand } from './lib.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const dist = (p) => path.join(ROOT, 'dist', p);
const NODE = process.execPath;
const KEY = 'pinauthd-demo-key';
const SECRET = 'pinauthd-demo-secret';
const REQUESTS = Number(process.env.BENCH_PROXY_REQUESTS ?? 1000);
const SECONDS = Number(process.env.BENCH_PROXY_SECONDS ?? 5);
const ONESHOTS = Number(process.env.BENCH_PROXY_ONESHOTS ?? 20);
const log = (...a) => console.error('bench proxy:', ...a);
const now = () => performance.now();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function quantile(xs, q) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
}
const f2 = (x) => x.toFixed(2);
const f1 = (x) => x.toFixed(1);

function cleanEnv(extra = {}) {
  const { PINAUTHD_CONSUMER_KEY, PINAUTHD_CONSUMER_SECRET, CREDENTIALS_DIRECTORY, NOTIFY_SOCKET, PINAUTHD_CONFIG, ...rest } = process.env;
  void PINAUTHD_CONSUMER_KEY, PINAUTHD_CONSUMER_SECRET, CREDENTIALS_DIRECTORY, NOTIFY_SOCKET, PINAUTHD_CONFIG;
  return { ...rest, ...extra };
}

async function until(cond, what, ms = 20_000) {
  const deadline = now() + ms;
  for (;;) {
    const v = await cond();
    if (v) return v;
    if (now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** RFC 5849 signing the way a one-process client does it (the direct path). */
function rfc3986(s) {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}
function authHeader(method, url, token, tokenSecret) {
  const u = new URL(url);
  const oauth = {
    oauth_consumer_key: KEY,
    oauth_nonce: randomBytes(16).toString('hex'),
    oauth_signature_method: 'HMAC-SHA1',
    oauth_timestamp: String(Math.floor(Date.now() / 1000)),
    oauth_token: token,
    oauth_version: '1.0',
  };
  const pairs = [...Object.entries(oauth), ...u.searchParams].map(([k, v]) => [rfc3986(k), rfc3986(v)]).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : 1));
  const base = `${method}&${rfc3986(`${u.origin}${u.pathname}`)}&${rfc3986(pairs.map(([k, v]) => `${k}=${v}`).join('&'))}`;
  oauth.oauth_signature = createHmac('sha1', `${rfc3986(SECRET)}&${rfc3986(tokenSecret)}`).update(base).digest('base64');
  return `OAuth ${Object.entries(oauth).map(([k, v]) => `${k}="${rfc3986(v)}"`).join(', ')}`;
}

function get(options) {
  return new Promise((resolve, reject) => {
    const req = http.request(options, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    });
    req.on('error', reject);
    req.end();
  });
}

export async function benchProxy() {
  const { SimDevice } = await import(dist('firmware-sim/device.js'));
  const { startTcpSim } = await import(dist('firmware-sim/tcp.js'));
  const { askDaemon, controlSocketPath } = await import(dist('src/service/control.js'));
  const dir = await mkdtemp(path.join(os.tmpdir(), 'pinauthd-bench-proxy-'));
  const children = [];
  const cleanup = async () => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  };
  try {
    // the provider in its own process, as a real API is
    const provider = spawn(NODE, [dist('local-provider/main.js'), '--port', '0', '--quiet'], { stdio: ['ignore', 'pipe', 'inherit'] });
    children.push(provider);
    const providerUrl = await new Promise((resolve, reject) => {
      let out = '';
      provider.stdout.setEncoding('utf8').on('data', (c) => {
        out += c;
        const m = /at (http:\/\/\S+)/.exec(out);
        if (m) resolve(m[1]);
      });
      provider.once('exit', () => reject(new Error('the provider exited')));
    });

    const sim = new SimDevice({ profile: 'lcd20x4', keypadMode: 'keys', delimiter: 'LF' });
    const link = await startTcpSim({ device: sim });
    const storePath = path.join(dir, 'state', 'tokens.json');
    const socket = path.join(dir, 'api.sock');
    const config = path.join(dir, 'config.json');
    await writeFile(config, JSON.stringify({
      provider: { preset: 'local', baseUrl: providerUrl },
      store: { path: storePath },
      display: { driver: 'pinpad', port: link.url, cols: 20, rows: 4 },
      keypad: { mode: 'keys' },
      // room for the 200 idle connections below (the default is 64)
      proxy: { socket, maxConnections: 256 },
      // the default level: every request is logged (method, path, status, duration)
      log: { level: 'info' },
    }));
    const env = cleanEnv({ PINAUTHD_CONSUMER_KEY: KEY, PINAUTHD_CONSUMER_SECRET: SECRET, CACHE_DIRECTORY: path.join(dir, 'cache') });
    await mkdir(env.CACHE_DIRECTORY);
    const [unitFlags, unitEntry] = unitCommand();
    const daemon = spawn(NODE, [...unitFlags, unitEntry, 'run', '--config', config], { env, stdio: ['ignore', 'pipe', 'inherit'] });
    children.push(daemon);
    let logLines = 0;
    daemon.stdout.on('data', (c) => {
      for (const b of c) if (b === 10) logLines++;
    });

    // authorize: approve as the person, type the PIN on the simulated keypad
    const control = controlSocketPath(storePath);
    const token = await until(async () => {
      const st = await askDaemon(control, 'status');
      const u = st?.ok && st.result.state === 'awaiting_pin' ? st.result.pending?.authorizeUrl : undefined;
      return u ? new URL(u).searchParams.get('oauth_token') : null;
    }, 'the authorize URL');
    const approve = await fetch(`${providerUrl}/__control/approve`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ oauth_token: token }) });
    const { pin } = await approve.json();
    for (const d of pin) sim.pressKey(d);
    await until(async () => (await askDaemon(control, 'status'))?.result?.state === 'authorized', 'authorized');
    const account = JSON.parse(await readFile(storePath, 'utf8')).accounts[0];
    // the loader writes its code cache 5 s after a start without one: not inside the figures
    await until(async () => (await readdir(env.CACHE_DIRECTORY)).some((f) => f.endsWith('.v8cache')), 'the code cache', 30_000);
    const memBefore = memoryOf(daemon.pid);

    // the floor: a bare Node forwarder on a socket of its own (the client signs)
    const floorSocket = path.join(dir, 'floor.sock');
    const floor = spawn(NODE, [path.join(ROOT, 'scripts/bench/forward-floor.mjs'), floorSocket, providerUrl], { stdio: ['ignore', 'pipe', 'inherit'] });
    children.push(floor);
    await new Promise((resolve) => floor.stdout.once('data', resolve));

    // 1. added latency, interleaved (the order rotating) so that drift hits all three alike
    const target = `${providerUrl}/2/users/me`;
    const signed = () => ({ authorization: authHeader('GET', target, account.token, account.tokenSecret) });
    const paths = {
      direct: (agent) => get({ agent, host: new URL(providerUrl).hostname, port: new URL(providerUrl).port, path: '/2/users/me', headers: signed() }),
      proxied: (agent) => get({ agent, socketPath: socket, path: '/2/users/me', headers: { host: 'api' } }),
      floor: (agent) => get({ agent, socketPath: floorSocket, path: '/2/users/me', headers: { host: 'api', ...signed() } }),
    };
    const names = Object.keys(paths);
    const agents1 = Object.fromEntries(names.map((n) => [n, new http.Agent({ keepAlive: true, maxSockets: 1 })]));
    for (let i = 0; i < 100; i++) for (const n of names) await paths[n](agents1[n]);
    const times = Object.fromEntries(names.map((n) => [n, []]));
    for (let i = 0; i < REQUESTS; i++) {
      for (let j = 0; j < names.length; j++) {
        const name = names[(i + j) % names.length];
        const t = now();
        const status = await paths[name](agents1[name]);
        times[name].push(now() - t);
        if (status !== 200) throw new Error(`${name}: HTTP ${status}`);
      }
    }
    for (const a of Object.values(agents1)) a.destroy();
    const lat = Object.fromEntries(names.map((n) => [n, { p50: median(times[n]), p99: quantile(times[n], 0.99) }]));
    lat.added = { p50: lat.proxied.p50 - lat.direct.p50, p99: lat.proxied.p99 - lat.direct.p99 };
    lat.floorAdded = { p50: lat.floor.p50 - lat.direct.p50, p99: lat.floor.p99 - lat.direct.p99 };
    log(`latency (median/p99): direct ${f2(lat.direct.p50)}/${f2(lat.direct.p99)} ms, proxied ${f2(lat.proxied.p50)}/${f2(lat.proxied.p99)} ms, floor ${f2(lat.floor.p50)}/${f2(lat.floor.p99)} ms`);

    // 2. throughput, 8 clients, each on its own keep-alive connection
    const throughput = async (fn) => {
      let done = 0;
      const end = now() + SECONDS * 1000;
      await Promise.all(Array.from({ length: 8 }, async () => {
        while (now() < end) {
          if ((await fn()) !== 200) throw new Error('not 200');
          done++;
        }
      }));
      return done / SECONDS;
    };
    const agents8 = Object.fromEntries(names.map((n) => [n, new http.Agent({ keepAlive: true, maxSockets: 8 })]));
    // the daemon's own CPU per request: what the proxy costs, whatever else the machine runs
    const ticks0 = cpuTicks(daemon.pid);
    const rpsProxied = await throughput(() => paths.proxied(agents8.proxied));
    const cpuPerRequest = ((cpuTicks(daemon.pid) - ticks0) * TICK_MS) / (rpsProxied * SECONDS);
    const rpsDirect = await throughput(() => paths.direct(agents8.direct));
    const rpsFloor = await throughput(() => paths.floor(agents8.floor));
    for (const a of Object.values(agents8)) a.destroy();
    floor.kill('SIGTERM');
    log(`throughput: proxied ${f1(rpsProxied)}/s (daemon CPU ${f2(cpuPerRequest)} ms a request), direct ${f1(rpsDirect)}/s, floor ${f1(rpsFloor)}/s`);

    // 3. RSS with 100 idle connections (each made one request and stays open)
    const idleBefore = memoryOf(daemon.pid);
    const idle = [];
    for (let i = 0; i < 100; i++) {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      if ((await get({ agent, socketPath: socket, path: '/2/users/me', headers: { host: 'api' } })) !== 200) throw new Error('not 200');
      idle.push(agent);
    }
    // plus 100 that connected and sent nothing yet
    const silent = await Promise.all(Array.from({ length: 100 }, () => new Promise((r) => { const s = net.connect(socket, () => r(s)); })));
    await sleep(200);
    const idleAfter = memoryOf(daemon.pid);
    idle.forEach((a) => a.destroy());
    silent.forEach((s) => s.destroy());
    log(`RSS ${f1(idleBefore.rssKb / 1024)} -> ${f1(idleAfter.rssKb / 1024)} MiB with 100 idle keep-alive + 100 silent connections`);

    // 4. one process per request
    const oneshot = async (args, extraEnv = {}) => {
      const t = now();
      const child = spawn(NODE, args, { env: cleanEnv(extraEnv), stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.setEncoding('utf8').on('data', (c) => (out += c));
      const code = await new Promise((r) => child.once('exit', r));
      if (code !== 0) throw new Error(`${args.join(' ')} exited ${code}: ${out}`);
      return now() - t;
    };
    const shots = { oneshot: [], request: [] };
    for (let i = 0; i < ONESHOTS; i++) {
      shots.oneshot.push(await oneshot([path.join(ROOT, 'scripts/bench/oneshot-request.mjs'), storePath, target], { PINAUTHD_CONSUMER_KEY: KEY, PINAUTHD_CONSUMER_SECRET: SECRET }));
      shots.request.push(await oneshot([dist('pinauthd.cjs'), 'request', '--socket', socket, '/2/users/me']));
    }
    const memEnd = memoryOf(daemon.pid);
    daemon.kill('SIGTERM');
    await new Promise((r) => daemon.once('exit', r));
    await link.close();

    const lines = [
      '### 6. The signing proxy (api.sock)',
      '',
      `GET /2/users/me against the local provider (its own process) on loopback; ${REQUESTS} requests each way, interleaved, each client on one keep-alive connection; the daemon runs as the unit runs it (\`${['node', ...unitFlags, path.relative(ROOT, unitEntry)].join(' ')}\`) and logs every request at the default level (${logLines} lines read from its stdout).`,
      '',
      '| what | median | p99 |',
      '|---|---:|---:|',
      `| direct to the provider, the client signs (long-running client holding the secrets) | ${f2(lat.direct.p50)} ms | ${f2(lat.direct.p99)} ms |`,
      `| through api.sock, pinauthd signs | ${f2(lat.proxied.p50)} ms | ${f2(lat.proxied.p99)} ms |`,
      `| **added by the proxy** | **${f2(lat.added.p50)} ms** | **${f2(lat.added.p99)} ms** |`,
      `| for scale: through a bare Node forwarder on a Unix socket, no signing, checks or log (scripts/bench/forward-floor.mjs; the client signs) | ${f2(lat.floor.p50)} ms | ${f2(lat.floor.p99)} ms |`,
      `| (added by that forwarder: a third process on the path, two more loopback hops) | ${f2(lat.floorAdded.p50)} ms | ${f2(lat.floorAdded.p99)} ms |`,
      `| one process per request, twurl-style: Node loads the token from the store, signs, calls (scripts/bench/oneshot-request.mjs), exec to exit | ${f1(median(shots.oneshot))} ms | ${f1(quantile(shots.oneshot, 0.99))} ms |`,
      `| one process per request through the socket: \`pinauthd request /2/users/me\` (no secret in the process), exec to exit | ${f1(median(shots.request))} ms | ${f1(quantile(shots.request, 0.99))} ms |`,
      '',
      '| load | figure |',
      '|---|---:|',
      `| 8 concurrent clients for ${SECONDS} s through api.sock | ${f1(rpsProxied)} requests/s |`,
      `| the daemon's CPU time (user + system) per request meanwhile | ${f2(cpuPerRequest)} ms |`,
      `| the same direct to the provider (clients sign) | ${f1(rpsDirect)} requests/s |`,
      `| the same through the bare forwarder (clients sign) | ${f1(rpsFloor)} requests/s |`,
      `| daemon RSS authorized, before any request | ${f1(memBefore.rssKb / 1024)} MiB |`,
      `| daemon RSS after the runs above, then with 100 idle keep-alive + 100 silent connections open | ${f1(idleBefore.rssKb / 1024)} -> ${f1(idleAfter.rssKb / 1024)} MiB (${(idleAfter.rssKb >= idleBefore.rssKb ? '+' : '') + f1((idleAfter.rssKb - idleBefore.rssKb) / 1024)}) |`,
      `| daemon peak RSS over all of it (VmHWM) | ${f1(memEnd.hwmKb / 1024)} MiB |`,
      '',
    ];
    const targets = [
      { name: 'proxy: added latency per request < 2 ms (median)', ok: lat.added.p50 < 2, shown: `${f2(lat.added.p50)} ms` },
      { name: 'proxy: added latency per request < 2 ms (p99)', ok: lat.added.p99 < 2, shown: `${f2(lat.added.p99)} ms` },
    ];
    return { lines, targets };
  } finally {
    await cleanup();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { lines, targets } = await benchProxy();
  console.log([...lines, ...targets.map((t) => `- ${t.name}: ${t.shown} (${t.ok ? 'met' : 'MISSED'})`)].join('\n'));
  process.exit(targets.every((t) => t.ok) ? 0 : 1);
}
