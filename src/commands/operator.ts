/**
 * Operator commands: `status`, `reauth`, `logout`, `token`. When the daemon runs they go
 * through its control socket (the daemon owns the store then); when it does not, they read
 * (or, for logout, change under the instance lock) the store directly.
 */
import { dirname } from 'node:path';
import { loadConfig } from '../config/load.js';
import type { Config } from '../config/types.js';
import { PinauthError } from '../errors.js';
import { createLogger } from '../log.js';
import { acquireInstanceLock } from '../store/lock.js';
import { readStoreSnapshot, TokenStore, type StoreSnapshot } from '../store/token-store.js';
import { checkStateDirectory } from '../store/state-dir.js';
import type { Account } from '../store/types.js';
import { askDaemon, controlSocketPath } from '../service/control.js';
import { apiSocketReport } from '../proxy/socket-path.js';
import type { DaemonStatus } from '../lifecycle/daemon.js';
import { invalidateQuietly, makeOAuthClient } from '../oauth/client.js';
import { printJson, printLine } from './output.js';

export interface CommonOptions {
  configFile: string | undefined;
  json: boolean;
}

const out = (line: string): void => printLine(line);

function publicAccount(a: Account) {
  return { provider: a.provider, userId: a.userId, screenName: a.screenName, createdAt: a.createdAt, verifiedAt: a.verifiedAt };
}

/** The config, and its state directory checked: never through another user's link (src/store/state-dir.ts). */
async function config(opts: CommonOptions, secrets: boolean): Promise<Config> {
  const cfg = await loadConfig({ file: opts.configFile, env: process.env, requireSecrets: secrets });
  checkStateDirectory(dirname(cfg.store.path));
  return cfg;
}

/**
 * The store as this user can read it. A store it may not read is a permission error (exit
 * 77), not "no account": a device's software must not take it as a reason to re-authorize.
 */
async function readableSnapshot(file: string): Promise<StoreSnapshot> {
  const snap = await readStoreSnapshot(file);
  if (snap.state !== 'unreadable') return snap;
  const denied = /EACCES|EPERM/.test(snap.reason ?? '');
  throw new PinauthError(
    denied ? 'PERMISSION_DENIED' : 'STORE_IO',
    denied
      ? `permission denied reading the token store ${snap.path}: run this command as root or as the service's user`
      : `cannot read the token store ${snap.path}: ${snap.reason ?? 'error'}`,
  );
}

export async function status(opts: CommonOptions): Promise<number> {
  const cfg = await config(opts, false);
  const live = await askDaemon(controlSocketPath(cfg.store.path), 'status');
  const apiSocket = await apiSocketReport(cfg);
  if (live?.ok) {
    const st = live.result as DaemonStatus;
    if (opts.json) printJson({ running: true, ...st, apiSocket });
    else {
      out(`pinauthd is running: ${st.state} since ${st.since}`);
      out(st.account ? `account: @${st.account.screenName} (user ${st.account.userId}) on ${st.provider}, since ${st.account.createdAt}` : 'account: none (not authorized)');
      if (st.account) out(`last verified: ${st.account.verifiedAt ?? 'never'}`);
      if (st.pending) out(`waiting for a PIN: ${st.pending.authorizeUrl} (expires ${st.pending.expiresAt})`);
      out(`device: ${st.deviceConnected ? 'connected' : 'not connected'}`);
      if (apiSocket) out(`api socket: ${apiSocket.detail}`);
      if (st.lastError) out(`last error: ${st.lastError.code}: ${st.lastError.message}`);
      if (st.retryAt) out(`next retry: ${st.retryAt}`);
      if (!st.storage.ok) {
        const kept = st.storage.unsaved ? `; the ${st.storage.unsaved} is kept in memory until the store takes it (next try ${st.storage.retryAt})` : '';
        out(`storage: ${st.storage.error?.code}: ${st.storage.error?.message}${kept}`);
      }
    }
    return 0;
  }
  const snap = await readableSnapshot(cfg.store.path);
  const account = snap.accounts.find((a) => a.provider === cfg.provider.name && (cfg.credentials.consumerKey === '' || a.consumerKey === cfg.credentials.consumerKey)) ?? null;
  if (opts.json) {
    printJson({
      running: false,
      provider: cfg.provider.name,
      account: account ? publicAccount(account) : null,
      pending: snap.pending ? { issuedAt: snap.pending.issuedAt, authorizeUrl: snap.pending.authorizeUrl } : null,
      apiSocket,
    });
  } else {
    out('pinauthd is not running');
    out(account ? `account: @${account.screenName} (user ${account.userId}) on ${account.provider}, since ${account.createdAt}` : 'account: none (not authorized)');
    if (account) out(`last verified: ${account.verifiedAt ?? 'never'}`);
    // Which files this answer comes from: a wrong --config or store path is the usual surprise.
    else out(`(config: ${cfg.file ?? 'none found, built-in defaults'}; token store: ${cfg.store.path})`);
    // a socket systemd holds (pinauthd.socket) starts the daemon on the first call
    if (apiSocket && apiSocket.access !== 'missing' && apiSocket.access !== 'not listening') out(`api socket: ${apiSocket.detail}`);
  }
  return account ? 0 : 1;
}

export async function reauth(opts: CommonOptions): Promise<number> {
  const cfg = await config(opts, false);
  const live = await askDaemon(controlSocketPath(cfg.store.path), 'reauth');
  if (!live?.ok) {
    process.stderr.write('pinauthd is not running (or this user cannot reach its control socket). Start it, or run `pinauthd login --console`.\n');
    return 1;
  }
  const st = live.result as DaemonStatus;
  if (opts.json) printJson(st);
  else out(`re-authorization started: ${st.state}`);
  return 0;
}

export async function logout(opts: CommonOptions): Promise<number> {
  // A running daemon has the secrets and does the work; only without one are they needed here.
  const live = await askDaemon(controlSocketPath((await config(opts, false)).store.path), 'logout', 20_000);
  let result: { removed: boolean; invalidated: boolean };
  if (live?.ok) {
    result = live.result as { removed: boolean; invalidated: boolean };
  } else {
    // Nothing stored, nothing to log out: no consumer credentials needed to say so.
    const plain = await config(opts, false);
    const snap = await readStoreSnapshot(plain.store.path);
    if (!snap.accounts.some((a) => a.provider === plain.provider.name && (plain.credentials.consumerKey === '' || a.consumerKey === plain.credentials.consumerKey))) {
      if (opts.json) out(JSON.stringify({ removed: false, invalidated: false }));
      else out(`no account stored in ${plain.store.path}: nothing to log out`);
      return 0;
    }
    const cfg = await config(opts, true);
    const logger = createLogger({ level: process.env.PINAUTHD_LOG_LEVEL ?? 'warn', destination: 2 });
    const lock = await acquireInstanceLock(dirname(cfg.store.path));
    try {
      const store = await TokenStore.open(cfg.store.path, logger);
      const account = store.account(cfg.provider.name, cfg.credentials.consumerKey);
      if (account) {
        const invalidated = await invalidateQuietly(makeOAuthClient(cfg, logger), account, logger);
        await store.removeAccount(cfg.provider.name, cfg.credentials.consumerKey);
        result = { removed: true, invalidated };
      } else result = { removed: false, invalidated: false };
      await store.close();
    } finally {
      await lock.release();
    }
  }
  if (opts.json) printJson(result, false);
  else if (!result.removed) out('no account stored: nothing to log out');
  else out(result.invalidated ? 'logged out: the token was invalidated at the provider and removed' : 'logged out: the token was removed here (the provider could not invalidate it; revoke the app in the account settings)');
  return 0;
}

/** For the device's own software: the access token, for callers that can read the store. */
export async function token(opts: CommonOptions): Promise<number> {
  if (!opts.json) throw new PinauthError('USAGE', 'token prints JSON only: pinauthd token --json');
  const cfg = await config(opts, false);
  const snap = await readableSnapshot(cfg.store.path);
  const a = snap.accounts.find((x) => x.provider === cfg.provider.name && (cfg.credentials.consumerKey === '' || x.consumerKey === cfg.credentials.consumerKey));
  if (!a) {
    process.stderr.write('no account stored: authorize first\n');
    return 1;
  }
  printJson({ provider: a.provider, consumerKey: a.consumerKey, userId: a.userId, screenName: a.screenName, token: a.token, tokenSecret: a.tokenSecret, createdAt: a.createdAt, verifiedAt: a.verifiedAt }, false);
  return 0;
}
