/**
 * Notice a device path disappearing (a USB unplug may never fail a pending read on Linux:
 * bindings-cpp #162), by watching its directory with inotify, no polling. A link that is
 * replaced (udev re-creating /dev/serial/by-id/... or /dev/input/by-id/... on a change event,
 * socat re-linking) is missing for an instant: only a path still gone a moment later counts.
 */
import { existsSync, watch } from 'node:fs';
import { basename, dirname } from 'node:path';
import type { Logger } from 'pino';

/** How long a watched device path must stay gone to count as an unplug. */
const VANISH_CONFIRM_MS = 150;

/** Calls onVanish once the path is gone for good; returns the function that stops watching. */
export function watchForVanish(path: string, logger: Logger, onVanish: () => void): () => void {
  let check: NodeJS.Timeout | null = null;
  let stopped = false;
  const name = basename(path);
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
      if (existsSync(path) || check) return;
      check = setTimeout(() => {
        check = null;
        if (!stopped && !existsSync(path)) onVanish();
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
