/**
 * Where local programs find the API socket, and whether this user can use it: for
 * `pinauthd request`, `status` and `doctor`. Nothing here loads the proxy itself.
 */
import { existsSync } from 'node:fs';
import net from 'node:net';
import type { Config } from '../config/types.js';

/** Where systemd/pinauthd.socket puts it. */
export const SYSTEMD_SOCKET = '/run/pinauthd/api.sock';

/**
 * The configured path (where a daemon outside systemd binds it) when it is there, else the
 * socket unit's; the configured one when neither is.
 */
export function apiSocketFor(cfg: Pick<Config, 'proxy'>): string {
  return existsSync(cfg.proxy.socket) || !existsSync(SYSTEMD_SOCKET) ? cfg.proxy.socket : SYSTEMD_SOCKET;
}

export type SocketAccess = 'usable' | 'missing' | 'not listening' | 'denied';

/** Connect once and let go: can this user reach a listening socket there? */
export function probeApiSocket(path: string, timeoutMs = 2000): Promise<SocketAccess> {
  return new Promise((resolve) => {
    const sock = net.connect(path);
    const done = (a: SocketAccess) => {
      sock.destroy();
      resolve(a);
    };
    sock.setTimeout(timeoutMs, () => done('not listening'));
    sock.once('connect', () => done('usable'));
    sock.once('error', (e: NodeJS.ErrnoException) => done(e.code === 'ENOENT' ? 'missing' : e.code === 'EACCES' || e.code === 'EPERM' ? 'denied' : 'not listening'));
  });
}

/** What `status --json` and `doctor` say about the socket: one probe, one wording. */
export interface ApiSocketReport {
  path: string;
  access: SocketAccess;
  /** Something accepts connections there; null when this user may not even try (denied). */
  listening: boolean | null;
  /** This user can make signed API calls through it. */
  usable: boolean;
  /** The line `status` and `doctor` print. */
  detail: string;
}

/** Probe the socket the config points at (null when proxy.enabled is false). */
export async function apiSocketReport(cfg: Pick<Config, 'proxy'>): Promise<ApiSocketReport | null> {
  if (!cfg.proxy.enabled) return null;
  const path = apiSocketFor(cfg);
  const access = await probeApiSocket(path);
  return { path, access, listening: access === 'denied' ? null : access === 'usable', usable: access === 'usable', detail: describeSocketAccess(path, access) };
}

/** One line for a person: what the state of the socket means for them. */
export function describeSocketAccess(path: string, access: SocketAccess): string {
  switch (access) {
    case 'usable':
      return `${path}: this user can make signed API calls through it (pinauthd request /2/users/me)`;
    case 'denied':
      return `${path}: no permission; add this user to the socket's group: sudo usermod -aG pinauthd-api $USER (then log in again)`;
    case 'missing':
      return `${path}: not there (the daemon is not running, or proxy.enabled is false)`;
    case 'not listening':
      return `${path}: nothing answers (the daemon is not running)`;
  }
}
