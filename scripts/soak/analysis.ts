/**
 * The soak's figures and bounds, from its samples and per-event records: pure functions, so
 * that the short soak in `npm test` and the long one judge a run the same way.
 */

/** One sample of the daemon, taken between events. */
export interface Sample {
  /** Rounds completed (a round is one event of every kind, in a seeded random order). */
  round: number;
  elapsedMs: number;
  rssBytes: number;
  fds: number;
  /** V8 heap used right after a forced full GC (scripts/soak/probe.cjs). */
  heapUsed: number;
  /** V8 heap used and its size as the collector left them (status --json, no forced GC). */
  heapLive: number;
  heapTotal: number;
  timers: number;
  resources: number;
  /** Event-loop delay p99 of the window since the previous sample. */
  delayP99Ms: number;
  /** ... of every window since the warm-up ended. */
  totalDelayP99Ms: number;
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
  /** RSS growth per 1,000 events of each kind (per 1,000 rounds), bytes. */
  rssPer1000Rounds: number;
  /** Event-loop delay p99 after warm-up, ms; null: reported, not judged. */
  delayP99Ms: number | null;
  /** Retained-heap growth allowed on top of the noise threshold (the short run's slack). */
  heapSlackBytes: number;
  /** Whether RSS is judged (the short run is too short for a slope to mean anything). */
  judgeRss: boolean;
  /** Whether the retained heap is judged (not without forced collections). */
  judgeHeap?: boolean;
  /**
   * fds, timers, resources: 'floor' (long run): the second half's minimum and median no higher
   * than the first half's; 'trend' (short run): some sample of the second half no higher than
   * the first half's maximum, which only a steady climb fails.
   */
  flat: 'floor' | 'trend';
}

export const LONG_BOUNDS: Bounds = { rssPer1000Rounds: 1 * MiB, delayP99Ms: 50, heapSlackBytes: 0, judgeRss: true, flat: 'floor' };

/** `npm test`'s short soak: structural only, nothing a loaded machine can tip over. */
export const SHORT_BOUNDS: Bounds = { rssPer1000Rounds: Infinity, delayP99Ms: null, heapSlackBytes: 2 * MiB, judgeRss: false, flat: 'trend' };

/**
 * `after`: the samples after warm-up. Thirds: the retained heap's median in the last third
 * against the first; the noise threshold is three standard errors of that difference,
 * estimated from the samples' own scatter around their third's median (MAD-based, so one
 * sample taken while a reply was in flight does not widen it).
 */
export function assess(after: Sample[], totalDelayP99Ms: number, bounds: Bounds): Assessment {
  const figures: Figure[] = [];
  const violations: string[] = [];
  const check = (name: string, value: string, bound: string, ok: boolean) => {
    figures.push({ name, value, bound, ok });
    if (!ok) violations.push(`${name}: ${value} (bound: ${bound})`);
  };
  if (after.length < 6) {
    violations.push(`only ${after.length} samples after warm-up: run longer`);
    return { figures, violations };
  }
  const rounds = after.map((s) => s.round);
  const span = rounds[rounds.length - 1]! - rounds[0]!;

  const rssSlope = theilSen(rounds, after.map((s) => s.rssBytes)) * 1000;
  const rssText = `${kib(rssSlope)} per 1,000 rounds (${mib(after[0]!.rssBytes)} -> ${mib(after[after.length - 1]!.rssBytes)} over ${span} rounds)`;
  if (bounds.judgeRss) check('RSS growth per 1,000 events of each kind', rssText, `< ${mib(bounds.rssPer1000Rounds)}`, rssSlope < bounds.rssPer1000Rounds);
  else figures.push({ name: 'RSS growth per 1,000 events of each kind', value: rssText });

  const third = Math.floor(after.length / 3);
  const first = after.slice(0, third).map((s) => s.heapUsed);
  const last = after.slice(-third).map((s) => s.heapUsed);
  const mFirst = median(first);
  const mLast = median(last);
  const residuals = [...first.map((h) => h - mFirst), ...last.map((h) => h - mLast)];
  const sigma = 1.4826 * median(residuals.map(Math.abs));
  // standard error of a median ~ 1.2533 sigma / sqrt(n); of the difference of two: * sqrt(2)
  const noise = 3 * 1.2533 * sigma * Math.sqrt(2 / third);
  const growth = mLast - mFirst;
  const heapSlope = theilSen(rounds, after.map((s) => s.heapUsed)) * 1000;
  (bounds.judgeHeap === false ? (name: string, value: string) => figures.push({ name, value }) : check)(
    'retained heap (after full GC): last third vs first third, medians',
    `${mib(mFirst)} -> ${mib(mLast)} (${kib(growth)}); noise threshold ${kib(noise)} (sample sigma ${kib(sigma)}, n=${third}+${third}); slope ${kib(heapSlope)} per 1,000 rounds`,
    bounds.heapSlackBytes ? `<= noise + ${kib(bounds.heapSlackBytes)}` : '<= noise (zero growth)',
    growth <= noise + bounds.heapSlackBytes,
  );

  // A leak raises the floor: a descriptor or timer that is never released is there in every
  // later sample, and adds 1 to the mean of the samples after it. The odd sample taken while a
  // reply or the status connection was still closing is not one (those move the mean by ~0.1).
  const flat = (name: string, values: number[]) => {
    const half = Math.floor(values.length / 2);
    const a = values.slice(0, half);
    const b = values.slice(half);
    const mean = (xs: number[]) => xs.reduce((x, y) => x + y, 0) / xs.length;
    const ok = bounds.flat === 'floor' ? Math.min(...b) <= Math.min(...a) && mean(b) <= mean(a) + 0.5 : Math.min(...b) <= Math.max(...a);
    const rule = bounds.flat === 'floor' ? 'flat: second half min <= first half min, mean <= first half mean + 0.5' : 'no climb: second half min <= first half max';
    check(name, `first half min ${Math.min(...a)} mean ${mean(a).toFixed(2)} max ${Math.max(...a)}; second half min ${Math.min(...b)} mean ${mean(b).toFixed(2)} max ${Math.max(...b)}`, rule, ok);
  };
  flat('open file descriptors (/proc/PID/fd)', after.map((s) => s.fds));
  flat('active timers (status: activeResources.Timeout)', after.map((s) => s.timers));
  flat('active libuv resources, all types', after.map((s) => s.resources));

  const worstWindow = Math.max(...after.map((s) => s.delayP99Ms));
  const delayText = `${totalDelayP99Ms.toFixed(1)} ms (worst ${after.length}-sample window p99 ${worstWindow.toFixed(1)} ms)`;
  if (bounds.delayP99Ms !== null) check('event-loop delay p99 after warm-up', delayText, `< ${bounds.delayP99Ms} ms`, totalDelayP99Ms < bounds.delayP99Ms);
  else figures.push({ name: 'event-loop delay p99 after warm-up', value: delayText });
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

/**
 * A day of a real board at the default settings (config/schema.ts: verifyIntervalSec 86400,
 * backoff 1 s .. 300 s; the local preset's request-token TTL of 900 s, as Twitter's), from
 * the measured per-action costs.
 */
export function perDay(p: ReturnType<typeof perAction>, defaults: { verifyIntervalSec: number; backoffInitialMs: number; backoffMaxMs: number; requestTokenTtlSec: number }): DayRow[] {
  const byName = new Map(p.actions.map((a) => [a.action, a]));
  const scale = (scenario: string, parts: Array<[PerAction | null | undefined, number]>): DayRow => {
    const sum = (f: (a: PerAction) => number) => parts.reduce((acc, [a, k]) => acc + (a ? f(a) * k : NaN), 0);
    return { scenario, writes: sum((a) => a.writes), fsyncs: sum((a) => a.fsyncs), lines: sum((a) => a.lines), calls: sum((a) => a.calls) };
  };
  const verifications = 86_400 / defaults.verifyIntervalSec;
  const retries = retriesPerDay(defaults.backoffInitialMs, defaults.backoffMaxMs);
  const refreshes = 86_400 / defaults.requestTokenTtlSec;
  return [
    scale(`authorized, quiet: ${verifications} verification(s)`, [[p.verification, verifications]]),
    scale('authorized, + `pinauthd status` every 5 min (288)', [[p.verification, verifications], [byName.get('command:status'), 288]]),
    scale('authorized, + one unplug, one reload, one re-authorization', [[p.verification, verifications], [byName.get('unplug'), 1], [byName.get('reload:changed'), 1], [byName.get('reauth:socket'), 1]]),
    scale(`authorized, provider down all day: ${retries} failed verifications (backoff to ${defaults.backoffMaxMs / 1000} s)`, [[p.failedVerification, retries]]),
    scale(`waiting for a PIN all day: the code expires every ${defaults.requestTokenTtlSec} s (${refreshes} new codes)`, [[byName.get('expiry:keypad'), refreshes]]),
  ];
}
