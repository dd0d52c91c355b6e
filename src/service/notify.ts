/**
 * sd_notify for the daemon, through the `systemd-notify` helper.
 *
 * Node has no AF_UNIX datagram sockets, so it cannot talk to $NOTIFY_SOCKET itself. The
 * helper is run *blocking* (no --no-block): in systemd 252 it then sends BARRIER=1 and waits
 * for PID 1, so PID 1 reads the message while the helper is still alive and can attribute it
 * to our unit through its cgroup. Fire-and-forget helpers lost READY=1 in most test boots
 * (see docs/systemd.md). Because the sender is a child, the unit needs NotifyAccess=all.
 *
 * Nothing here ever throws or rejects, or logs secrets: failures are logged (warn once per
 * kind, debug afterwards) and the daemon goes on. The watchdog timer and watchdog helpers
 * never keep the event loop alive. While a READY/STATUS/STOPPING message is queued or in
 * flight the loop is held (each helper for at most `timeoutMs`), so that code after
 * `await notifier.stopping()` still runs at shutdown.
 */
import type { ChildProcess, spawn as nodeSpawn } from 'node:child_process';
import type { Logger } from 'pino';

export interface Notifier {
  /** True when $NOTIFY_SOCKET is set (we run under systemd with Type=notify). */
  readonly enabled: boolean;
  /** READY=1, optionally with a STATUS= line. Resolves once the helper is done (never rejects). */
  ready(status?: string): Promise<void>;
  /** STATUS=<text> (shown by `systemctl status`). A newer queued status replaces an older one. */
  status(text: string): Promise<void>;
  /** STOPPING=1. */
  stopping(): Promise<void>;
  /** Ping WATCHDOG=1 every WATCHDOG_USEC/2 when systemd asked for it (and for our PID). */
  startWatchdog(): void;
  stopWatchdog(): void;
  /** Resolves when no message is queued or in flight (for tests and orderly shutdown). */
  idle(): Promise<void>;
}

export interface NotifierOptions {
  logger: Logger;
  env?: NodeJS.ProcessEnv;
  spawnImpl?: typeof nodeSpawn;
  /** Kill a helper that has not finished after this long (default 10 s). */
  timeoutMs?: number;
  /** The PID compared with WATCHDOG_PID (default process.pid). */
  pid?: number;
}

type Kind = 'ready' | 'status' | 'stopping' | 'watchdog';
type FailureKind = 'spawn' | 'exit' | 'signal' | 'timeout';

interface Message {
  kind: Kind;
  args: string[];
  waiters: Array<() => void>;
}

const DEFAULT_TIMEOUT_MS = 10_000;
const MAX_STATUS_CHARS = 200;
const MAX_STDERR_CHARS = 300;

export function createNotifier(opts: NotifierOptions): Notifier {
  const env = opts.env ?? process.env;
  // node:child_process (with the net and dgram code it loads) only once there is a message
  let spawnImpl = opts.spawnImpl;
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const ownPid = opts.pid ?? process.pid;
  const log = opts.logger.child({ module: 'notify' });
  const socket = env.NOTIFY_SOCKET;
  const enabled = typeof socket === 'string' && socket.length > 0;

  // The helper needs only these; the daemon's environment may hold secrets.
  const childEnv: NodeJS.ProcessEnv = { NOTIFY_SOCKET: socket ?? '', PATH: env.PATH ?? '/usr/bin:/bin' };

  const queue: Message[] = [];
  let running = false;
  let idleWaiters: Array<() => void> = [];
  const warned = new Set<FailureKind>();
  let watchdogTimer: NodeJS.Timeout | undefined;
  // Counts queued/in-flight messages a caller may await; pings are periodic and disposable
  // and never hold the process open.
  let awaitedPending = 0;
  let loopHold: NodeJS.Timeout | undefined;

  function holdLoop(delta: number): void {
    awaitedPending += delta;
    if (awaitedPending > 0 && !loopHold) loopHold = setInterval(() => {}, 1 << 30);
    if (awaitedPending === 0 && loopHold) {
      clearInterval(loopHold);
      loopHold = undefined;
    }
  }

  function failed(kind: FailureKind, msg: Message, detail: Record<string, unknown>): void {
    const fields = { notify: msg.kind, failure: kind, ...detail };
    if (warned.has(kind)) {
      log.debug(fields, 'systemd-notify failed again');
      return;
    }
    warned.add(kind);
    log.warn(fields, 'cannot notify systemd through systemd-notify; continuing without it (further failures of this kind are logged at debug level)');
  }

  function runOne(msg: Message, spawnImpl: typeof nodeSpawn): Promise<void> {
    return new Promise<void>((resolve) => {
      let settled = false;
      let child: ChildProcess | undefined;
      let stderr = '';
      const finish = (): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        if (settled) return;
        failed('timeout', msg, { timeoutMs });
        try {
          child?.kill('SIGKILL');
        } catch {
          // already gone
        }
        finish();
      }, timeoutMs);
      timer.unref();

      try {
        child = spawnImpl('systemd-notify', msg.args, {
          env: childEnv,
          stdio: ['ignore', 'ignore', 'pipe'],
          windowsHide: true,
        });
      } catch (err) {
        // spawn() throws synchronously for bad arguments, and a test double may throw anything
        failed('spawn', msg, { error: errorText(err) });
        finish();
        return;
      }
      const stderrStream = child.stderr as (NodeJS.ReadableStream & { unref?: () => void }) | null;
      // The loop is held (or not) by loopHold below, never by the helper itself.
      child.unref();
      stderrStream?.unref?.();
      stderrStream?.setEncoding?.('utf8');
      stderrStream?.on('data', (chunk: string | Buffer) => {
        if (stderr.length < MAX_STDERR_CHARS) stderr += String(chunk);
      });
      stderrStream?.on('error', () => {
        // a broken pipe to a dead helper is not worth reporting on its own
      });
      child.once('error', (err) => {
        if (settled) return;
        failed('spawn', msg, { error: errorText(err) });
        finish();
      });
      child.once('close', (code: number | null, signal: NodeJS.Signals | null) => {
        if (settled) return;
        if (signal) failed('signal', msg, { signal });
        else if (code !== 0) failed('exit', msg, { exitCode: code, stderr: stderr.trim().slice(0, MAX_STDERR_CHARS) });
        // exit 0 only means PID 1 got the datagram, not that it accepted it (NotifyAccess=main drops it)
        finish();
      });
    });
  }

  async function pump(): Promise<void> {
    if (running) return;
    running = true;
    try {
      for (let msg = queue.shift(); msg; msg = queue.shift()) {
        spawnImpl ??= (await import('node:child_process')).spawn;
        await runOne(msg, spawnImpl);
        if (msg.kind !== 'watchdog') holdLoop(-1);
        for (const w of msg.waiters) w();
      }
    } finally {
      running = false;
      const waiters = idleWaiters;
      idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  function enqueue(kind: Kind, args: string[]): Promise<void> {
    if (!enabled) return Promise.resolve();
    // Coalesce what only matters once: a queued ping already proves we are alive, and only
    // the newest status text is worth showing.
    const pending = kind === 'watchdog' || kind === 'status' ? queue.find((m) => m.kind === kind) : undefined;
    return new Promise<void>((resolve) => {
      if (pending) {
        pending.args = args;
        pending.waiters.push(resolve);
      } else {
        queue.push({ kind, args, waiters: [resolve] });
        if (kind !== 'watchdog') holdLoop(1);
      }
      void pump();
    });
  }

  function watchdogIntervalMs(): number | undefined {
    const usec = Number.parseInt(env.WATCHDOG_USEC ?? '', 10);
    if (!Number.isFinite(usec) || usec <= 0) return undefined;
    const forPid = env.WATCHDOG_PID;
    if (forPid !== undefined && forPid !== '' && Number.parseInt(forPid, 10) !== ownPid) return undefined;
    return Math.max(1, Math.floor(usec / 2000));
  }

  const notifier: Notifier = {
    enabled,
    ready(status?: string) {
      const args = ['--ready'];
      if (status !== undefined) args.push(`--status=${cleanStatus(status)}`);
      return enqueue('ready', args);
    },
    status(text: string) {
      return enqueue('status', [`--status=${cleanStatus(text)}`]);
    },
    stopping() {
      return enqueue('stopping', ['STOPPING=1']);
    },
    startWatchdog() {
      if (!enabled || watchdogTimer) return;
      const intervalMs = watchdogIntervalMs();
      if (intervalMs === undefined) {
        log.debug('systemd watchdog not requested for this process');
        return;
      }
      const ping = (): void => void enqueue('watchdog', ['WATCHDOG=1']);
      watchdogTimer = setInterval(ping, intervalMs);
      watchdogTimer.unref();
      log.debug({ intervalMs }, 'systemd watchdog pings started');
      ping();
    },
    stopWatchdog() {
      if (!watchdogTimer) return;
      clearInterval(watchdogTimer);
      watchdogTimer = undefined;
    },
    idle() {
      if (!running && queue.length === 0) return Promise.resolve();
      return new Promise<void>((resolve) => idleWaiters.push(resolve));
    },
  };
  return notifier;
}

/** One line, printable, short: STATUS= ends at a newline and `systemctl status` shows one line. */
function cleanStatus(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim().slice(0, MAX_STATUS_CHARS);
}

function errorText(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const code = (err as NodeJS.ErrnoException).code;
  return typeof code === 'string' && !err.message.includes(code) ? `${code}: ${err.message}` : err.message;
}
