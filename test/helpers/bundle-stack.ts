/**
 * The production bundle (dist/pinauthd.cjs) as a child process, started the way the systemd
 * unit starts it: the script and node flags of its ExecStart line (the loader,
 * dist/pinauthd-start.cjs, which runs the bundle with its V8 code cache). Used with a Stack
 * from stack.ts (its provider, simulator and config), which itself runs the tsc output. The
 * code cache goes to the stack's own directory ($CACHE_DIRECTORY, as systemd sets it).
 */
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { DaemonProcess, ROOT, type Stack } from './stack.js';

export const BUNDLE = path.join(ROOT, 'dist/pinauthd.cjs');

function execStart(unitText: string): { words: string[]; script: number } {
  const line = /^ExecStart=(.*)$/m.exec(unitText)?.[1];
  if (!line) throw new Error('the unit has no ExecStart');
  const words = line.trim().split(/\s+/);
  const script = words.findIndex((w) => w.endsWith('.cjs') || w.endsWith('.js') || w.endsWith('.mjs'));
  if (script < 1) throw new Error(`no script on ExecStart: ${line}`);
  return { words, script };
}
const unitFile = (): string => readFileSync(path.join(ROOT, 'systemd/pinauthd.service'), 'utf8');

/** The node flags between the node binary and the script on the unit's ExecStart line. */
export function unitNodeFlags(unitText = unitFile()): string[] {
  const { words, script } = execStart(unitText);
  return words.slice(1, script);
}

/** The script the unit runs, in this checkout's dist/ (/opt/pinauthd/dist/X -> dist/X). */
export function unitScript(unitText = unitFile()): string {
  const { words, script } = execStart(unitText);
  return path.join(ROOT, 'dist', path.basename(words[script]!));
}

/** Where spawnBundle() has the loader keep its code cache for this stack. */
export const cacheDirOf = (stack: Stack): string => path.join(stack.dir, 'v8cache');

const running = new Set<DaemonProcess>();

/** The bundle, as the unit runs it, with `args` and the stack's config and environment. */
export function spawnBundle(stack: Stack, args: string[], env: NodeJS.ProcessEnv = {}): DaemonProcess {
  mkdirSync(cacheDirOf(stack), { recursive: true });
  const p = new DaemonProcess(
    [...args, '--config', stack.configPath],
    stack.env({ CACHE_DIRECTORY: cacheDirOf(stack), ...env }),
    [...unitNodeFlags(), unitScript()],
  );
  running.add(p);
  void p.exited.then(() => running.delete(p));
  return p;
}

/** Run a short command to completion. */
export async function bundleCli(stack: Stack, args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const p = spawnBundle(stack, args, env);
  const code = await p.exited;
  return { code, stdout: p.lines.join('\n') + p.partial, stderr: p.stderr.join('') };
}

/** Kill whatever bundle processes a test left running. */
export async function stopBundles(): Promise<void> {
  await Promise.all([...running].map((p) => p.stop('SIGKILL')));
}
