#!/usr/bin/env node
/**
 * Where the memory at the URL goes (docs/performance.md): starts the service command line
 * (the unit's flags and loader, code cache warm) against the local provider and a TCP
 * simulator, and at the moment the URL is on the display reads /proc/<pid>/smaps_rollup,
 * /proc/<pid>/smaps (grouped by mapping) and V8's heap spaces (via scripts/bench/heap-probe.cjs,
 * preloaded only here); the same for bare node holding after one line of output.
 *
 *   node scripts/bench/memory.mjs [--entry FILE['|'FLAGS]]...
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { writeDaemonConfig } from './lib.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const dist = (p) => path.join(ROOT, 'dist', p);
const PROBE = path.join(ROOT, 'scripts/bench/heap-probe.cjs');
const { SimDevice } = await import(dist('firmware-sim/device.js'));
const { startTcpSim } = await import(dist('firmware-sim/tcp.js'));
const { startLocalProvider, DEMO_CONSUMER } = await import(dist('local-provider/provider.js'));
const { values } = parseArgs({ options: { entry: { type: 'string', multiple: true, default: ['dist/pinauthd-start.cjs'] } } });
const { PINAUTHD_CONSUMER_KEY, PINAUTHD_CONSUMER_SECRET, CREDENTIALS_DIRECTORY, NOTIFY_SOCKET, NODE_OPTIONS, ...baseEnv } = process.env;
void PINAUTHD_CONSUMER_KEY, PINAUTHD_CONSUMER_SECRET, CREDENTIALS_DIRECTORY, NOTIFY_SOCKET, NODE_OPTIONS;
const provider = await startLocalProvider({ host: '127.0.0.1', port: 0 });
const host = new URL(provider.url).host;
const tmp = await mkdtemp(path.join(os.tmpdir(), 'pinauthd-mem-'));
const MiB = (kb) => (kb / 1024).toFixed(1);

function rollup(pid) {
  const t = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  const kb = (k) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(t)?.[1] ?? NaN);
  const s = readFileSync(`/proc/${pid}/status`, 'utf8');
  const skb = (k) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(s)?.[1] ?? NaN);
  return { rss: kb('Rss'), anon: kb('Anonymous'), file: kb('Rss') - kb('Anonymous'), hwm: skb('VmHWM'), threads: Number(/^Threads:\s+(\d+)/m.exec(s)[1]) };
}
/** Rss by mapping name (anonymous regions together). */
function byMapping(pid) {
  const groups = {};
  let name = '';
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const head = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (head) {
      name = path.basename(head[1] || '[anon]');
      // the node binary by mapping (text, read-only data, ...): which of its pages were touched
      if (head[1] === process.execPath) name = `node ${line.split(' ')[1]}`;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss) groups[name] = (groups[name] ?? 0) + Number(rss[1]);
  }
  return Object.entries(groups).sort((a, b) => b[1] - a[1]).slice(0, 10);
}
async function probe(pid, file) {
  process.kill(pid, 'SIGUSR2');
  for (let i = 0; i < 200; i++) {
    try {
      return JSON.parse(await readFile(file, 'utf8'));
    } catch {
      await new Promise((r) => setTimeout(r, 5));
    }
  }
  throw new Error('no heap probe output');
}
let bareBuiltins;
function report(name, r, p, maps) {
  const sp = Object.entries(p.spaces).map(([k, v]) => `${k.replace('_space', '')} ${MiB(v.size / 1024)}/${MiB(v.used / 1024)}`).join(', ');
  console.log(`${name}\n  RSS ${MiB(r.rss)} MiB (anon ${MiB(r.anon)}, file ${MiB(r.file)}), VmHWM ${MiB(r.hwm)}, threads ${r.threads}`);
  console.log(`  V8 heap committed ${MiB(p.heap.total_physical_size / 1024)} MiB, used ${MiB(p.heap.used_heap_size / 1024)}, external ${MiB(p.usage.external / 1024)}, arrayBuffers ${MiB(p.usage.arrayBuffers / 1024)}, malloced ${MiB(p.heap.malloced_memory / 1024)} (peak ${MiB(p.heap.peak_malloced_memory / 1024)})`);
  console.log(`  spaces (size/used MiB): ${sp}`);
  console.log(`  code: bytecode+metadata ${MiB(p.code.bytecode_and_metadata_size / 1024)} MiB, code ${MiB(p.code.code_and_metadata_size / 1024)}, scripts source ${MiB(p.code.external_script_source_size / 1024)}`);
  console.log(`  built-ins ${p.builtins.length}${bareBuiltins ? ` (over bare node: ${p.builtins.filter((b) => !bareBuiltins.includes(b)).join(' ')})` : ''}; handles ${p.handles.join(',')}`);
  console.log(`  by mapping: ${maps.map(([k, v]) => `${k} ${MiB(v)}`).join(', ')}`);
}

// bare node
{
  const out = path.join(tmp, 'bare.json');
  const child = spawn(process.execPath, ['-r', PROBE, '-e', 'process.stdout.write("up\\n"); setTimeout(() => {}, 60000)'], { env: { ...baseEnv, BENCH_HEAP_OUT: out }, stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((r) => child.stdout.once('data', r));
  await new Promise((r) => setTimeout(r, 200));
  const r = rollup(child.pid);
  const maps = byMapping(child.pid);
  const p = await probe(child.pid, out);
  report('bare node', r, p, maps);
  bareBuiltins = p.builtins;
  child.kill('SIGKILL');
}

for (const spec of values.entry) {
  const [file, flags = ''] = spec.split('|');
  const dir = await mkdtemp(path.join(tmp, 'd-'));
  const cache = path.join(tmp, 'cache');
  const run = async () => {
    const sim = new SimDevice({ profile: 'lcd20x4', keypadMode: 'keys', delimiter: 'LF' });
    const link = await startTcpSim({ device: sim });
    const { file: cfg } = await writeDaemonConfig(dir, link.url, provider.url);
    let shown;
    const urlShown = new Promise((r) => (shown = r));
    sim.on('command', (c) => c.raw.includes(host) && shown());
    const out = path.join(dir, 'heap.json');
    await rm(out, { force: true });
    const child = spawn(process.execPath, ['-r', PROBE, ...flags.split(' ').filter(Boolean), path.resolve(ROOT, file), 'run', '--config', cfg], {
      env: { ...baseEnv, BENCH_HEAP_OUT: out, CACHE_DIRECTORY: cache, PINAUTHD_CONSUMER_KEY: DEMO_CONSUMER.key, PINAUTHD_CONSUMER_SECRET: DEMO_CONSUMER.secret },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    const exited = new Promise((r) => child.once('exit', r));
    await urlShown;
    const r = rollup(child.pid);
    const maps = byMapping(child.pid);
    const p = await probe(child.pid, out);
    child.kill('SIGTERM');
    await exited;
    await link.close();
    return { r, p, maps };
  };
  await run(); // writes the code cache
  const { r, p, maps } = await run();
  report(spec, r, p, maps);
}
await provider.close();
await rm(tmp, { recursive: true, force: true });
