/**
 * The state directory is only used when nobody less trusted than us controls it, because
 * operator commands run as root and would otherwise chmod, rename, read and delete through a
 * user's symbolic link (`ln -s /root/secrets ~/state`, then `sudo pinauthd logout`).
 *
 *  - A symbolic link on the way to it counts only when root or we own the link (the rule the
 *    kernel's fs.protected_symlinks applies in sticky directories).
 *  - The directory itself must be ours or root's, or else placed by root: every directory
 *    above it root's and writable by root alone, as systemd's StateDirectory= with
 *    DynamicUser= leaves /var/lib/private/pinauthd (owned by the service's transient user).
 *  - Files in it are opened with O_NOFOLLOW and changed through their descriptor.
 */
import { lstatSync, realpathSync, type Stats } from 'node:fs';
import path from 'node:path';
import { PinauthError } from '../errors.js';

const MAX_LINKS = 40;

function euid(): number {
  return process.geteuid?.() ?? 0;
}

function refuse(message: string): PinauthError {
  return new PinauthError('STORE_PERMISSIONS', message);
}

/** Root's, and writable by root alone (no group/other write bit). */
function rootControlled(st: Stats): boolean {
  return st.uid === 0 && (st.mode & 0o022) === 0;
}

export interface StateDirectory {
  /** The directory's real path (links resolved), or the path as given when it does not exist yet. */
  realPath: string;
  /** Its lstat, when it exists. */
  stats: Stats | null;
}

/**
 * Check the state directory (synchronously: it runs once, before the instance lock). Throws
 * STORE_PERMISSIONS saying what is wrong. A directory that does not exist yet passes (it is
 * created by us, with our owner and 0700).
 */
export function checkStateDirectory(dir: string): StateDirectory {
  const me = euid();
  let parts = path.resolve(dir).split(path.sep).filter(Boolean);
  let current: string = path.sep;
  let placedByRoot = true;
  let links = 0;
  let stats: Stats | null = null;
  for (let i = 0; i < parts.length; i++) {
    const next = path.join(current, parts[i]!);
    let st: Stats;
    try {
      st = lstatSync(next);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { realPath: path.join(next, ...parts.slice(i + 1)), stats: null };
      throw refuse(`cannot check the state directory ${dir}: ${next} (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
    }
    if (st.isSymbolicLink()) {
      if (st.uid !== 0 && st.uid !== me) {
        throw refuse(`the state directory ${dir} goes through the symbolic link ${next}, owned by uid ${st.uid} (not root or this user): refusing to follow it; set store.path to a directory root or this user controls`);
      }
      if (++links > MAX_LINKS) throw refuse(`the state directory ${dir}: too many symbolic links`);
      // Walk the link's target from the top: the directories it goes through are checked too.
      parts = [...realpathSync(next).split(path.sep).filter(Boolean), ...parts.slice(i + 1)];
      current = path.sep;
      placedByRoot = true;
      i = -1;
      continue;
    }
    const last = i === parts.length - 1;
    if (last) {
      stats = st;
    } else {
      if (!st.isDirectory()) throw refuse(`the state directory ${dir}: ${next} is not a directory`);
      placedByRoot &&= rootControlled(st);
    }
    current = next;
  }
  if (stats) {
    if (!stats.isDirectory()) throw refuse(`the state directory ${current} is not a directory`);
    if (stats.uid !== me && stats.uid !== 0 && !placedByRoot) {
      throw refuse(
        `the state directory ${current} belongs to uid ${stats.uid}, not to this user (uid ${me}) or root, and a directory above it is not root's alone: refusing to use it (run as its owner, or set store.path to a directory of your own)`,
      );
    }
  }
  return { realPath: current, stats };
}
