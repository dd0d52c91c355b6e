#!/usr/bin/env node
/**
 * A quick start-up probe for working on the cold start (not the benchmark of record, which is
 * run.mjs): spawns an entry N times against the local provider and a TCP simulator and prints
 * the medians of exec -> first frame, exec -> URL on the display, and VmHWM at the URL, next
 * to bare `node -e ''`.
 *
 *   node scripts/bench/startup.mjs [--runs N] [--entry FILE['|'FLAGS]]... [-- NODE_FLAGS...]
 *   node scripts/bench/startup.mjs --runs 1 -- --cpu-prof --cpu-prof-dir=/tmp/prof --cpu-prof-interval=50
 *   node scripts/bench/startup.mjs --entry dist/pinauthd.cjs --entry 'dist/pinauthd.cjs|--max-semi-space-size=1'
 *   node scripts/bench/startup.mjs --pty ...   (the display on a socat PTY, through serialport)
 *   node scripts/bench/startup.mjs --provider-delay-ms 150 ...   (a provider across a network)
 *   node scripts/bench/startup.mjs --peer scripts/bench/peer-minimal.mjs ...   (a client script
 *     that prints the URL, run as `node PEER PROVIDER_URL KEY SECRET`, timed to that line)
 *
 * Several entries are interleaved in each round (A/B on a noisy machine). The loader
 * (dist/pinauthd-start.cjs, what the unit runs) keeps its code cache in $CACHE_DIRECTORY
 * (passed through) or next to the bundle; the warm-up start (stopped with SIGTERM) writes it:
 *   CACHE_DIRECTORY=$(mktemp -d) node scripts/bench/startup.mjs --entry dist/pinauthd.cjs --entry dist/pinauthd-start.cjs
 * To compare two builds, copy each loader + bundle pair to a directory of its own and leave
 * CACHE_DIRECTORY unset: each loader then keeps its cache next to its bundle. In one shared
 * cache directory the loaders delete each other's caches (caches of other bundles are
 * removed when one is written), and every start of both runs without one.
 *   node scripts/bench/startup.mjs --entry /tmp/a/pinauthd-start.cjs --entry /tmp/b/pinauthd-start.cjs
 * Memory at the URL, split into parts (V8 spaces, the node binary's pages, threads, the
 * built-ins loaded over bare node): scripts/bench/memory.mjs.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { median, memoryOf, writeDaemonConfig } from './lib.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const dist = (p) => path.join(ROOT, 'dist', p);
const { SimDevice } = await import(dist('firmware-sim/device.js'));
const { startTcpSim } = await import(dist('firmware-sim/tcp.js'));
const { startPtySim } = await import(dist('firmware-sim/pty.js'));
const { startLocalProvider, DEMO_CONSUMER } = await import(dist('local-provider/provider.js'));

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    runs: { type: 'string', default: '10' },
    entry: { type: 'string', multiple: true, default: ['dist/pinauthd.cjs'] },
    // the display on a pseudo-terminal (socat), opened through serialport, instead of TCP
    pty: { type: 'boolean', default: false },
    // the provider answers this much later (a network round trip, as to a real provider)
    'provider-delay-ms': { type: 'string', default: '0' },
    peer: { type: 'string', multiple: true, default: [] },
  },
});
const RUNS = Number(values.runs);
const entries = values.entry.map((spec) => {
  const [file, flags = ''] = spec.split('|');
  return { name: spec, file: path.resolve(ROOT, file), flags: [...positionals, ...flags.split(' ').filter(Boolean)] };
});
const now = () => performance.now();
const { PINAUTHD_CONSUMER_KEY, PINAUTHD_CONSUMER_SECRET, CREDENTIALS_DIRECTORY, NOTIFY_SOCKET, NODE_OPTIONS, ...baseEnv } = process.env;
void PINAUTHD_CONSUMER_KEY, PINAUTHD_CONSUMER_SECRET, CREDENTIALS_DIRECTORY, NOTIFY_SOCKET, NODE_OPTIONS;

const provider = await startLocalProvider({ host: '127.0.0.1', port: 0 });
provider.faults.delayMs = Number(values['provider-delay-ms']);
const host = new URL(provider.url).host;

async function once({ file: entry, flags: nodeFlags }) {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'pinauthd-startup-'));
  const sim = new SimDevice({ profile: 'lcd20x4', keypadMode: 'keys', delimiter: 'LF' });
  const link = values.pty ? await startPtySim({ device: sim }) : await startTcpSim({ device: sim });
  const { file } = await writeDaemonConfig(dir, values.pty ? link.hostPath : link.url, provider.url);
  const marks = { frame: 0, url: 0 };
  let shown;
  const urlShown = new Promise((r) => (shown = r));
  sim.on('command', (c) => {
    const t = now();
    if (!marks.frame && /^(CLR|ROW|AT|BMP)\b/.test(c.raw)) marks.frame = t;
    if (!marks.url && c.raw.includes(host)) (marks.url = t), shown();
  });
  const t0 = now();
  const child = spawn(process.execPath, [...nodeFlags, entry, 'run', '--config', file], {
    env: { ...baseEnv, PINAUTHD_CONSUMER_KEY: DEMO_CONSUMER.key, PINAUTHD_CONSUMER_SECRET: DEMO_CONSUMER.secret },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  child.stdout.resume();
  const exited = new Promise((r) => child.once('exit', r));
  await Promise.race([urlShown, exited.then(() => Promise.reject(new Error('daemon exited before the URL')))]);
  const mem = memoryOf(child.pid);
  // main thread: ns on a CPU, ns waiting for one (a busy machine shows in the second)
  const [cpuNs, waitNs] = readFileSync(`/proc/${child.pid}/schedstat`, 'utf8').split(' ').map(Number);
  await new Promise((r) => setTimeout(r, 300)); // a little after the URL: peak of the whole start
  const later = memoryOf(child.pid);
  child.kill('SIGTERM');
  await exited;
  await link.close();
  await rm(dir, { recursive: true, force: true });
  return { frame: marks.frame - t0, url: marks.url - t0, hwm: mem.hwmKb, hwmLater: later.hwmKb, cpu: cpuNs / 1e6, wait: waitNs / 1e6 };
}

async function bare() {
  const t0 = now();
  const child = spawn(process.execPath, ['-e', ''], { env: baseEnv, stdio: 'ignore' });
  await new Promise((r) => child.once('exit', r));
  return now() - t0;
}

/** A client script: exec to the line with the URL on its stdout, and the memory then. */
async function peer(script) {
  const t0 = now();
  const child = spawn(process.execPath, [script, provider.url, DEMO_CONSUMER.key, DEMO_CONSUMER.secret], { env: { ...baseEnv, BENCH_HOLD: '1' }, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  await new Promise((resolve, reject) => {
    child.stdout.on('data', (d) => (out += d).includes('oauth_token=') && resolve());
    child.once('exit', () => reject(new Error(`${script} exited before the URL`)));
  });
  const t = now() - t0;
  const mem = memoryOf(child.pid);
  const [cpuNs] = readFileSync(`/proc/${child.pid}/schedstat`, 'utf8').split(' ').map(Number);
  child.kill('SIGTERM');
  return { url: t, hwm: mem.hwmKb, cpu: cpuNs / 1e6 };
}

const peers = values.peer.map((p) => path.resolve(ROOT, p));
const rows = entries.map(() => []);
const peerRows = peers.map(() => []);
const bares = [];
for (const e of entries) await once(e); // warm-up
for (const p of peers) await peer(p);
for (let i = 0; i < RUNS; i++) {
  bares.push(await bare());
  for (const [j, e] of entries.entries()) rows[j].push(await once(e));
  for (const [j, p] of peers.entries()) peerRows[j].push(await peer(p));
}
const f = (x) => x.toFixed(1);
const b = median(bares);
console.log(`bare node -e '': ${f(b)} ms (${RUNS} runs, medians)`);
for (const [j, e] of entries.entries()) {
  const m = (k) => median(rows[j].map((r) => r[k]));
  console.log(`${e.name.padEnd(50)} frame ${f(m('frame'))} | URL ${f(m('url'))} ms = ${(m('url') / b).toFixed(2)}x bare | main thread CPU ${f(m('cpu'))} ms, runqueue ${f(m('wait'))} ms | VmHWM at URL ${f(m('hwm') / 1024)} MiB, +300 ms ${f(m('hwmLater') / 1024)} MiB`);
}
for (const [j, p] of peers.entries()) {
  const m = (k) => median(peerRows[j].map((r) => r[k]));
  console.log(`${path.relative(ROOT, p).padEnd(50)} URL ${f(m('url'))} ms = ${(m('url') / b).toFixed(2)}x bare | main thread CPU ${f(m('cpu'))} ms | VmHWM at URL ${f(m('hwm') / 1024)} MiB`);
}
await provider.close();
