/**
 * `pinauthd run` and `pinauthd login --console`: build the parts from the config, hand them
 * to the Daemon, and own the process: signals, the instance lock, the control socket and
 * the exit status.
 */
import { dirname } from 'node:path';
import { markStartup } from '../startup-trace.js';
import type { Logger } from 'pino';
import { loadConfig } from '../config/load.js';
import type { Config } from '../config/types.js';
import { DeviceSession } from '../device/session.js';
import { isPinauthError, PinauthError, toPinauthError } from '../errors.js';
import { createLogger } from '../log.js';
import { makeOAuthClient, offsetToKeep } from '../oauth/client.js';
import { preloadHttpClient } from '../oauth/http.js';
import { acquireInstanceLock, liveLockOwner, type InstanceLock } from '../store/lock.js';
import { TokenStore } from '../store/token-store.js';
import { controlSocketPath, startControlServer, type ControlCommand } from './control.js';
import { Daemon } from '../lifecycle/daemon.js';
import { createNotifier } from './notify.js';
import { processFigures } from './process-figures.js';

export interface RunOptions {
  configFile: string | undefined;
  once: boolean;
  /** The terminal is the display and keypad (`login --console`). */
  console: boolean;
}

/** How long SIGTERM may take before we exit anyway (systemd's stop timeout is longer). */
const STOP_DEADLINE_MS = 1800;

export function consoleConfig(config: Config): Config {
  const cols = Math.max(20, Math.min(process.stdout.columns || 80, 120));
  return {
    ...config,
    display: { ...config.display, driver: 'console', port: 'stdio', cols, rows: 6 },
    keypad: { ...config.keypad, port: null, mode: 'line', delimiter: 'LF' },
  };
}

/** States in which start-up is still on its way to the first screen that waits for someone. */
const ON_THE_WAY = new Set(['starting', 'requesting', 'verifying']);
/** At most this long: a slow provider must not keep `pinauthd status` waiting. */
const SETTLE_MS = 1000;

/** States before the store is open. */
const NO_STORE_YET = new Set(['starting', 'no_store']);

/** Resolves once the daemon's state is none of `states`. */
function leftState(daemon: Daemon, states: Set<string>): Promise<void> {
  return new Promise((resolve) => {
    const onState = (s: { name: string }) => {
      if (states.has(s.name)) return;
      daemon.off('state', onState);
      resolve();
    };
    if (!states.has(daemon.state.name)) resolve();
    else daemon.on('state', onState);
  });
}

/**
 * Resolves once the daemon shows a screen that waits (for a PIN, a retry, nothing: authorized),
 * or after SETTLE_MS, and after the macrotask that draws it. Work that can wait (the control
 * socket: net's server code loads cluster and child_process; the heap guard) starts then
 * rather than on the main thread while the first reply waits for it.
 */
function firstScreenSettled(daemon: Daemon): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      daemon.off('state', onState);
      setImmediate(resolve);
    };
    const onState = (s: { name: string }) => {
      if (!ON_THE_WAY.has(s.name)) done();
    };
    const timer = setTimeout(done, SETTLE_MS);
    if (!ON_THE_WAY.has(daemon.state.name)) done();
    else daemon.on('state', onState);
  });
}

function makeDevice(config: Config, logger: Logger): DeviceSession {
  return new DeviceSession({
    display: config.display,
    keypad: config.keypad,
    pin: config.provider.pin,
    reconnect: config.daemon.reconnect,
    logger,
  });
}

/** Does the device opened with `a` serve `b` as it is (port, baud, driver, keypad, PIN length)? */
function sameDevice(a: Config, b: Config): boolean {
  const settings = (c: Config) => JSON.stringify([c.display, c.keypad, c.provider.pin, c.daemon.reconnect]);
  return settings(a) === settings(b);
}

/**
 * Settings a running daemon cannot take: the state directory holds the instance lock and the
 * control socket, and the provider and consumer key say whose account the daemon is serving.
 */
function needRestart(a: Config, b: Config): string[] {
  const fixed: Array<[string, (c: Config) => string]> = [
    ['store.path', (c) => c.store.path],
    ['provider.name', (c) => c.provider.name],
    ['credentials.consumerKey', (c) => c.credentials.consumerKey],
  ];
  return fixed.filter(([, get]) => get(a) !== get(b)).map(([name]) => name);
}

export async function runDaemon(opts: RunOptions): Promise<number> {
  markStartup('run: started');
  if (process.env.NODE_TLS_REJECT_UNAUTHORIZED === '0') {
    throw new PinauthError(
      'OAUTH_INSECURE',
      'NODE_TLS_REJECT_UNAUTHORIZED=0 turns off certificate checks for the whole process; pinauthd refuses to run with it. Unset it.',
    );
  }
  let config = await loadConfig({ file: opts.configFile, env: process.env });
  markStartup('config loaded');
  if (opts.console) config = consoleConfig(config);
  // The first thing the daemon does without a token is a request_token: load the HTTP
  // client now, alongside the lock, the store and the device, not after them.
  preloadHttpClient(config.provider.requestTokenUrl.startsWith('https:'));
  // In the console the terminal is the display: logs go to stderr, and only warnings,
  // unless the config or environment asks for more.
  const logger = createLogger({
    level: opts.console && !process.env.PINAUTHD_LOG_LEVEL ? 'warn' : config.log.level,
    destination: opts.console ? 2 : 1,
    // A person reads the console: short lines, not the journal's JSON.
    format: opts.console ? 'human' : 'json',
  });
  const log = logger.child({ module: 'main' });
  markStartup('logger ready');

  // Another daemon on this state directory: exit before touching its device. Any other
  // reason the store cannot be opened (a read-only or broken disk) is shown on the display,
  // and the daemon retries (openStore below).
  const stateDir = dirname(config.store.path);
  const held: { lock: InstanceLock | null; store: TokenStore | null } = { lock: null, store: null };
  try {
    held.lock = await acquireInstanceLock(stateDir);
    markStartup('instance lock held');
  } catch (e) {
    if (isPinauthError(e, 'STORE_LOCKED')) throw e;
    const owner = await liveLockOwner(stateDir);
    if (owner !== null) throw new PinauthError('STORE_LOCKED', `another pinauthd (pid ${owner}) is running with state directory ${stateDir}`);
  }
  let opening: Promise<TokenStore> | null = null;
  const openStore = (): Promise<TokenStore> =>
    (opening ??= (async () => {
      held.lock ??= await acquireInstanceLock(stateDir);
      held.store ??= await TokenStore.open(config.store.path, logger);
      return held.store;
    })().catch((e: unknown) => {
      opening = null;
      throw e;
    }));
  // Opened alongside the device; the daemon takes it (or the reason it failed) once the
  // device is open.
  openStore().catch(() => undefined);
  const device = makeDevice(config, logger);
  let oauth = makeOAuthClient(config, logger);
  const daemon = new Daemon({
    config,
    logger,
    openStore,
    oauth,
    device,
    notifier: createNotifier({ logger }),
    once: opts.once,
    attended: opts.console,
  });

  // The control socket (`pinauthd status/reauth/logout`) opens once the first screen has
  // settled (firstScreenSettled), so that it does not delay the first request and frame;
  // the commands wait for it while the lock shows a daemon starting (askDaemon).
  const startControl = () =>
    startControlServer(
      controlSocketPath(config.store.path),
      async (cmd: ControlCommand) => {
        if (cmd === 'reauth') daemon.reauth();
        if (cmd === 'logout') return { ...(await daemon.logout()), status: daemon.status() };
        return cmd === 'status' ? { ...daemon.status(), process: processFigures() } : daemon.status();
      },
      logger,
    ).catch((e: unknown) => {
      log.warn({ err: toPinauthError(e).toLog() }, 'control socket unavailable; `pinauthd status` will read the store');
      return null;
    });
  let control: Awaited<ReturnType<typeof startControl>> = null;

  // The signing proxy (api.sock, docs/using-the-token.md): started with the control socket.
  // The daemon lends it the account to sign with; its secrets never leave this process.
  const startApi = async () => {
    if (!config.proxy.enabled) return null;
    const { startApiProxy, socketFromSystemd } = await import('../proxy/server.js');
    const fd = socketFromSystemd();
    return startApiProxy({
      listen: fd === null ? { path: config.proxy.socket } : { fd },
      settings: () => ({ proxy: config.proxy, provider: config.provider }),
      authority: {
        signingAccount: () => {
          const a = daemon.apiAccount();
          if ('reason' in a) return a;
          const { consumerKey, consumerSecret } = config.credentials;
          return { consumerKey, consumerSecret, token: a.account.token, tokenSecret: a.account.tokenSecret, signatureMethod: config.provider.signatureMethod, clockOffsetMs: a.clockOffsetMs };
        },
        tokenRejected: () => daemon.apiRejected(),
      },
      logger,
    }).catch((e: unknown) => {
      log.warn({ err: toPinauthError(e).toLog() }, 'API socket unavailable; signed API calls through pinauthd will not work');
      return null;
    });
  };
  let apiProxy: Awaited<ReturnType<typeof startApi>> = null;
  let stopHeapGuard = (): void => undefined;

  let exitCode = 0;
  let finished: () => void = () => undefined;
  const finishedP = new Promise<void>((resolve) => (finished = resolve));
  const startedAt = new Date().toISOString();
  /** `login --console` succeeded: a token was stored by this run. */
  const storedByThisRun = () => {
    const a = held.store?.account(config.provider.name, config.credentials.consumerKey);
    return !!a && a.createdAt >= startedAt;
  };

  const shutdown = (signal: string) => {
    log.info({ signal }, 'stopping');
    const deadline = setTimeout(() => {
      log.error('stop took too long; exiting');
      process.exit(exitCode);
    }, STOP_DEADLINE_MS);
    deadline.unref();
    void daemon.stop().finally(() => {
      // Ctrl-C in `login --console` is not a success (`login --console && next` must stop),
      // unless the PIN already went through: 130, as shells report SIGINT.
      if (opts.console && signal === 'SIGINT' && !storedByThisRun()) {
        process.stderr.write('\npinauthd: interrupted before a PIN was accepted; nothing stored\n');
        exitCode = 130;
      }
      finished();
    });
  };
  // One reload at a time: a second SIGHUP waits for the device of the first to be open.
  let reloading = Promise.resolve();
  const reload = async () => {
    let c: Config;
    try {
      const next = await loadConfig({ file: opts.configFile, env: process.env });
      c = opts.console ? consoleConfig(next) : next;
    } catch (e) {
      log.error({ err: toPinauthError(e).toLog() }, 'config reload failed; keeping the old config');
      return;
    }
    const fixed = needRestart(config, c);
    if (fixed.length > 0) {
      log.error({ settings: fixed }, `config reload refused: ${fixed.join(', ')} cannot change without a restart (systemctl restart pinauthd); nothing was applied`);
      return;
    }
    // Child loggers follow the root's level, so a changed log.level applies at once.
    if (!(opts.console && !process.env.PINAUTHD_LOG_LEVEL) && logger.level !== c.log.level) {
      log.info({ from: logger.level, to: c.log.level }, 'log level changed');
      logger.level = c.log.level;
    }
    const device = sameDevice(config, c) ? undefined : makeDevice(c, logger);
    oauth = makeOAuthClient(c, logger, offsetToKeep(config.provider, oauth.clockOffsetMs, c.provider));
    config = c;
    await daemon.reload(c, oauth, device);
  };
  const onHup = () => {
    reloading = reloading.then(reload).catch((e: unknown) => log.error({ err: toPinauthError(e).toLog() }, 'config reload failed'));
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGHUP', onHup);
  process.on('uncaughtException', (e) => {
    log.fatal({ err: { message: e.message, stack: e.stack } }, 'uncaught exception');
    process.exit(70);
  });
  process.on('unhandledRejection', (e) => {
    const err = toPinauthError(e);
    log.fatal({ err: { ...err.toLog(), stack: e instanceof Error ? e.stack : undefined } }, 'unhandled rejection');
    process.exit(70);
  });

  // A failure no retry fixes (a refused state directory, another daemon; at a terminal also an
  // app the provider refuses, or the end of input before a PIN): its reason is on the display;
  // the process exits with its code and message, as when it fails before the device.
  let fatal: PinauthError | null = null;
  daemon.once('failed', (e) => {
    fatal = e;
    void daemon.stop().finally(finished);
  });

  if (opts.once) {
    daemon.once('done', (account) => {
      log.info({ screenName: account.screenName }, 'token stored; exiting (--once)');
      if (opts.console) process.stdout.write(`The token is stored in ${config.store.path}\n`);
      void daemon.stop().finally(finished);
    });
  }

  try {
    await daemon.start();
    markStartup('daemon started');
    await firstScreenSettled(daemon);
    // perf_hooks and v8 are not needed for the first screen: loaded after it
    const { startHeapGuard, HEAP_LIMIT_MIB } = await import('./heap-guard.js');
    stopHeapGuard = startHeapGuard({
      onExceeded: (used) => {
        log.fatal(
          { heapMiB: Math.round(used / 2 ** 20), limitMiB: HEAP_LIMIT_MIB },
          'JS heap above its limit after a full garbage collection (a leak?); exiting so that systemd restarts the daemon',
        );
        exitCode = 70;
        shutdown('heap limit');
      },
    });
    // A socket systemd passed (pinauthd.socket) is not in the state directory: serve it at
    // once, so that a client gets a 503 with the reason while the store cannot be opened
    // instead of waiting in the socket's backlog.
    if (!opts.console && process.env.LISTEN_FDS !== undefined) apiProxy = await startApi();
    // The control socket lives in the state directory: it opens once the store has.
    await leftState(daemon, NO_STORE_YET);
    if (daemon.state.name !== 'stopped') control = await startControl();
    if (daemon.state.name !== 'stopped' && !opts.console && !apiProxy) apiProxy = await startApi();
  } catch (e) {
    exitCode = toPinauthError(e).exitCode;
    log.error({ err: toPinauthError(e).toLog() }, 'start failed');
    await daemon.stop();
    finished();
  }
  await finishedP;
  stopHeapGuard();
  await control?.close();
  await apiProxy?.close();
  await held.store?.close();
  await held.lock?.release();
  if (fatal) throw fatal;
  return exitCode;
}
