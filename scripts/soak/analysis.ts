/**
 * The soak's figures and bounds, from its samples and per-event records: pure functions, so
 * that the short soak in `npm test` and the long one judge a run the same way.
 */
import type { ResidentParts } from './memory-map.js';

/** One sample of the daemon, taken between events. */
export interface Sample {
  /** Rounds completed (a round is one event of every kind, in a seeded random order). */
  round: number;
  elapsedMs: number;
  /** The machine's 1-minute load average (os.loadavg()) at the sample. */
  load1: number;
  /** Verifications the 1-second timer started so far (background, besides the rounds' events). */
  timerVerifications: number;
  /** Serial port opens after an unplug so far ('device reconnected'). */
  portOpens: number;
  rssBytes: number;
  /** rssBytes by the owner of the pages, from /proc/PID/smaps. */
  resident: ResidentParts;
  fds: number;
  /** V8 heap used right after a forced full GC (scripts/soak/probe.cjs). */
  heapUsed: number;
  /**
   * V8's count of compiled code and bytecode with their metadata (deoptimisation data,
   * relocation info, source positions; v8.getHeapCodeStatistics), the builtins' code outside
   * the heap included: what the JIT adds as functions get hot.
   */
  heapCompiled: number;
  /** After that GC: V8's committed heap, its malloc'd memory, and memory held for JS outside the heap (Buffers). */
  heapCommitted: number;
  malloced: number;
  external: number;
  /** After that GC, per V8 heap space (new_space, old_space, code_space, ...): committed and used bytes. */
  spaces: Record<string, { size: number; used: number }>;
  /** V8 heap used and its size as the collector left them (status --json, no forced GC). */
  heapLive: number;
  heapTotal: number;
  timers: number;
  resources: number;
  /** Event-loop delay p99 of the window since the previous sample. */
  delayP99Ms: number;
  /** ... of every window since the warm-up ended. */
  totalDelayP99Ms: number;
  /** The same two of a bare Node process beside the daemon (scripts/soak/control.cjs): the machine's. */
  machineDelayP99Ms: number;
  totalMachineDelayP99Ms: number;
}

/** What one action cost, summed over its occurrences. */
export interface ActionCost {
  action: string;
  n: number;
  ms: number;
  lines: number;
  writes: number;
  fsyncs: number;
  calls: number;
  /** Verifications started by the timer inside the window (background, not the action's). */
  timerVerifications: number;
  /** Of those, the ones that failed (a provider outage). */
  failedVerifications: number;
}

export interface Figure {
  name: string;
  value: string;
  bound?: string;
  ok?: boolean;
}

export function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Theil-Sen slope: the median of the pairwise slopes (robust to the odd outlier sample). */
export function theilSen(xs: number[], ys: number[]): number {
  const slopes: number[] = [];
  for (let i = 0; i < xs.length; i++) {
    for (let j = i + 1; j < xs.length; j++) if (xs[j] !== xs[i]) slopes.push((ys[j]! - ys[i]!) / (xs[j]! - xs[i]!));
  }
  return median(slopes);
}

const MiB = 1024 * 1024;
const KiB = 1024;
export const mib = (b: number) => `${(b / MiB).toFixed(1)} MiB`;
const kib = (b: number) => `${b >= 0 ? '+' : ''}${(b / KiB).toFixed(0)} KiB`;

export interface Assessment {
  figures: Figure[];
  violations: string[];
}

export interface Bounds {
  /** Growth per 1,000 events of each kind (per 1,000 rounds, per 1,000 timer verifications) of RSS outside V8's heap pages, bytes. */
  rssPer1000Events: number;
  /** Event-loop delay p99 after warm-up, ms; null: reported, not judged. */
  delayP99Ms: number | null;
  /** Whether RSS is judged (the short run is too short for a slope to mean anything). */
  judgeRss: boolean;
  /**
   * How the retained heap is judged: 'snapshots' (long run): the census of two heap
   * snapshots taken rounds apart at the end of the run (HeapDiff), V8's JIT and serialport's
   * Poller leak apart; 'samples' (short run): the heap after a full GC at each sample, last
   * third against first, within its noise + `heapSlackBytes`; false: reported only (no
   * forced collections).
   */
  judgeHeap: 'snapshots' | 'samples' | false;
  /** With judgeHeap 'samples': growth allowed on top of the noise threshold (the short run's slack). */
  heapSlackBytes: number;
  /**
   * fds, timers, resources: 'thirds' (long run): the mean of the last third of the samples
   * after warm-up no more than FLAT_TOLERANCE above the first third's; 'trend' (short run):
   * some sample of the second half no higher than the first half's maximum, which only a
   * steady climb fails.
   */
  flat: 'thirds' | 'trend';
}

export const LONG_BOUNDS: Bounds = { rssPer1000Events: 1 * MiB, delayP99Ms: 50, judgeRss: true, judgeHeap: 'snapshots', heapSlackBytes: 0, flat: 'thirds' };

/** `npm test`'s short soak: structural only, nothing a loaded machine can tip over. */
export const SHORT_BOUNDS: Bounds = { rssPer1000Events: Infinity, delayP99Ms: null, judgeRss: false, judgeHeap: 'samples', heapSlackBytes: 2 * MiB, flat: 'trend' };

/**
 * A leaked descriptor, timer or handle is there in every later sample: it raises the mean of
 * the samples after it by 1. The periodic work (the 1-second verification timer, a reply or
 * the status connection still closing) makes a count flicker between neighbouring values
 * from sample to sample, which moves the mean of a third of the samples by its standard error
 * (~0.05 with 100 samples of a 0/1 flicker; the figure prints it). Half a handle is well above
 * that and below one leaked handle.
 */
export const FLAT_TOLERANCE = 0.5;

/**
 * The JS heap that @serialport/bindings-cpp leaks per port open: the native poller keeps a
 * global handle on its bound callback, which keeps two Poller objects and their properties
 * alive for good (upstream node-serialport #1582; not patched here, see docs/reliability.md).
 * Measured: `heap-diff.ts A B --retained-by Poller` on two snapshots of an `--only unplug`
 * soak 1,397 port opens apart: +2,794 Pollers retaining +492,040 B (176 B each, two per
 * open), plus the 48-byte bound callback. The per-sample heap bound (the short run) takes
 * this much per port open off the growth it judges; the long run's snapshot census measures
 * it in the run itself (HeapDiff.poller).
 */
export const POLLER_BYTES_PER_PORT_OPEN = 2 * 176 + 48;

/**
 * ... and the native part of the same leak, in malloc: the C++ Poller, its uv_poll_t and the
 * N-API references that destroy() never frees. Measured by scripts/soak/poller-cost.ts
 * (resident malloc growth over 50,000 Pollers made and destroyed as a port open and close
 * does): 343 B and 353 B each in runs of 50,000 and 100,000. Stated in the RSS figure, not taken
 * off it.
 */
export const POLLER_NATIVE_BYTES_PER_PORT_OPEN = 350;

/**
 * Two heap snapshots of the daemon taken `rounds` rounds apart after the sampled rounds, at
 * the same moment of its cycle (authorized, right after a verification, after a full GC),
 * split by scripts/soak/heap-diff.ts heapParts: growth in bytes (V8's self sizes) of each part.
 */
export interface HeapDiff {
  rounds: number;
  portOpens: number;
  /** Everything but the two below: the daemon's objects, closures, strings, buffers, hidden classes. */
  ours: number;
  /** V8's compiled code, bytecode, feedback and inline caches, and the dependent-code lists. */
  jit: number;
  /** serialport's Pollers and what only they keep (the known leak per port open). */
  poller: number;
  /** Hidden classes (V8 Maps) among `ours`: one created per event would add one per round. */
  hiddenClasses: number;
  /** The biggest growths among `ours`, by "type name". */
  grew: Array<{ key: string; count: number; bytes: number }>;
  /** The "type name" among `ours` that gained the most objects. */
  mostObjects: { key: string; count: number; bytes: number };
}

/**
 * What `ours` may grow by between the two snapshots, in bytes: what grows once and not per
 * event: two of Buffer's 8 KiB pool slabs (a live slice keeps its whole slab; the serial
 * parser's delimiter is one) and one doubling of an 8 KiB weak-table backing store (Node's
 * DOMException internals, which every AbortSignal.timeout() that fires adds to and the GC
 * empties, but which grows in steps). Over the 60 rounds between the snapshots that is ~550 B
 * per round, half the RSS bound's 1 MiB per 1,000 rounds.
 */
export const HEAP_DIFF_SLACK_BYTES = 32 * KiB;

/**
 * ... and in objects of any one kind ("type name", hidden classes included): fewer than one
 * per round. One object (a closure, a listener, a hidden class) left behind by an event that
 * happens every round adds one per round; what is in flight at either snapshot does not (the
 * timers of AbortSignal.timeout() whose signals V8 has not finalised yet, with their weak
 * cells and contexts: up to ~15 of each; heap numbers: ~30).
 */
export const HEAP_DIFF_OBJECTS_PER_ROUND = 1;

/** Rounds between the long run's two heap snapshots. */
export const HEAP_DIFF_ROUNDS = 60;

const mean = (xs: number[]) => xs.reduce((x, y) => x + y, 0) / xs.length;
const sd = (xs: number[]) => {
  const m = mean(xs);
  return Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / Math.max(1, xs.length - 1));
};

/** V8's young generation (new space) as committed after the sample's GC; NaN without the probe. */
const youngGeneration = (s: Sample) => s.spaces.new_space?.size ?? NaN;

/**
 * V8 sizes its young generation (new space) to the allocation rate: it doubles its committed
 * size in steps when much survives a scavenge, and halves it at a full GC when the daemon
 * allocates little (under ~1 MB/s): a step of megabytes of RSS either way that holds no
 * retained data, and that happens at any time of the run. How often, for the table.
 */
export function youngGenerationSteps(samples: Sample[]): string {
  const young = samples.map(youngGeneration);
  if (!young.some(Number.isFinite)) return 'not measured (no probe)';
  const sizes = [...new Set(young)].sort((x, y) => x - y).map((y) => `${(y / MiB).toFixed(0)} MiB x${young.filter((v) => v === y).length}`);
  const changes = young.filter((y, i) => i > 0 && y !== young[i - 1]).length;
  return `${changes} resizes; samples at each size: ${sizes.join(', ')}`;
}

export interface AssessContext {
  /** Rounds of the time-based warm-up (a tenth of the run, at least 2 minutes). */
  warmupRounds: number;
  /** The long run's snapshot census (judgeHeap 'snapshots'). */
  heapDiff?: HeapDiff | null;
}

/**
 * The judged samples (judgedSamples) in thirds: the first third is the baseline, the last
 * third what the run ended with (the middle third leaves a gap between them).
 */
export function assess(samples: Sample[], bounds: Bounds, ctx: AssessContext): Assessment {
  const figures: Figure[] = [];
  const violations: string[] = [];
  const check = (name: string, value: string, bound: string, ok: boolean) => {
    figures.push({ name, value, bound, ok });
    if (!ok) violations.push(`${name}: ${value} (bound: ${bound})`);
  };
  const report = (name: string, value: string) => figures.push({ name, value });
  const after = samples.filter((s) => s.round > ctx.warmupRounds);
  if (after.length < 6) {
    violations.push(`only ${after.length} samples after warm-up: run longer`);
    return { figures, violations };
  }
  report('V8\'s young generation (new space, committed after the GC) after warm-up', youngGenerationSteps(after));
  const last = after[after.length - 1]!;
  const loads = after.map((s) => s.load1);
  report('machine load: 1-min load average at the samples (above the CPU count, processes wait for a CPU)', `mean ${mean(loads).toFixed(1)}, min ${Math.min(...loads).toFixed(1)}, max ${Math.max(...loads).toFixed(1)}`);

  // RSS, per kind: the rounds carry one event of each of the eight kinds, so its slope against
  // rounds is its growth per 1,000 events of each; the verification timer runs besides, as
  // often as time passes (more of them per round on a slow machine), so its slope is taken
  // against them too. Each slope lays the whole growth at that kind's door: an upper bound.
  const rounds = after.map((s) => s.round);
  const span = last.round - after[0]!.round;
  const verifications = after.map((s) => s.timerVerifications);
  const slopes = (ys: number[]) => {
    const perRound = theilSen(rounds, ys) * 1000;
    // none in an `--only` run without the verify kind's authorized daemon
    const timed = last.timerVerifications > after[0]!.timerVerifications;
    const perVerification = timed ? theilSen(verifications, ys) * 1000 : -Infinity;
    const text = `${kib(perRound)} per 1,000 rounds${timed ? `, ${kib(perVerification)} per 1,000 timer verifications` : ''} (${mib(ys[0]!)} -> ${mib(ys[ys.length - 1]!)} over ${span} rounds, ${last.timerVerifications - after[0]!.timerVerifications} timer verifications)`;
    return { worst: Math.max(perRound, perVerification), text };
  };
  // RSS, by the owner of its pages (/proc/PID/smaps, scripts/soak/memory-map.ts). V8's heap
  // pages hold the young generation, which V8 resizes up and down all through a run and
  // touches page by page as the daemon allocates, the old space and the JIT's code: what lives
  // there is judged object by object by the snapshot census below. What RSS holds besides
  // V8's pages (malloc's arenas, other anonymous memory, file pages) is judged here: a leak of
  // native memory or Buffers grows it. It includes serialport's native Poller per port open
  // (upstream, not patched here), stated in the figure.
  const outsideV8 = (s: Sample) => s.rssBytes - s.resident.v8;
  const perRoundKiB = (f: (s: Sample) => number) => kib(theilSen(rounds, after.map(f)) * 1000);
  const opensPerRound = (last.portOpens - after[0]!.portOpens) / Math.max(1, span);
  const outside = slopes(after.map(outsideV8));
  const parts = `by part, per 1,000 rounds: malloc ${perRoundKiB((s) => s.resident.malloc)}, other anonymous ${perRoundKiB((s) => s.resident.otherAnon)}, file pages ${perRoundKiB((s) => s.resident.file)}; of it serialport's native Poller leak ~${kib(opensPerRound * 1000 * POLLER_NATIVE_BYTES_PER_PORT_OPEN)} (${opensPerRound.toFixed(2)} port opens per round x ${POLLER_NATIVE_BYTES_PER_PORT_OPEN} B)`;
  const rssName = "RSS outside V8's heap pages (malloc, other anonymous memory, file pages; /proc/PID/smaps): growth per 1,000 events of each kind";
  if (bounds.judgeRss) check(rssName, `${outside.text}; ${parts}`, `< ${mib(bounds.rssPer1000Events)}`, outside.worst < bounds.rssPer1000Events);
  else report(rssName, `${outside.text}; ${parts}`);
  report("V8's resident heap pages (not judged here: the census judges what they hold)", slopes(after.map((s) => s.resident.v8)).text);
  report('RSS as measured (V8\'s pages and the rest together)', slopes(after.map((s) => s.rssBytes)).text);

  const third = Math.floor(after.length / 3);
  const firstThird = after.slice(0, third);
  const lastThird = after.slice(-third);
  const thirds = (f: (s: Sample) => number) => {
    const a = firstThird.map(f);
    const b = lastThird.map(f);
    return { a, b, ma: median(a), mb: median(b) };
  };

  // The retained heap at the samples, without what V8 counts as compiled code and without the
  // known Poller leak per port open (stated in the figure). The noise threshold: three
  // standard errors of the difference of the two medians, from the samples' own scatter
  // around their third's median (MAD-based, so the odd sample taken while a reply was in
  // flight does not widen it). V8's code statistics miss what the JIT keeps beside the code
  // (feedback, inline caches, dependent-code lists): the long run judges the heap by the
  // snapshot census instead, and reports this.
  const ours = (s: Sample) => s.heapUsed - s.heapCompiled;
  const data = thirds(ours);
  const residuals = [...data.a.map((h) => h - data.ma), ...data.b.map((h) => h - data.mb)];
  const sigma = 1.4826 * median(residuals.map(Math.abs));
  // standard error of a median ~ 1.2533 sigma / sqrt(n); of the difference of two: * sqrt(2)
  const noise = 3 * 1.2533 * sigma * Math.sqrt(2 / third);
  const opens = median(lastThird.map((s) => s.portOpens)) - median(firstThird.map((s) => s.portOpens));
  const poller = opens * POLLER_BYTES_PER_PORT_OPEN;
  const growth = data.mb - data.ma;
  const heapSlope = theilSen(rounds, after.map(ours)) * 1000;
  const sampledName = 'retained heap after full GC at the samples, compiled code apart: last third vs first third, medians';
  const sampledValue = `${mib(data.ma)} -> ${mib(data.mb)} (${kib(growth)}), of which serialport's Poller leak ${kib(poller)} (${opens} port opens x ${POLLER_BYTES_PER_PORT_OPEN} B); noise threshold ${kib(noise)} (sample sigma ${kib(sigma)}, n=${third}+${third}); slope ${kib(heapSlope)} per 1,000 rounds`;
  if (bounds.judgeHeap === 'samples') check(sampledName, sampledValue, `growth - Poller leak <= noise + ${kib(bounds.heapSlackBytes)}`, growth - poller <= noise + bounds.heapSlackBytes);
  else report(sampledName, sampledValue);
  const code = thirds((s) => s.heapCompiled);
  report('compiled code and bytecode with metadata after full GC (V8 code statistics; the JIT)', `${mib(code.ma)} -> ${mib(code.mb)} (${kib(code.mb - code.ma)}), last third vs first third, medians; slope ${kib(theilSen(rounds, after.map((s) => s.heapCompiled)) * 1000)} per 1,000 rounds`);

  if (bounds.judgeHeap === 'snapshots') {
    const d = ctx.heapDiff;
    const name = 'retained heap between two snapshots after the run (census), V8\'s JIT and serialport\'s Poller leak apart';
    if (!d) check(name, 'no snapshots taken', `growth <= ${kib(HEAP_DIFF_SLACK_BYTES)}`, false);
    else {
      const grew = d.grew.filter((g) => g.bytes > 0).slice(0, 4).map((g) => `${g.key} ${g.count >= 0 ? '+' : ''}${g.count} (${kib(g.bytes)})`).join(', ');
      const most = d.mostObjects;
      const maxObjects = HEAP_DIFF_OBJECTS_PER_ROUND * d.rounds;
      check(
        name,
        `${kib(d.ours)} over ${d.rounds} rounds (biggest: ${grew || 'none'}; most objects: ${most.key} +${most.count}; hidden classes ${d.hiddenClasses >= 0 ? '+' : ''}${d.hiddenClasses}); apart: the JIT ${kib(d.jit)}, the Poller leak ${kib(d.poller)} (${d.portOpens} port opens, ${d.portOpens ? (d.poller / d.portOpens).toFixed(0) : '-'} B each)`,
        `growth <= ${kib(HEAP_DIFF_SLACK_BYTES)}, and < ${maxObjects} objects of any one kind`,
        d.ours <= HEAP_DIFF_SLACK_BYTES && most.count < maxObjects,
      );
    }
  }

  const flat = (name: string, f: (s: Sample) => number) => {
    if (bounds.flat === 'thirds') {
      const { a, b } = thirds(f);
      const rise = mean(b) - mean(a);
      const se = Math.sqrt(sd(a) ** 2 / a.length + sd(b) ** 2 / b.length);
      check(name, `first third mean ${mean(a).toFixed(2)} (${Math.min(...a)}-${Math.max(...a)}), last third mean ${mean(b).toFixed(2)} (${Math.min(...b)}-${Math.max(...b)}): ${rise >= 0 ? '+' : ''}${rise.toFixed(2)}, standard error ${se.toFixed(2)}`, `flat: last third mean <= first third mean + ${FLAT_TOLERANCE}`, rise <= FLAT_TOLERANCE);
      return;
    }
    const values = after.map(f);
    const half = Math.floor(values.length / 2);
    const a = values.slice(0, half);
    const b = values.slice(half);
    check(name, `first half ${Math.min(...a)}-${Math.max(...a)}, second half ${Math.min(...b)}-${Math.max(...b)}`, 'no climb: second half min <= first half max', Math.min(...b) <= Math.max(...a));
  };
  flat('open file descriptors (/proc/PID/fd)', (s) => s.fds);
  flat('active timers (status: activeResources.Timeout)', (s) => s.timers);
  flat('active libuv resources, all types', (s) => s.resources);

  // The machine's delay beside the daemon's: a bare Node process measuring the same way over
  // the same windows (scripts/soak/control.cjs). The bound is on the daemon's alone.
  const worst = (f: (s: Sample) => number) => Math.max(...after.map(f)).toFixed(1);
  const delayText = `${last.totalDelayP99Ms.toFixed(1)} ms (worst window ${worst((s) => s.delayP99Ms)} ms); a bare Node process beside it, same windows: ${last.totalMachineDelayP99Ms.toFixed(1)} ms (worst window ${worst((s) => s.machineDelayP99Ms)} ms)`;
  if (bounds.delayP99Ms !== null) check('event-loop delay p99 after warm-up', delayText, `< ${bounds.delayP99Ms} ms`, last.totalDelayP99Ms < bounds.delayP99Ms);
  else report('event-loop delay p99 after warm-up', delayText);
  return { figures, violations };
}

/** Per-occurrence cost of each action, the background timer verifications taken out. */
export interface PerAction {
  action: string;
  n: number;
  msEach: number;
  lines: number;
  writes: number;
  fsyncs: number;
  calls: number;
}

export function perAction(costs: ActionCost[]): { verification: PerAction; failedVerification: PerAction | null; actions: PerAction[] } {
  const verify = costs.find((c) => c.action === 'verify');
  const per = (c: ActionCost, lines: number, writes: number, fsyncs: number, calls: number, n = c.n): PerAction => ({
    action: c.action,
    n,
    msEach: c.ms / c.n,
    lines: lines / n,
    writes: writes / n,
    fsyncs: fsyncs / n,
    calls: calls / n,
  });
  // One timer verification: everything in the 'verify' windows, per verification there.
  const v = verify && verify.timerVerifications > 0 ? per(verify, verify.lines, verify.writes, verify.fsyncs, verify.calls, verify.timerVerifications) : null;
  const verification = v ?? { action: 'verify', n: 0, msEach: NaN, lines: NaN, writes: NaN, fsyncs: NaN, calls: NaN };
  let failed: PerAction | null = null;
  const actions = costs.map((c) => {
    const ok = c.timerVerifications - c.failedVerifications;
    if (c.action === 'verify') return per(c, c.lines, c.writes, c.fsyncs, c.calls);
    const minus = (x: number, each: number) => x - ok * each;
    return per(c, minus(c.lines, verification.lines), minus(c.writes, verification.writes), minus(c.fsyncs, verification.fsyncs), minus(c.calls, verification.calls));
  });
  // A failed verification: the outage windows' cost per failed verification, the successful
  // ones (the recovery) taken out.
  const outages = costs.filter((c) => c.action.endsWith(':verify') && c.action.startsWith('outage:'));
  const nFailed = outages.reduce((a, c) => a + c.failedVerifications, 0);
  if (nFailed > 0) {
    const sum = (f: (c: ActionCost) => number) => outages.reduce((a, c) => a + f(c), 0);
    const ok = sum((c) => c.timerVerifications - c.failedVerifications);
    failed = {
      action: 'failed verification',
      n: nFailed,
      msEach: NaN,
      lines: (sum((c) => c.lines) - ok * verification.lines) / nFailed,
      writes: (sum((c) => c.writes) - ok * verification.writes) / nFailed,
      fsyncs: (sum((c) => c.fsyncs) - ok * verification.fsyncs) / nFailed,
      calls: (sum((c) => c.calls) - ok * verification.calls) / nFailed,
    };
  }
  return { verification, failedVerification: failed, actions };
}

/** Retries in a day of a verification that keeps failing, at a backoff (machine.ts: full jitter, mean 3/4 of the step). */
export function retriesPerDay(initialMs: number, maxMs: number): number {
  let t = 0;
  let n = 0;
  for (let a = 0; ; a++) {
    t += 0.75 * Math.min(maxMs, initialMs * 2 ** Math.min(a, 30));
    if (t > 86_400_000) return n;
    n++;
  }
}

export interface DayRow {
  scenario: string;
  writes: number;
  fsyncs: number;
  lines: number;
  calls: number;
}

/** The settings a day of a real board is converted at. */
export interface BoardSettings {
  verifyIntervalSec: number;
  backoffInitialMs: number;
  backoffMaxMs: number;
  requestTokenTtlSec: number;
  quietAfterUnusedCodes: number;
}

/**
 * A day of a real board at the default settings (scripts/soak/soak.ts boardDefaults: the
 * config's defaults with the Twitter preset), from the measured per-action costs. The board
 * waiting for a PIN is the 'unattended' window as measured (short codes until it went quiet,
 * then quiet), when the run had one.
 */
export function perDay(p: ReturnType<typeof perAction>, d: BoardSettings): DayRow[] {
  const byName = new Map(p.actions.map((a) => [a.action, a]));
  const scale = (scenario: string, parts: Array<[PerAction | null | undefined, number]>): DayRow => {
    const sum = (f: (a: PerAction) => number) => parts.reduce((acc, [a, k]) => acc + (a ? f(a) * k : NaN), 0);
    return { scenario, writes: sum((a) => a.writes), fsyncs: sum((a) => a.fsyncs), lines: sum((a) => a.lines), calls: sum((a) => a.calls) };
  };
  const verifications = 86_400 / d.verifyIntervalSec;
  const retries = retriesPerDay(d.backoffInitialMs, d.backoffMaxMs);
  const rows = [
    scale(`authorized, quiet: ${verifications} verification(s)`, [[p.verification, verifications]]),
    scale('authorized, + `pinauthd status` every 5 min (288)', [[p.verification, verifications], [byName.get('command:status'), 288]]),
    scale('authorized, + one unplug, one reload, one re-authorization', [[p.verification, verifications], [byName.get('unplug'), 1], [byName.get('reload:changed'), 1], [byName.get('reauth:socket'), 1]]),
    scale(`authorized, provider down all day: ${retries} failed verifications (backoff to ${d.backoffMaxMs / 1000} s)`, [[p.failedVerification, retries]]),
  ];
  const unattended = byName.get('unattended');
  if (unattended) {
    const codes = d.quietAfterUnusedCodes || Math.round(86_400 / d.requestTokenTtlSec);
    const quietAfter = d.quietAfterUnusedCodes ? `, then quiet until a key is pressed (after ${(codes * d.requestTokenTtlSec) / 60} min)` : '';
    rows.push(scale(`waiting for a PIN all day, nobody there: ${codes} codes of ${d.requestTokenTtlSec / 60} min expire unused${quietAfter}`, [[unattended, d.quietAfterUnusedCodes ? 1 : NaN]]));
  }
  return rows;
}
