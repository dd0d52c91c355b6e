/**
 * `npm run soak [-- --minutes 30] [--seed N] [--write-doc] [--json FILE] [--snapshots 20,200]`
 * (SOAK_MINUTES and SOAK_SEED work too). Prints the figures, the per-action costs and a day
 * of a real board; exits 1 past a bound. --write-doc puts the figures into
 * docs/reliability.md, between the soak markers (test/reliability/main.ts keeps that block
 * when it rewrites the file).
 */
import { readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { assess, HEAP_DIFF_ROUNDS, LONG_BOUNDS, mib, type Sample } from './analysis.js';
import type { EventKind } from './events.js';
import { runSoak, type SoakResult } from './soak.js';
import { ROOT } from './unit.js';
import { DOC_BEGIN, DOC_END, GROWTH_PROSE, SOAK_PROSE, withSoakBlock } from './doc-block.js';


const USAGE = 'usage: npm run soak -- [--minutes 30] [--seed N] [--write-doc] [--json FILE] [--snapshots N,M] [--keep DIR] [--only KIND,..] [--no-gc] [--sample-every ROUNDS] [--assess RESULT.json] [--doc-from RESULT.json]';

function table(head: string[], rows: Array<Array<string | number>>): string {
  const esc = (v: string | number) => String(v).replace(/\|/g, '\\|');
  return [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.map(esc).join(' | ')} |`)].join('\n');
}

const n1 = (x: number) => (Number.isFinite(x) ? (Math.abs(x) >= 100 ? x.toFixed(0) : x.toFixed(2)) : '-');

export function render(r: SoakResult, minutes: number): string {
  const events = r.rounds * r.kinds;
  const status = r.assessment.violations.length === 0 ? 'all bounds held' : `${r.assessment.violations.length} BOUND(S) EXCEEDED`;
  const head = `Soak: ${r.rounds} rounds x ${r.kinds} event kinds = ${events} events in ${(r.elapsedMs / 60000).toFixed(1)} min (asked: ${minutes} min), seed ${r.seed}, warm-up ${r.warmupRounds} rounds, ${r.samples.length} samples; Node ${process.version}, ${os.availableParallelism()} CPUs; ${status}.`;
  const bounds = table(
    ['figure', 'value', 'bound', ''],
    r.assessment.figures.map((f) => [f.name, f.value, f.bound ?? '', f.ok === undefined ? '' : f.ok ? 'ok' : 'EXCEEDED']),
  );
  const s0 = r.samples.find((s) => s.round > r.warmupRounds) ?? r.samples[0]!;
  const sN = r.samples[r.samples.length - 1]!;
  const three = (f: (s: Sample) => number) => `${mib(f(r.samples[0]!))} -> ${mib(f(s0))} -> ${mib(f(sN))}`;
  const space = (name: string) => (s: Sample) => s.spaces[name]?.size ?? NaN;
  const journey = `First sample -> after warm-up (round ${s0.round}) -> end: RSS ${three((s) => s.rssBytes)}: V8's heap pages ${three((s) => s.resident.v8)}, malloc ${three((s) => s.resident.malloc)}, other anonymous ${three((s) => s.resident.otherAnon)}, file pages ${three((s) => s.resident.file)}; V8 heap used after full GC ${three((s) => s.heapUsed)}, of it compiled code ${three((s) => s.heapCompiled)}; V8 committed ${three((s) => s.heapCommitted)}: young generation ${three(space('new_space'))}, old space ${three(space('old_space'))}, code space ${three(space('code_space'))}; fds ${s0.fds} -> ${sN.fds}; timers ${s0.timers} -> ${sN.timers}; ${sN.timerVerifications} timer verifications, ${sN.portOpens} port opens.`;
  const pa = r.perAction;
  const actions = table(
    ['action', 'times', 'ms each', 'log lines', 'store writes', 'fsyncs', 'provider calls'],
    [...pa.actions, ...(pa.failedVerification ? [pa.failedVerification] : [])].map((a) => [a.action, a.n, n1(a.msEach), n1(a.lines), n1(a.writes), n1(a.fsyncs), n1(a.calls)]),
  );
  const day = table(
    ['a day of a real board (default settings)', 'store writes', 'fsyncs', 'log lines', 'provider calls'],
    r.perDay.map((d) => [d.scenario, n1(d.writes), n1(d.fsyncs), n1(d.lines), n1(d.calls)]),
  );
  const calls = Object.entries(r.providerCalls).filter(([, v]) => v > 0).map(([k, v]) => `${k} ${v}`).join(', ');
  return `${head}\n\n${bounds}\n\n${journey}\n\nPer action (background timer verifications taken out of every action but "verify"):\n\n${actions}\n\n${day}\n\nProvider calls in all: ${calls}. Log lines in all: ${Object.entries(r.logLevels).map(([l, n]) => `level ${l}: ${n}`).join(', ')}.\n`;
}

async function writeDoc(text: string): Promise<void> {
  const file = path.join(ROOT, 'docs/reliability.md');
  const block = `${DOC_BEGIN}\n${SOAK_PROSE}\n${GROWTH_PROSE}\n### Latest run\n\n${text}${DOC_END}`;
  await writeFile(file, withSoakBlock(await readFile(file, 'utf8'), block));
}

async function main(): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        minutes: { type: 'string' },
        seed: { type: 'string' },
        'write-doc': { type: 'boolean' },
        json: { type: 'string' },
        snapshots: { type: 'string' },
        keep: { type: 'string' },
        only: { type: 'string' },
        'no-gc': { type: 'boolean' },
        'sample-every': { type: 'string' },
        'doc-from': { type: 'string' },
        assess: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }));
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const minutes = Number(values.minutes ?? process.env.SOAK_MINUTES ?? '30');
  const seed = Number(values.seed ?? process.env.SOAK_SEED ?? String(Date.now() % 1_000_000));
  if (!(minutes > 0) || !Number.isInteger(seed)) {
    process.stderr.write(`bad --minutes or --seed\n${USAGE}\n`);
    return 2;
  }
  const saved = values['doc-from'] ?? values.assess;
  if (saved) {
    // A run saved with --json, judged again by this checkout's analysis (the samples and the
    // snapshot census are in the file); --doc-from also writes its block into the doc.
    const r = JSON.parse(await readFile(saved, 'utf8')) as SoakResult;
    const exitViolations = r.assessment.violations.filter((v) => v.startsWith('the daemon exited') || v.includes('error/fatal log lines'));
    r.assessment = assess(r.samples, LONG_BOUNDS, { warmupRounds: r.warmupRounds, heapDiff: r.heapDiff ?? null });
    r.assessment.violations.push(...exitViolations);
    const text = render(r, Math.round(r.elapsedMs / 60_000)) + r.assessment.violations.map((v) => `\nBOUND EXCEEDED: ${v}\n`).join('');
    process.stdout.write(text);
    if (values['doc-from']) {
      await writeDoc(text);
      process.stdout.write(`wrote the figures of ${saved} into docs/reliability.md\n`);
    }
    return r.assessment.violations.length ? 1 : 0;
  }
  const durationMs = minutes * 60_000;
  // The heap and V8's caches settle in the first minutes; a tenth of the run, at least two minutes.
  const warmupMs = Math.max(120_000, durationMs / 10);
  process.stdout.write(`soak: ${minutes} min, seed ${seed} (SOAK_SEED=${seed} replays the order of events), warm-up ${(warmupMs / 60000).toFixed(1)} min\n`);
  // Ctrl-C ends the rounds and reports what the run has (the daemon is stopped, not left
  // behind); a second one leaves at once.
  const stop = new AbortController();
  process.on('SIGINT', () => {
    if (stop.signal.aborted) process.exit(130);
    process.stdout.write('\nsoak: stopping after this round (Ctrl-C again to leave at once)\n');
    stop.abort();
  });
  const snapshotAt = values.snapshots?.split(',').map(Number).filter((x) => x > 0);
  const result = await runSoak({
    seed,
    durationMs,
    inWarmup: (_rounds, elapsed) => elapsed < warmupMs,
    // `--only` takes no snapshots: its heap is judged at the samples (the Poller leak at its measured size).
    bounds: values.only ? { ...LONG_BOUNDS, judgeHeap: 'samples' } : LONG_BOUNDS,
    signal: stop.signal,
    ...(snapshotAt?.length ? { snapshotAt } : {}),
    ...(values.keep ? { keepDir: path.resolve(values.keep) } : {}),
    // --only: a diagnostic of some kinds; the unattended board belongs to the full run.
    // The snapshot census needs the daemon authorized now and then (every full run is).
    ...(values.only ? { kinds: values.only.split(',') as EventKind[] } : { unattended: true, heapDiffRounds: values['no-gc'] ? 0 : HEAP_DIFF_ROUNDS }),
    ...(values['no-gc'] ? { forceGc: false } : {}),
    sampleEvery: Number(values['sample-every'] ?? '1'),
    onSample: (s, events) => {
      if (s.round % 10 === 0) {
        process.stdout.write(`  ${(s.elapsedMs / 1000).toFixed(0).padStart(5)} s  ${String(events).padStart(6)} events  RSS ${mib(s.rssBytes)} (V8 ${mib(s.resident.v8)}, malloc ${mib(s.resident.malloc)}, other anon ${mib(s.resident.otherAnon)}, file ${mib(s.resident.file)})  heap ${mib(s.heapUsed)} (compiled ${mib(s.heapCompiled)}; live ${mib(s.heapLive)} of ${mib(s.heapTotal)})  fds ${s.fds}  timers ${s.timers}  delay p99 ${s.delayP99Ms.toFixed(1)} ms (machine ${s.machineDelayP99Ms.toFixed(1)})  load ${s.load1.toFixed(1)}\n`);
      }
    },
  });
  const text = render(result, minutes);
  process.stdout.write(`\n${text}`);
  for (const v of result.assessment.violations) process.stdout.write(`BOUND EXCEEDED: ${v}\n`);
  if (values.json) await writeFile(values.json, JSON.stringify(result, null, 1));
  if (values['write-doc']) {
    // A run past a bound is written too, saying so: the doc shows what was measured.
    await writeDoc(text + result.assessment.violations.map((v) => `\nBOUND EXCEEDED: ${v}\n`).join(''));
    process.stdout.write('wrote the soak figures into docs/reliability.md\n');
  }
  return result.assessment.violations.length ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`soak failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  },
);
