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
import { PinauthError, toPinauthError } from '../errors.js';
import { createLogger } from '../log.js';
import { makeOAuthClient } from '../oauth/client.js';
import { preloadHttpClient } from '../oauth/http.js';
import { acquireInstanceLock } from '../store/lock.js';
import { TokenStore } from '../store/token-store.js';
import { controlSocketPath, startControlServer, type ControlCommand } from './control.js';
import { Daemon } from '../lifecycle/daemon.js';
import { needsAPerson } from '../lifecycle/machine.js';
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

  const lock = await acquireInstanceLock(dirname(config.store.path));
  markStartup('instance lock held');
  const store = await TokenStore.open(config.store.path, logger);
  markStartup('token store open');
  const device = new DeviceSession({
    display: config.display,
    keypad: config.keypad,
    pin: config.provider.pin,
    reconnect: config.daemon.reconnect,
    logger,
  });
  const daemon = new Daemon({
    config,
    logger,
    store,
    oauth: makeOAuthClient(config, logger),
    device,
    notifier: createNotifier({ logger }),
    once: opts.once,
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
    const a = store.account(config.provider.name, config.credentials.consumerKey);
    return a !== null && a.createdAt >= startedAt;
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
  const onHup = () => {
    loadConfig({ file: opts.configFile, env: process.env }).then(
      (next) => {
        const c = opts.console ? consoleConfig(next) : next;
        // Child loggers follow the root's level, so a changed log.level applies at once.
        if (!(opts.console && !process.env.PINAUTHD_LOG_LEVEL) && logger.level !== c.log.level) {
          log.info({ from: logger.level, to: c.log.level }, 'log level changed');
          logger.level = c.log.level;
        }
        daemon.reload(c, makeOAuthClient(c, logger));
        config = c;
      },
      (e: unknown) => log.error({ err: toPinauthError(e).toLog() }, 'config reload failed; keeping the old config'),
    );
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

  if (opts.once) {
    daemon.once('done', (account) => {
      log.info({ screenName: account.screenName }, 'token stored; exiting (--once)');
      if (opts.console) process.stdout.write(`The token is stored in ${config.store.path}\n`);
      void daemon.stop().finally(finished);
    });
  }

  if (opts.console) {
    // The terminal is the keypad: at the end of input (Ctrl-D, a closed pipe) nobody can
    // type a PIN any more, so stop instead of "reconnecting" to a closed stdin forever. A PIN
    // already sent is still exchanged and stored (stop() waits for it).
    device.once('disconnected', () => {
      if (daemon.state.name === 'stopped') return; // --once already finished
      void daemon.stop().finally(() => {
        const a = store.account(config.provider.name, config.credentials.consumerKey);
        if (a && storedByThisRun()) {
          process.stdout.write(`\nAuthorized as @${a.screenName}. The token is stored in ${config.store.path}\n`);
        } else {
          process.stderr.write('pinauthd: end of input before a PIN was accepted; nothing stored\n');
          exitCode = 1;
        }
        finished();
      });
    });
    // The daemon waits out an app the provider refuses (a wrong consumer secret, no callback
    // URL) at the slowest pace, for a fix and a SIGHUP; a person at a terminal is better told
    // at once: the message and the exit status of the error (4 for the provider).
    daemon.on('state', (s) => {
      if (s.name !== 'waiting' || !needsAPerson(s.error)) return;
      process.stderr.write(`pinauthd: ${s.error.message}\n`);
      exitCode = s.error.exitCode;
      void daemon.stop().finally(finished);
    });
  }

  try {
    await daemon.start();
    markStartup('daemon started');
    await firstScreenSettled(daemon);
    if (daemon.state.name !== 'stopped') control = await startControl();
    if (daemon.state.name !== 'stopped' && !opts.console) apiProxy = await startApi();
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
  await store.close();
  await lock.release();
  return exitCode;
}
