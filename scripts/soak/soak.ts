/**
 * The soak (issue 15): the daemon as the unit runs it, against the local provider and the
 * simulated pinpad on a real PTY, through thousands of rounds of events (./events.ts: one
 * of every kind per round, in a seeded random order), with the periodic work compressed
 * (verification every second, backoffs and reconnects in tens of ms). Between rounds it
 * samples the daemon from outside; ./analysis.ts turns the samples into figures and bounds.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { SimDevice } from '../../firmware-sim/device.js';
import { startPtySim } from '../../firmware-sim/pty.js';
import { DEMO_CONSUMER, startLocalProvider, type LocalProvider } from '../../local-provider/provider.js';
import { resolveConfig } from '../../src/config/load.js';
import { assess, perAction, perDay, type ActionCost, type BoardSettings, type Assessment, type Bounds, type DayRow, type HeapDiff, type Sample } from './analysis.js';
import { ControlProcess, SoakDaemon } from './daemon.js';
import { EVENT_KINDS, prepare, prepareUnattended, providerCalls, quietMoment, type EventKind, type Preparation, type SoakWorld } from './events.js';
import { heapGrowth, heapParts } from './heap-diff.js';

export interface SoakOptions {
  seed: number;
  /** Stop after this many rounds, or when `durationMs` has passed, whichever comes first. */
  rounds?: number;
  durationMs?: number;
  /** Rounds whose samples do not count (the heap and caches settle). */
  inWarmup: (roundsSoFar: number, elapsedMs: number) => boolean;
  bounds: Bounds;
  /** The kinds to run (default all); `--only verify` is the scenario. */
  kinds?: readonly EventKind[];
  /** A sample every this many rounds (default 1). */
  sampleEvery?: number;
  /**
   * false: no forced GC (no probe), to watch the collector at its own pace; the heap figures
   * are then V8's live heap at the sample, and no bound on it is judged.
   */
  forceGc?: boolean;
  /** Heap snapshots at these sample numbers (for scripts/soak/heap-diff.ts); kept in `keepDir`. */
  snapshotAt?: number[];
  /**
   * After the sampled rounds, a heap snapshot, this many more rounds, another snapshot: the
   * census the long run judges the retained heap by (analysis.ts HeapDiff). 0: none.
   */
  heapDiffRounds?: number;
  keepDir?: string;
  onSample?: (s: Sample, eventsSoFar: number) => void;
  /** Ends the rounds early (Ctrl-C): the run is judged and reported on what it has. */
  signal?: AbortSignal;
  /** After the rounds, a board waiting for a PIN with nobody there (./events.ts prepareUnattended; ~1 min). */
  unattended?: boolean;
}

export interface SoakResult {
  seed: number;
  /** Event kinds per round. */
  kinds: number;
  rounds: number;
  elapsedMs: number;
  warmupRounds: number;
  samples: Sample[];
  heapDiff: HeapDiff | null;
  costs: ActionCost[];
  assessment: Assessment;
  perAction: ReturnType<typeof perAction>;
  perDay: DayRow[];
  logLevels: Record<string, number>;
  messages: Record<string, number>;
  providerCalls: Record<string, number>;
  /** The daemon's exit after SIGTERM (0 expected). */
  exit: { code: number | null; signal: string | null };
}

/** Deterministic random numbers (mulberry32). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * The settings of a real board the per-day figures stand for: the config loader's defaults
 * (config/schema.ts) with the Twitter preset (its 15-minute request tokens, as the local one).
 */
export function boardDefaults(): BoardSettings {
  const c = resolveConfig({ provider: { preset: 'twitter' }, display: { port: '/dev/pinpad' } }, { env: {}, requireSecrets: false });
  const d = c.daemon;
  return { verifyIntervalSec: d.verifyIntervalSec, backoffInitialMs: d.backoff.initialMs, backoffMaxMs: d.backoff.maxMs, requestTokenTtlSec: c.provider.requestTokenTtlSec, quietAfterUnusedCodes: d.quietAfterUnusedCodes };
}

export async function runSoak(opts: SoakOptions): Promise<SoakResult> {
  const dir = opts.keepDir ?? (await mkdtemp(path.join(os.tmpdir(), 'pinauthd-soak-')));
  await mkdir(path.join(dir, 'cache'), { recursive: true });
  const random = rng(opts.seed);
  const provider = await startLocalProvider({ host: '127.0.0.1', port: 0 });
  const sim = new SimDevice({ profile: 'lcd20x4', keypadMode: 'keys', delimiter: 'LF' });
  const link = await startPtySim({ device: sim, dir });
  const storePath = path.join(dir, 'state', 'tokens.json');
  const configPath = path.join(dir, 'config.json');
  const config: Record<string, any> = {
    provider: { preset: 'local', baseUrl: provider.url, timeoutMs: 2000 },
    credentials: { consumerKey: DEMO_CONSUMER.key, consumerSecret: DEMO_CONSUMER.secret },
    store: { path: storePath },
    display: { driver: 'pinpad', port: link.hostPath, cols: 20, rows: 4 },
    keypad: { mode: 'keys' },
    // Compressed: the schema's (and the local preset's) minimum verification interval, and
    // backoffs in tens of ms. The log level is the unit's default (info).
    daemon: { verifyIntervalSec: 1, backoff: { initialMs: 50, maxMs: 400 }, reconnect: { initialMs: 20, maxMs: 200 } },
  };
  await writeFile(configPath, JSON.stringify(config));

  let daemon: SoakDaemon | null = null;
  const control = opts.forceGc === false ? null : new ControlProcess();
  try {
    daemon = new SoakDaemon({ dir, configPath, storePath, ...(opts.snapshotAt ? { snapshotAt: opts.snapshotAt } : {}) });
    const w: SoakWorld = { daemon, provider, sim, link, configPath, cacheDir: path.join(dir, 'cache'), config, random };
    await daemon.waitForLog((l) => l.msg === 'state awaiting_pin', 'the first URL', 30_000);

    const started = Date.now();
    const costs = new Map<string, ActionCost>();
    const samples: Sample[] = [];
    let warmupRounds = 0;
    let warm = false;
    let round = 0;
    const timerVerifications = () => daemon!.count('state verifying (timer)');
    const failedVerifications = () => daemon!.count('state authorized (verify_failed)');
    /** Runs an event and adds what it cost to its action's figures. */
    const measure = async (ready: Preparation) => {
      const before = await daemon!.settledStatus();
      const b = { lines: daemon!.lines, calls: providerCalls(provider), tv: timerVerifications(), fv: failedVerifications(), t: Date.now() };
      const action = await ready.run();
      const after = await daemon!.settledStatus();
      const c = costs.get(action) ?? { action, n: 0, ms: 0, lines: 0, writes: 0, fsyncs: 0, calls: 0, timerVerifications: 0, failedVerifications: 0 };
      c.n++;
      c.ms += Date.now() - b.t;
      c.lines += daemon!.lines - b.lines;
      c.writes += after.process.storeWrites - before.process.storeWrites;
      c.fsyncs += after.process.storeFsyncs - before.process.storeFsyncs;
      c.calls += providerCalls(provider) - b.calls;
      c.timerVerifications += timerVerifications() - b.tv;
      c.failedVerifications += failedVerifications() - b.fv;
      costs.set(action, c);
    };
    const due = () => !opts.signal?.aborted && (opts.rounds === undefined || round < opts.rounds) && (opts.durationMs === undefined || Date.now() - started < opts.durationMs);
    const kinds = opts.kinds ?? EVENT_KINDS;
    /** One event of every kind, in a seeded random order. */
    const playRound = async () => {
      const order = [...kinds];
      for (let i = order.length - 1; i > 0; i--) {
        const j = Math.floor(random() * (i + 1));
        [order[i], order[j]] = [order[j]!, order[i]!];
      }
      for (const kind of order) await measure(await prepare(kind, w));
    };
    while (due()) {
      await playRound();
      round++;
      if (!warm && opts.inWarmup(round, Date.now() - started)) warmupRounds = round;
      else if (!warm) {
        warm = true;
        await daemon.warmedUp();
      }
      if (round % (opts.sampleEvery ?? 1) !== 0) continue;
      const st = await daemon.status();
      const [probe, machine] = await Promise.all([opts.forceGc === false ? null : daemon.probe(), control?.take(warm)]);
      // After the probe's GC: RSS at the moment the heap figures describe.
      const proc = daemon.procFigures();
      const resources = st.process.activeResources;
      const s: Sample = {
        round,
        elapsedMs: Date.now() - started,
        load1: os.loadavg()[0]!,
        timerVerifications: timerVerifications(),
        portOpens: daemon.count('device reconnected'),
        rssBytes: proc.rssBytes,
        resident: proc.resident,
        fds: proc.fds,
        heapUsed: probe?.heapUsed ?? st.process.heapUsedBytes,
        heapCompiled: probe?.heapCompiled ?? NaN,
        heapCommitted: probe?.heapTotal ?? NaN,
        malloced: probe?.malloced ?? NaN,
        external: probe?.external ?? NaN,
        spaces: probe?.spaces ?? {},
        heapLive: st.process.heapUsedBytes,
        heapTotal: st.process.heapTotalBytes,
        timers: resources.Timeout ?? 0,
        resources: Object.values(resources).reduce((a, n) => a + n, 0),
        delayP99Ms: probe?.delayP99Ms ?? NaN,
        totalDelayP99Ms: probe?.totalDelayP99Ms ?? NaN,
        machineDelayP99Ms: machine?.delayP99Ms ?? NaN,
        totalMachineDelayP99Ms: machine?.totalDelayP99Ms ?? NaN,
      };
      samples.push(s);
      opts.onSample?.(s, round * kinds.length);
    }
    const elapsedMs = Date.now() - started;
    let heapDiff: HeapDiff | null = null;
    if (opts.heapDiffRounds && !opts.signal?.aborted) {
      // Both at the same moment of the daemon's cycle (authorized, a verification just done,
      // nothing in flight), after the probe's full GC; parsed one at a time (~10 MB each).
      const snapshot = async () => {
        await quietMoment(w);
        const file = (await daemon!.probe(120_000, true)).snapshot;
        if (!file) throw new Error('the probe took no heap snapshot');
        return heapParts(file);
      };
      const a = await snapshot();
      const opens = daemon.count('device reconnected');
      // A probe (its full GC) after every round, as in the sampled rounds: the collector's pace
      // between the snapshots is the one before them.
      for (let i = 0; i < opts.heapDiffRounds; i++) {
        await playRound();
        await daemon.probe();
      }
      const opened = daemon.count('device reconnected') - opens;
      heapDiff = heapGrowth(a, await snapshot(), opts.heapDiffRounds, opened);
    }
    const board = boardDefaults();
    if (opts.unattended) await measure(await prepareUnattended(w, board.quietAfterUnusedCodes));
    const bounds = opts.forceGc === false ? { ...opts.bounds, judgeHeap: false as const, judgeRss: false, delayP99Ms: null } : opts.bounds;
    const assessment = assess(samples, bounds, { warmupRounds, heapDiff });
    const pa = perAction([...costs.values()].sort((x, y) => x.action.localeCompare(y.action)));
    const stats = provider.stats();
    const exit = await daemon.stop();
    if (exit.code !== 0) assessment.violations.push(`the daemon exited ${exit.code ?? exit.signal} on SIGTERM\n${daemon.tail()}`);
    const errors = (daemon.byLevel.get(50) ?? 0) + (daemon.byLevel.get(60) ?? 0);
    const expectedErrors = daemon.count('device unavailable; retrying') + daemon.count('config reload failed; keeping the old config');
    if (errors !== expectedErrors) assessment.violations.push(`${errors - expectedErrors} error/fatal log lines besides unplugs and refused reloads`);
    return {
      seed: opts.seed,
      kinds: kinds.length,
      rounds: round,
      elapsedMs,
      warmupRounds,
      samples,
      heapDiff,
      costs: [...costs.values()],
      assessment,
      perAction: pa,
      perDay: perDay(pa, board),
      logLevels: Object.fromEntries([...daemon.byLevel].map(([k, v]) => [String(k), v])),
      messages: Object.fromEntries(daemon.byMessage),
      providerCalls: Object.fromEntries(Object.entries(stats).map(([k, v]) => [k, v.requests])),
      exit: { code: exit.code, signal: exit.signal },
    };
  } finally {
    await control?.stop();
    if (daemon?.alive) await daemon.stop();
    await link.close();
    await provider.close();
    if (!opts.keepDir) await rm(dir, { recursive: true, force: true });
  }
}
