/**
 * Notice a device path disappearing (a USB unplug may never fail a pending read on Linux:
 * bindings-cpp #162), by watching its directory with inotify, no polling. A link that is
 * replaced (udev re-creating /dev/serial/by-id/... or /dev/input/by-id/... on a change event,
 * socat re-linking) is missing for an instant: only a path still gone a moment later counts.
 *
 * A path that is back a moment later but names another device counts too: a device unplugged
 * and plugged in again within that moment gets a new node (ttyUSB1, a new pts), while the port
 * we hold stays hung up. A read on a hung-up tty returns 0 bytes, which bindings-cpp retries
 * forever instead of reporting, so without this the daemon would sit on the dead port and
 * never draw on the new one.
 */
import { existsSync, fstatSync, statSync, watch, type Stats } from 'node:fs';
import { basename, dirname } from 'node:path';
import type { Logger } from 'pino';

/** How long a watched device path must stay gone (or changed) to count as an unplug. */
const VANISH_CONFIRM_MS = 150;

/** Which device a path or fd is: the node it resolves to (links followed). */
function identity(st: Stats): string {
  return `${st.dev}:${st.ino}:${st.rdev}`;
}

function identityOfPath(path: string): string | null {
  try {
    return identity(statSync(path));
  } catch {
    return null;
  }
}

/** The device an open fd is, or null when it cannot be told (a mock port has no fd). */
export function identityOfFd(fd: unknown): string | null {
  if (typeof fd !== 'number') return null;
  try {
    return identity(fstatSync(fd));
  } catch {
    return null;
  }
}

/**
 * Calls onVanish once the path is gone for good or names another device than the one opened;
 * returns the function that stops watching. `opened` is the identity of the open port (from
 * its fd); without it the path's identity now stands for it.
 */
export function watchForVanish(path: string, logger: Logger, onVanish: () => void, opened: string | null = identityOfPath(path)): () => void {
  let check: NodeJS.Timeout | null = null;
  let stopped = false;
  const name = basename(path);
  // Gone, or another device than the one we hold (when we know which one that is).
  const changed = (): boolean => {
    if (opened === null) return !existsSync(path);
    return identityOfPath(path) !== opened;
  };
  const stop = (): void => {
    stopped = true;
    watcher?.close();
    if (check) clearTimeout(check);
    check = null;
  };
  let watcher: ReturnType<typeof watch> | null = null;
  try {
    watcher = watch(dirname(path), { persistent: false }, (_event, filename) => {
      if (filename !== null && filename !== name) return;
      if (check || !changed()) return;
      check = setTimeout(() => {
        check = null;
        if (!stopped && changed()) onVanish();
      }, VANISH_CONFIRM_MS);
      check.unref();
    });
    watcher.on('error', (err) => {
      logger.debug({ err: err.message }, 'cannot watch the device path');
      stop();
    });
  } catch (err) {
    logger.debug({ err: (err as Error).message }, 'cannot watch the device path');
  }
  return stop;
}
