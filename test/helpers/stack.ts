/**
 * Integration harness: the real daemon as a child process, started exactly as the systemd
 * unit starts it (the node flags and script of its ExecStart: the bundle's loader,
 * dist/pinauthd-start.cjs, with a code cache in the stack's own directory as in
 * CacheDirectory=), the firmware simulator on a real PTY (socat) or TCP, and the local
 * provider on 127.0.0.1. Tests drive the keypad through the simulator and read its screen, exactly as a
 * person would with hardware.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { after } from 'node:test';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SimDevice, type SimProfile } from '../../firmware-sim/device.js';
import { startFifoNumpad, type FifoNumpad } from '../../firmware-sim/numpad.js';
import type { SimPanel } from '../../firmware-sim/panel.js';
import { createPanel, daemonDeviceConfig, needsNumpad, type PanelProfile } from '../../firmware-sim/profiles.js';
import { startPtySim, type PtyDevice, type PtySim } from '../../firmware-sim/pty.js';
import { startTcpSim, type TcpSim } from '../../firmware-sim/tcp.js';
import { startLocalProvider, type LocalProvider, type LocalProviderOptions } from '../../local-provider/provider.js';
import { askDaemon, controlSocketPath } from '../../src/service/control.js';
import type { DaemonStatus } from '../../src/lifecycle/daemon.js';
import { unitCommand } from '../../scripts/soak/unit.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const BUNDLE = path.join(ROOT, 'dist/pinauthd.cjs');

/** The node flags between the node binary and the script on the unit's ExecStart line. */
export function unitNodeFlags(unitText?: string): string[] {
  return unitCommand(unitText).nodeFlags;
}

/** The script the unit runs, in this checkout's dist/ (/opt/pinauthd/dist/X -> dist/X). */
export function unitScript(unitText?: string): string {
  return unitCommand(unitText).script;
}

/** What node runs before pinauthd's arguments: the unit's flags and script, what ships. */
export const DAEMON_ENTRY: readonly string[] = [...unitNodeFlags(), unitScript()];
export const DEMO_KEY = 'pinauthd-demo-key';
export const DEMO_SECRET = 'pinauthd-demo-secret';

/** A device the daemon talks to over the PTY, with a screen to read: SimDevice, or an emulated board. */
export type StackDevice = PtyDevice & {
  screenText(): string[];
  on(event: 'screen', listener: (rows: string[]) => void): unknown;
  off(event: 'screen', listener: (rows: string[]) => void): unknown;
};

export interface StackOptions<D extends StackDevice = SimDevice> {
  /** The device on the PTY; a SimDevice of `profile` when absent. */
  device?: D;
  profile?: SimProfile;
  keypadMode?: 'keys' | 'line';
  transport?: 'pty' | 'tcp';
  provider?: Partial<LocalProviderOptions>;
  /** Change the config file before it is written. */
  config?: (cfg: Record<string, any>) => void;
  logLevel?: string;
}

export type LogLine = Record<string, unknown> & { msg?: string; level?: number };

export class DaemonProcess {
  readonly child: ChildProcess;
  readonly lines: string[] = [];
  readonly stderr: string[] = [];
  readonly exited: Promise<number | null>;
  private waiters: Array<() => void> = [];

  /** stdout after the last newline (a prompt). */
  partial = '';

  /**
   * `entry`: what node runs before pinauthd's arguments (default: what the unit runs).
   * `wrap`: a command that execs node in its place (`nsenter --net=...`), so signals reach node.
   */
  constructor(args: string[], env: NodeJS.ProcessEnv, entry: readonly string[] = DAEMON_ENTRY, wrap: readonly string[] = []) {
    const argv = [...wrap, process.execPath, ...entry, ...args];
    this.child = spawn(argv[0]!, argv.slice(1), { env, stdio: ['pipe', 'pipe', 'pipe'] });
    // Input typed after the process ended (EPIPE) is not the test's failure: its exit says more.
    this.child.stdin!.on('error', () => {});
    let buf = '';
    this.child.stdout!.setEncoding('utf8').on('data', (c: string) => {
      buf += c;
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        this.lines.push(buf.slice(0, nl));
        buf = buf.slice(nl + 1);
      }
      this.partial = buf;
      this.notify();
    });
    this.child.stderr!.setEncoding('utf8').on('data', (c: string) => {
      this.stderr.push(c);
      this.notify();
    });
    this.exited = new Promise((resolve) => this.child.on('exit', (code) => resolve(code)));
  }

  private notify(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  get logs(): LogLine[] {
    const out: LogLine[] = [];
    for (const l of this.lines) {
      try {
        out.push(JSON.parse(l) as LogLine);
      } catch {
        /* not a log line */
      }
    }
    return out;
  }

  /** All output, for secret scans. */
  get output(): string {
    return this.lines.join('\n') + '\n' + this.partial + this.stderr.join('');
  }

  /** Resolves with the first truthy value `check` returns from the output so far or later. */
  waitFor<T>(check: () => T | undefined | null | false, what: string, timeoutMs = 15_000): Promise<T> {
    return waitFor(() => check() || undefined, (f) => this.waiters.push(f), timeoutMs, () => `${what}; output so far:\n${this.output.slice(-3000)}`);
  }

  async waitForLog(pred: (l: LogLine) => boolean, timeoutMs = 15_000, what = 'log line'): Promise<LogLine> {
    return waitFor(() => this.logs.find(pred), (f) => this.waiters.push(f), timeoutMs, () => `${what}; output so far:\n${this.output.slice(-3000)}`);
  }

  /** Resolves when the daemon has logged entering `state` at least `count` times. */
  waitForState(state: string, timeoutMs = 15_000, count = 1): Promise<LogLine> {
    return this.waitForLog(
      (l) => l.msg === `state ${state}` && this.logs.filter((x) => x.msg === `state ${state}`).length >= count,
      timeoutMs,
      `state ${state}`,
    );
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    return this.exited;
  }
}

function waitFor<T>(check: () => T | undefined | false, subscribe: (f: () => void) => void, timeoutMs: number, describe: () => string): Promise<T> {
  return new Promise((resolve, reject) => {
    const err = new Error('timed out waiting for');
    let done = false;
    const timer = setTimeout(() => {
      done = true;
      err.message = `timed out waiting for ${describe()}`;
      reject(err);
    }, timeoutMs);
    const attempt = () => {
      if (done) return;
      const v = check();
      if (v) {
        done = true;
        clearTimeout(timer);
        resolve(v);
      } else subscribe(attempt);
    };
    attempt();
  });
}

export class Stack<D extends StackDevice = SimDevice> {
  readonly daemons: DaemonProcess[] = [];
  /** The simulated USB keypad beside a display without keys (startPanel). */
  numpad: FifoNumpad | null = null;
  private constructor(
    readonly dir: string,
    readonly provider: LocalProvider,
    readonly sim: D,
    readonly link: PtySim | TcpSim,
    readonly configPath: string,
    readonly storePath: string,
    readonly fileConfig: Record<string, any>,
    private readonly logLevel: string,
  ) {}

  /**
   * An off-the-shelf display model (adafruit-backpack, lk204, serlcd, ...) on a real PTY,
   * and where it has no keys, a simulated USB numpad on a FIFO read as the evdev keypad.
   */
  static async startPanel(profile: PanelProfile, opts: Omit<StackOptions, 'device' | 'profile' | 'keypadMode' | 'transport'> = {}): Promise<Stack<SimPanel>> {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'pinauthd-it-'));
    await mkdir(path.join(dir, 'v8cache'));
    const provider = await startLocalProvider({ host: '127.0.0.1', port: 0, ...opts.provider });
    const sim = createPanel(profile);
    const link = await startPtySim({ device: sim, dir });
    const numpad = needsNumpad(sim) ? await startFifoNumpad(dir) : null;
    const storePath = path.join(dir, 'state', 'tokens.json');
    const cfg: Record<string, any> = {
      provider: { preset: 'local', baseUrl: provider.url, timeoutMs: 3000 },
      credentials: { consumerKey: DEMO_KEY, consumerSecret: DEMO_SECRET },
      store: { path: storePath },
      ...daemonDeviceConfig(sim, link.hostPath, numpad?.path ?? null),
      daemon: { backoff: { initialMs: 200, maxMs: 1000 }, reconnect: { initialMs: 50, maxMs: 300 } },
    };
    opts.config?.(cfg);
    const configPath = path.join(dir, 'config.json');
    await writeFile(configPath, JSON.stringify(cfg, null, 2));
    const stack = new Stack<SimPanel>(dir, provider, sim, link, configPath, storePath, cfg, opts.logLevel ?? 'debug');
    stack.numpad = numpad;
    return stack;
  }

  static async start<D extends StackDevice = SimDevice>(opts: StackOptions<D> = {}): Promise<Stack<D>> {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'pinauthd-it-'));
    await mkdir(path.join(dir, 'v8cache'));
    const provider = await startLocalProvider({ host: '127.0.0.1', port: 0, ...opts.provider });
    const simDevice = opts.device ? null : new SimDevice({ profile: opts.profile ?? 'lcd20x4', keypadMode: opts.keypadMode ?? 'keys', delimiter: 'LF' });
    const sim = opts.device ?? (simDevice as unknown as D);
    let link: PtySim | TcpSim;
    if (opts.transport !== 'tcp') link = await startPtySim({ device: sim, dir });
    else if (simDevice) link = await startTcpSim({ device: simDevice });
    else throw new Error('the TCP link carries only the simulator');
    const port = 'hostPath' in link ? link.hostPath : link.url;
    const storePath = path.join(dir, 'state', 'tokens.json');
    const text = opts.profile === 'text';
    const cfg: Record<string, any> = {
      provider: { preset: 'local', baseUrl: provider.url, timeoutMs: 3000 },
      credentials: { consumerKey: DEMO_KEY, consumerSecret: DEMO_SECRET },
      store: { path: storePath },
      display: { driver: text ? 'text' : 'pinpad', port, cols: 40, rows: 4 },
      keypad: { mode: opts.keypadMode ?? (text ? 'line' : 'keys') },
      daemon: { backoff: { initialMs: 200, maxMs: 1000 }, reconnect: { initialMs: 50, maxMs: 300 } },
    };
    opts.config?.(cfg);
    const configPath = path.join(dir, 'config.json');
    await writeFile(configPath, JSON.stringify(cfg, null, 2));
    return new Stack(dir, provider, sim, link, configPath, cfg.store.path, cfg, opts.logLevel ?? 'debug');
  }

  async rewriteConfig(change: (cfg: Record<string, any>) => void): Promise<void> {
    change(this.fileConfig);
    await writeFile(this.configPath, JSON.stringify(this.fileConfig, null, 2));
  }

  env(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
    const { PINAUTHD_CONSUMER_KEY, PINAUTHD_CONSUMER_SECRET, CREDENTIALS_DIRECTORY, NOTIFY_SOCKET, ...rest } = process.env;
    void PINAUTHD_CONSUMER_KEY, PINAUTHD_CONSUMER_SECRET, CREDENTIALS_DIRECTORY, NOTIFY_SOCKET;
    return { ...rest, PINAUTHD_LOG_LEVEL: this.logLevel, CACHE_DIRECTORY: this.cacheDir, ...extra };
  }

  /** The loader's code cache for this stack's daemons ($CACHE_DIRECTORY, as systemd sets it). */
  get cacheDir(): string {
    return path.join(this.dir, 'v8cache');
  }

  spawn(args: string[] = ['run'], env: NodeJS.ProcessEnv = {}, wrap: readonly string[] = []): DaemonProcess {
    const d = new DaemonProcess([...args, '--config', this.configPath], this.env(env), DAEMON_ENTRY, wrap);
    this.daemons.push(d);
    return d;
  }

  /** Run a short CLI command to completion. */
  async cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
    const d = this.spawn(args, env);
    const code = await d.exited;
    return { code, stdout: d.lines.join('\n') + d.partial, stderr: d.stderr.join('') };
  }

  screen(): string[] {
    return this.sim.screenText();
  }

  screenString(): string {
    return this.screen().join('\n');
  }

  waitForScreen(pred: (rows: string[]) => boolean, timeoutMs = 15_000, what = 'screen'): Promise<string[]> {
    return waitFor(
      () => (pred(this.screen()) ? this.screen() : undefined),
      (f) => {
        const on = () => {
          this.sim.off('screen', on);
          f();
        };
        this.sim.on('screen', on);
      },
      timeoutMs,
      () => `${what}; screen is:\n${this.screenString()}`,
    );
  }

  waitForText(text: string | RegExp, timeoutMs = 15_000): Promise<string[]> {
    const match = (s: string) => (typeof text === 'string' ? s.includes(text) : text.test(s));
    return this.waitForScreen((rows) => match(rows.join('\n')), timeoutMs, `screen showing ${String(text)}`);
  }

  /** The running daemon's status over its control socket. */
  async status(): Promise<DaemonStatus | null> {
    const r = await askDaemon(controlSocketPath(this.storePath), 'status');
    return r?.ok ? (r.result as DaemonStatus) : null;
  }

  /** The request token the daemon is waiting on, from its status. */
  async pendingToken(timeoutMs = 15_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const st = await this.status();
      const url = st?.state === 'awaiting_pin' ? st.pending?.authorizeUrl : undefined;
      if (url) return new URL(url).searchParams.get('oauth_token')!;
      if (Date.now() > deadline) throw new Error(`no pending authorization; status: ${JSON.stringify(st)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Play the person: approve on the provider, return the PIN. */
  async approve(): Promise<string> {
    return this.provider.approve(await this.pendingToken());
  }

  /** Type on the simulated keypad, one key press per character. */
  typeKeys(keys: string): void {
    const sim = this.sim as unknown as { pressKey?: (k: string) => void };
    if (!sim.pressKey) throw new Error('this stack\'s device has no keypad to type on');
    for (const k of keys) sim.pressKey(k);
  }

  /** The whole PIN flow as a person does it: wait for the URL, approve, type the PIN, wait for the token. */
  async authorize(d: DaemonProcess): Promise<void> {
    await d.waitForState('awaiting_pin');
    this.typeKeys(await this.approve());
    await d.waitForState('authorized');
  }

  /** Back to a clean slate between tests: no daemon, no store, a provider without tokens or faults. */
  async reset(): Promise<void> {
    for (const d of this.daemons) await d.stop('SIGTERM');
    this.provider.reset();
    await rm(this.storePath, { force: true });
  }

  async readStore(): Promise<any> {
    return JSON.parse(await readFile(this.storePath, 'utf8'));
  }

  /**
   * The store once `ok` holds of it. The daemon stores a pending authorization while it shows
   * the URL (not before), and drops a dead account as it asks for a new code: a state seen in
   * the log can come a moment before the store has it.
   */
  async readStoreWhen(ok: (store: any) => boolean, timeoutMs = 5000): Promise<any> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const store = await this.readStore().catch((e: NodeJS.ErrnoException) => {
        if (e.code === 'ENOENT' || e instanceof SyntaxError) return null;
        throw e;
      });
      if (store && ok(store)) return store;
      if (Date.now() > deadline) throw new Error(`the store did not get there in ${timeoutMs} ms: ${JSON.stringify(store)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.daemons.map((d) => d.stop('SIGKILL')));
    await this.numpad?.close();
    await this.link.close();
    await this.provider.close();
    await rm(this.dir, { recursive: true, force: true });
  }
}

/**
 * Stacks for one test file: `const stack = stacksForThisFile();` then `await stack(opts)`;
 * every stack it started is closed when the file's tests are done.
 */
export function stacksForThisFile(): <D extends StackDevice = SimDevice>(opts?: StackOptions<D>) => Promise<Stack<D>> {
  const stacks: Array<{ close(): Promise<void> }> = [];
  after(() => Promise.all(stacks.map((s) => s.close())));
  return async <D extends StackDevice = SimDevice>(opts: StackOptions<D> = {}) => {
    const s = await Stack.start(opts);
    stacks.push(s);
    return s;
  };
}
