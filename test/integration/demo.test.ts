/**
 * `npm start`, the README's first run: the demo (dist/scripts/demo.js) plays the person
 * without a terminal, and however it ends it takes its daemon and its files with it.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

function startDemo(args: string[]): { child: ChildProcess; output: () => string; exited: Promise<number | null>; waitFor: (re: RegExp) => Promise<RegExpExecArray> } {
  const child = spawn(process.execPath, [path.join(ROOT, 'dist/scripts/demo.js'), '--auto', '--port', '0', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const waiters: Array<() => void> = [];
  const onData = (c: string) => {
    out += c;
    for (const w of waiters.splice(0)) w();
  };
  child.stdout!.setEncoding('utf8').on('data', onData);
  child.stderr!.setEncoding('utf8').on('data', onData);
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const waitFor = (re: RegExp) =>
    new Promise<RegExpExecArray>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${re}; output:\n${out.slice(-2000)}`)), 60_000);
      const check = () => {
        const m = re.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(m);
        } else waiters.push(check);
      };
      check();
    });
  return { child, output: () => out, exited, waitFor };
}

/** Processes whose command line names `dir`: the demo's daemon (its config is there) and socat (its PTY link). */
function processesUsing(dir: string): string[] {
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .map((p) => {
      try {
        return readFileSync(`/proc/${p}/cmdline`, 'utf8').replace(/\0/g, ' ');
      } catch {
        return '';
      }
    })
    .filter((cmd) => cmd.includes(dir));
}

describe('the demo (npm start)', () => {
  it('--auto --once: plays the person, exits 0 with the token stored, removes its files', async () => {
    const demo = startDemo(['--once']);
    try {
      const [, dir] = await demo.waitFor(/^files: +(\S+) \(removed at the end\)$/m);
      assert.equal(await demo.exited, 0, demo.output().slice(-2000));
      assert.match(demo.output(), /Authorized as/);
      assert.match(demo.output(), /\[demo\] done: the token was stored and the daemon exited 0/);
      assert.equal(existsSync(dir!), false, 'files removed');
    } finally {
      demo.child.kill('SIGTERM');
    }
  });

  it('the terminal closed (SIGHUP) while the daemon keeps running: the daemon and the files go too', async () => {
    const demo = startDemo([]);
    try {
      const [, dir] = await demo.waitFor(/^files: +(\S+) \(removed at the end\)$/m);
      await demo.waitFor(/\[demo\] authorized; the daemon keeps running/);
      assert.equal(processesUsing(`${dir}/config.json`).length, 1, 'the daemon runs');
      demo.child.kill('SIGHUP');
      await demo.exited;
      assert.equal(existsSync(dir!), false, `files removed; output:\n${demo.output().slice(-1000)}`);
      assert.deepEqual(processesUsing(dir!), [], 'no daemon or socat left behind');
    } finally {
      demo.child.kill('SIGTERM');
    }
  });
});
