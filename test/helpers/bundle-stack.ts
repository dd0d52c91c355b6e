/**
 * The production bundle (dist/pinauthd.cjs) as a child process, started the way the systemd
 * unit starts it: with the node flags of its ExecStart line. Used with a Stack from
 * stack.ts (its provider, simulator and config), which itself runs the tsc output.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { DaemonProcess, ROOT, type Stack } from './stack.js';

export const BUNDLE = path.join(ROOT, 'dist/pinauthd.cjs');

/** The node flags between the node binary and the script on the unit's ExecStart line. */
export function unitNodeFlags(unitText = readFileSync(path.join(ROOT, 'systemd/pinauthd.service'), 'utf8')): string[] {
  const line = /^ExecStart=(.*)$/m.exec(unitText)?.[1];
  if (!line) throw new Error('the unit has no ExecStart');
  const words = line.trim().split(/\s+/);
  const script = words.findIndex((w) => w.endsWith('.cjs') || w.endsWith('.js') || w.endsWith('.mjs'));
  if (script < 1) throw new Error(`no script on ExecStart: ${line}`);
  return words.slice(1, script);
}

const running = new Set<DaemonProcess>();

/** The bundle with `args` and the stack's config and environment. */
export function spawnBundle(stack: Stack, args: string[], env: NodeJS.ProcessEnv = {}): DaemonProcess {
  const p = new DaemonProcess([...args, '--config', stack.configPath], stack.env(env), [...unitNodeFlags(), BUNDLE]);
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
