/**
 * The soak's daemon: the unit's ExecStart (./unit.ts) as a child process, with two additions
 * on its command line that the service never has (docs/reliability.md, "Soak"):
 * `--expose-gc --require scripts/soak/probe.cjs`. Its stdout (pino's JSON lines, what journald
 * would keep) is counted and parsed as it arrives, never kept whole: a long soak writes
 * hundreds of thousands of lines.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { askDaemon, controlSocketPath, type ControlCommand } from '../../src/service/control.js';
import type { DaemonStatus } from '../../src/lifecycle/daemon.js';
import { residentParts, type ResidentParts } from './memory-map.js';
import type { ProcessFigures } from '../../src/service/process-figures.js';
import { ROOT, unitCommand } from './unit.js';

export type HeapSpaces = Record<string, { size: number; used: number }>;
export type LogLine = Record<string, unknown> & { level: number; msg: string };
export type Status = DaemonStatus & { process: ProcessFigures };

/** Event-loop delay figures (./loop-delay.cjs). */
export interface LoopDelay {
  delayP99Ms: number;
  delayMaxMs: number;
  delaySamples: number;
  totalDelayP99Ms: number;
  totalDelaySamples: number;
}

export interface Probe extends LoopDelay {
  seq: number;
  heapUsed: number;
  /** V8's code statistics: code and bytecode with their metadata (deoptimisation data, relocation info, ...). */
  heapCompiled: number;
  heapTotal: number;
  malloced: number;
  external: number;
  /** v8.getHeapSpaceStatistics() after the GC: per space, committed and used bytes. */
  spaces: HeapSpaces;
  snapshot?: string;
}

export interface SoakDaemonOptions {
  dir: string;
  configPath: string;
  storePath: string;
  /** Heap snapshots at these probe numbers, into `dir`. */
  snapshotAt?: number[];
}

const RECENT = 400;
const DISTINCT_MESSAGES = 300;

export class SoakDaemon {
  readonly child: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Log lines (stdout) so far, by level and by message. */
  lines = 0;
  readonly byLevel = new Map<number, number>();
  readonly byMessage = new Map<string, number>();
  /** The state the daemon last logged entering. */
  state = 'starting';
  /** The last lines, for error reports. */
  private readonly recent: string[] = [];
  private stderrTail = '';
  private readonly listeners = new Set<(l: LogLine) => void>();
  private readonly probeOut: string;
  private probes = 0;

  constructor(private readonly opts: SoakDaemonOptions) {
    const unit = unitCommand();
    this.probeOut = path.join(opts.dir, 'probe.json');
    const argv = ['--expose-gc', '--require', path.join(ROOT, 'scripts/soak/probe.cjs'), ...unit.nodeFlags, unit.script, ...unit.args, '--config', opts.configPath];
    // The unit's environment, not the caller's: no PINAUTHD_* or NODE_OPTIONS leaking in.
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      ...unit.env,
      CACHE_DIRECTORY: path.join(opts.dir, 'cache'),
      SOAK_PROBE_OUT: this.probeOut,
      SOAK_PROBE_SNAPSHOTS: opts.dir,
      ...(opts.snapshotAt?.length ? { SOAK_PROBE_SNAPSHOT_AT: opts.snapshotAt.join(',') } : {}),
    };
    this.child = spawn(process.execPath, argv, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let buf = '';
    this.child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      buf += chunk;
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        this.onLine(buf.slice(0, nl));
        buf = buf.slice(nl + 1);
      }
    });
    this.child.stderr!.setEncoding('utf8').on('data', (c: string) => {
      this.stderrTail = (this.stderrTail + c).slice(-4000);
    });
    this.exited = new Promise((resolve) => this.child.once('exit', (code, signal) => resolve({ code, signal })));
  }

  get pid(): number {
    return this.child.pid!;
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  private onLine(text: string): void {
    this.lines++;
    this.recent.push(text);
    if (this.recent.length > RECENT) this.recent.shift();
    let line: LogLine;
    try {
      line = JSON.parse(text) as LogLine;
    } catch {
      return;
    }
    this.byLevel.set(line.level, (this.byLevel.get(line.level) ?? 0) + 1);
    const key = typeof line.event === 'string' ? `${line.msg} (${line.event})` : String(line.msg);
    if (this.byMessage.has(key) || this.byMessage.size < DISTINCT_MESSAGES) this.byMessage.set(key, (this.byMessage.get(key) ?? 0) + 1);
    if (typeof line.msg === 'string' && line.msg.startsWith('state ')) this.state = line.msg.slice(6);
    for (const l of [...this.listeners]) l(line);
  }

  count(message: string): number {
    return this.byMessage.get(message) ?? 0;
  }

  /** The first line from now on that `pred` accepts. */
  waitForLog(pred: (l: LogLine) => boolean, what: string, timeoutMs = 20_000): Promise<LogLine> {
    return new Promise((resolve, reject) => {
      const err = new Error(`timed out waiting for ${what}`);
      const listener = (l: LogLine) => {
        if (!pred(l)) return;
        done();
        resolve(l);
      };
      const onExit = () => {
        done();
        reject(new Error(`the daemon exited while waiting for ${what}\n${this.tail()}`));
      };
      const timer = setTimeout(() => {
        done();
        err.message += ` (state ${this.state})\n${this.tail()}`;
        reject(err);
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.listeners.delete(listener);
        this.child.off('exit', onExit);
      };
      this.listeners.add(listener);
      this.child.once('exit', onExit);
    });
  }

  waitForState(state: string, event?: string, timeoutMs?: number): Promise<LogLine> {
    return this.waitForLog((l) => l.msg === `state ${state}` && (event === undefined || l.event === event), `state ${state}${event ? ` (${event})` : ''}`, timeoutMs);
  }

  tail(): string {
    return `last daemon output:\n${this.recent.slice(-25).join('\n')}\n${this.stderrTail}`;
  }

  ask(cmd: ControlCommand, timeoutMs = 20_000): Promise<{ ok: boolean; result?: unknown; error?: string } | null> {
    return askDaemon(controlSocketPath(this.opts.storePath), cmd, timeoutMs);
  }

  async status(): Promise<Status> {
    const r = await this.ask('status');
    if (!r?.ok) throw new Error(`no status from the daemon: ${JSON.stringify(r)}\n${this.tail()}`);
    return r.result as Status;
  }

  /**
   * The status once no store write is under way: a write the daemon starts without waiting
   * for it (the pending request token it stores while showing the URL) belongs to the event
   * that caused it.
   */
  async settledStatus(): Promise<Status> {
    for (;;) {
      const st = await this.status();
      if (st.process.storeWritesInFlight === 0) return st;
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  /**
   * RSS in bytes, whole and by the owner of its pages (V8's heap, malloc, other anonymous
   * memory, file pages), read from one pass over /proc/PID/smaps so that the parts add up to
   * the whole, and the number of open file descriptors.
   */
  procFigures(): { rssBytes: number; resident: ResidentParts; fds: number } {
    const resident = residentParts(readFileSync(`/proc/${this.pid}/smaps`, 'utf8'));
    const rssBytes = resident.v8 + resident.malloc + resident.otherAnon + resident.file;
    return { rssBytes, resident, fds: readdirSync(`/proc/${this.pid}/fd`).length };
  }

  /** A full GC in the daemon and the heap it leaves (./probe.cjs); `snapshot`: and a heap snapshot. */
  async probe(timeoutMs = 20_000, snapshot = false): Promise<Probe> {
    if (snapshot) await writeFile(`${this.probeOut}.snapshot`, '');
    const seq = ++this.probes;
    this.child.kill('SIGUSR2');
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const text = await readFile(this.probeOut, 'utf8').catch(() => '');
      const p = text ? (JSON.parse(text) as Probe) : null;
      if (p && p.seq >= seq) return p;
      if (!this.alive) throw new Error(`the daemon exited before probe ${seq}\n${this.tail()}`);
      if (Date.now() > deadline) throw new Error(`no answer to probe ${seq} in ${timeoutMs} ms\n${this.tail()}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  /** From the next probe on, the event-loop delay counts towards the run's p99. */
  async warmedUp(): Promise<void> {
    await writeFile(`${this.probeOut}.warm`, '');
  }

  hup(): void {
    this.child.kill('SIGHUP');
  }

  async stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.alive) this.child.kill('SIGTERM');
    const killer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    const r = await this.exited;
    clearTimeout(killer);
    return r;
  }
}

/** ./control.cjs beside the daemon: the event-loop delay a process with no work of its own sees. */
export class ControlProcess {
  private readonly child: ChildProcess;
  private readonly waiting: Array<(d: LoopDelay) => void> = [];

  constructor() {
    this.child = spawn(process.execPath, [path.join(ROOT, 'scripts/soak/control.cjs')], { stdio: ['pipe', 'pipe', 'inherit'] });
    let buf = '';
    this.child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      buf += chunk;
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        this.waiting.shift()?.(JSON.parse(buf.slice(0, nl)) as LoopDelay);
        buf = buf.slice(nl + 1);
      }
    });
  }

  /** Closes its window, as the probe does; `countFromNow`: later windows count towards its total. */
  take(countFromNow: boolean): Promise<LoopDelay> {
    return new Promise((resolve) => {
      this.waiting.push(resolve);
      this.child.stdin!.write(countFromNow ? 'w\n' : 'p\n');
    });
  }

  /** It exits when its stdin ends. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.stdin!.end();
    await exited;
  }
}
