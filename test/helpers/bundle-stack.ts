/**
 * The production bundle (dist/pinauthd.cjs) as a child process, started the way the systemd
 * unit starts it: with the node flags of its ExecStart line. Used with a Stack from
 * stack.ts (its provider, simulator and config), which itself runs the tsc output.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT, type LogLine, type Stack } from './stack.js';

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

export class BundleProcess {
  readonly child: ChildProcess;
  readonly lines: string[] = [];
  readonly stderr: string[] = [];
  readonly exited: Promise<number | null>;
  private waiters: Array<() => void> = [];

  constructor(args: string[], env: NodeJS.ProcessEnv) {
    this.child = spawn(process.execPath, [...unitNodeFlags(), BUNDLE, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let buf = '';
    this.child.stdout!.setEncoding('utf8').on('data', (c: string) => {
      buf += c;
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        this.lines.push(buf.slice(0, nl));
        buf = buf.slice(nl + 1);
      }
      this.partial = buf;
      this.notify();
    });
    this.child.stderr!.setEncoding('utf8').on('data', (c: string) => {
      this.stderr.push(c);
      this.notify();
    });
    this.exited = new Promise((resolve) => this.child.on('exit', (code) => resolve(code)));
  }

  /** stdout after the last newline (a prompt). */
  partial = '';

  private notify(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  get output(): string {
    return `${this.lines.join('\n')}\n${this.partial}${this.stderr.join('')}`;
  }

  get logs(): LogLine[] {
    return this.lines.flatMap((l) => {
      try {
        return [JSON.parse(l) as LogLine];
      } catch {
        return [];
      }
    });
  }

  /** Resolves with the first value `check` returns from the output so far or later. */
  waitFor<T>(check: () => T | undefined | null | false, what: string, timeoutMs = 15_000): Promise<T> {
    const err = new Error(`timed out waiting for ${what}`);
    return new Promise((resolve, reject) => {
      let done = false;
      const timer = setTimeout(() => {
        done = true;
        err.message += `; output so far:\n${this.output.slice(-3000)}`;
        reject(err);
      }, timeoutMs);
      const attempt = () => {
        if (done) return;
        const v = check();
        if (v) {
          done = true;
          clearTimeout(timer);
          resolve(v);
        } else this.waiters.push(attempt);
      };
      attempt();
    });
  }

  waitForState(state: string, timeoutMs = 15_000): Promise<LogLine> {
    return this.waitFor(() => this.logs.find((l) => l.msg === `state ${state}`), `state ${state}`, timeoutMs);
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    return this.exited;
  }
}

const running = new Set<BundleProcess>();

/** The bundle with `args` and the stack's config and environment. */
export function spawnBundle(stack: Stack, args: string[], env: NodeJS.ProcessEnv = {}): BundleProcess {
  const p = new BundleProcess([...args, '--config', stack.configPath], stack.env(env));
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
