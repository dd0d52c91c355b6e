/**
 * The command the systemd unit runs, read from systemd/pinauthd.service, so that the soak and
 * the test harness (test/helpers/stack.ts) run what ExecStart names (whatever the loader
 * becomes) and not a copy of it: the node flags between the node binary and the script, the
 * script (/opt/pinauthd/dist/X is this checkout's dist/X), the arguments after it, and the
 * unit's Environment= lines (read as src/commands/service-env.ts reads an installed unit).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { serviceAssignments, unitEnvironment } from '../../src/commands/service-env.js';

/** The checkout's root (this file runs from scripts/soak/ under tsx, or from dist/scripts/soak/ after tsc). */
export const ROOT = (() => {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!/^\s*"name": "pinauthd"/m.test(readOr(path.join(dir, 'package.json')))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error('cannot find the pinauthd checkout above scripts/soak');
    dir = up;
  }
  return dir;
})();

function readOr(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

export interface UnitCommand {
  nodeFlags: string[];
  /** Absolute path in this checkout. */
  script: string;
  args: string[];
  env: Record<string, string>;
}

export function unitCommand(unitText = readFileSync(path.join(ROOT, 'systemd/pinauthd.service'), 'utf8')): UnitCommand {
  const line = /^ExecStart=(.*)$/m.exec(unitText)?.[1];
  if (!line) throw new Error('the unit has no ExecStart');
  const words = line.trim().split(/\s+/);
  const at = words.findIndex((w) => /\.(c|m)?js$/.test(w));
  if (at < 1) throw new Error(`no script on ExecStart: ${line}`);
  // the unit's Environment= read as doctor reads the installed unit (src/commands/service-env.ts)
  const { env } = unitEnvironment(serviceAssignments(unitText));
  return { nodeFlags: words.slice(1, at), script: path.join(ROOT, 'dist', path.basename(words[at]!)), args: words.slice(at + 1), env };
}
