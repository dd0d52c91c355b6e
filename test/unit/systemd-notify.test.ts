import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { PassThrough } from 'node:stream';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync, chmodSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { createNotifier } from '../../src/service/notify.js';

type SpawnFn = typeof spawn;

interface LogLine {
  level: number;
  msg: string;
  notify?: string;
  failure?: string;
  [k: string]: unknown;
}

function captureLogger(): { logger: pino.Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const logger = pino({ level: 'debug' }, { write: (s: string) => void lines.push(JSON.parse(s) as LogLine) });
  return { logger, lines };
}

const WARN = 40;
const DEBUG = 20;

/** A stand-in for a spawned helper that the test finishes by hand. */
class FakeChild extends EventEmitter {
  readonly stderr = new PassThrough();
  unrefCalled = false;
  killedWith: string | undefined;
  unref(): void {
    this.unrefCalled = true;
  }
  kill(signal?: string): boolean {
    this.killedWith = signal ?? 'SIGTERM';
    queueMicrotask(() => this.emit('close', null, this.killedWith));
    return true;
  }
  exit(code: number, stderrText = ''): void {
    if (stderrText) this.stderr.write(stderrText);
    this.stderr.end();
    setImmediate(() => this.emit('close', code, null));
  }
}

interface Call {
  cmd: string;
  args: string[];
  env: NodeJS.ProcessEnv | undefined;
  child: FakeChild;
}

/** spawn double: records calls; `auto` decides how each child ends (default: exit 0). */
function fakeSpawn(auto?: (call: Call) => void): { spawnImpl: SpawnFn; calls: Call[]; next: () => Promise<Call> } {
  const calls: Call[] = [];
  let waiter: ((c: Call) => void) | undefined;
  const spawnImpl = ((cmd: string, args: string[], options: { env?: NodeJS.ProcessEnv }) => {
    const child = new FakeChild();
    const call: Call = { cmd, args: [...args], env: options?.env, child };
    calls.push(call);
    if (auto) auto(call);
    if (waiter) {
      const w = waiter;
      waiter = undefined;
      w(call);
    }
    return child;
  }) as unknown as SpawnFn;
  const next = (): Promise<Call> => new Promise((resolve) => (waiter = resolve));
  return { spawnImpl, calls, next };
}

const ENV = { NOTIFY_SOCKET: '/run/systemd/notify', PATH: '/usr/bin:/bin' };

test('does nothing at all without NOTIFY_SOCKET', async () => {
  const { spawnImpl, calls } = fakeSpawn((c) => c.child.exit(0));
  const n = createNotifier({
    logger: pino({ level: 'silent' }),
    env: { PATH: '/usr/bin', WATCHDOG_USEC: '2000' },
    spawnImpl,
  });
  assert.equal(n.enabled, false);
  await n.ready('up');
  await n.status('x');
  await n.stopping();
  n.startWatchdog();
  n.stopWatchdog();
  await n.idle();
  assert.equal(calls.length, 0);
});

test('an empty NOTIFY_SOCKET counts as unset', () => {
  const n = createNotifier({ logger: pino({ level: 'silent' }), env: { NOTIFY_SOCKET: '' }, spawnImpl: fakeSpawn().spawnImpl });
  assert.equal(n.enabled, false);
});

test('ready, status and stopping run blocking systemd-notify with the right arguments', async () => {
  const { spawnImpl, calls } = fakeSpawn((c) => c.child.exit(0));
  const n = createNotifier({ logger: pino({ level: 'silent' }), env: ENV, spawnImpl });
  assert.equal(n.enabled, true);
  await n.ready('Waiting for the keypad');
  await n.status('Authorized as @someone');
  await n.stopping();
  assert.deepEqual(
    calls.map((c) => [c.cmd, ...c.args]),
    [
      ['systemd-notify', '--ready', '--status=Waiting for the keypad'],
      ['systemd-notify', '--status=Authorized as @someone'],
      ['systemd-notify', 'STOPPING=1'],
    ],
  );
  assert.ok(calls.every((c) => !c.args.includes('--no-block')), 'the fire-and-forget mode loses messages');

});

test('ready without a status sends only --ready', async () => {
  const { spawnImpl, calls } = fakeSpawn((c) => c.child.exit(0));
  const n = createNotifier({ logger: pino({ level: 'silent' }), env: ENV, spawnImpl });
  await n.ready();
  assert.deepEqual(calls[0]?.args, ['--ready']);
});

test('the helper gets only NOTIFY_SOCKET and PATH, never the rest of the environment', async () => {
  const { spawnImpl, calls } = fakeSpawn((c) => c.child.exit(0));
  const n = createNotifier({
    logger: pino({ level: 'silent' }),
    env: { ...ENV, PINAUTHD_CONSUMER_SECRET: 'canary-secret-123' },
    spawnImpl,
  });
  await n.ready();
  assert.deepEqual(calls[0]?.env, { NOTIFY_SOCKET: '/run/systemd/notify', PATH: '/usr/bin:/bin' });
});

test('status text is made one printable line', async () => {
  const { spawnImpl, calls } = fakeSpawn((c) => c.child.exit(0));
  const n = createNotifier({ logger: pino({ level: 'silent' }), env: ENV, spawnImpl });
  await n.status('line one\nREADY=1\x07\r\n');
  assert.deepEqual(calls[0]?.args, ['--status=line one READY=1']);
  await n.status('y'.repeat(1000));
  assert.equal(calls[1]?.args[0]?.length, '--status='.length + 200);
});

test('runs one helper at a time, in order', async () => {
  const { spawnImpl, calls, next } = fakeSpawn();
  const n = createNotifier({ logger: pino({ level: 'silent' }), env: ENV, spawnImpl });
  const done: string[] = [];
  const first = next();
  void n.ready().then(() => done.push('ready'));
  void n.stopping().then(() => done.push('stopping'));
  const c1 = await first;
  assert.equal(calls.length, 1, 'the second message waits for the first helper');
  const second = next();
  c1.child.exit(0);
  const c2 = await second;
  assert.deepEqual(c2.args, ['STOPPING=1']);
  assert.deepEqual(done, ['ready']);
  c2.child.exit(0);
  await n.idle();
  assert.deepEqual(done, ['ready', 'stopping']);
});

test('queued status updates are coalesced: only the newest text is sent', async () => {
  const { spawnImpl, calls, next } = fakeSpawn();
  const n = createNotifier({ logger: pino({ level: 'silent' }), env: ENV, spawnImpl });
  const first = next();
  void n.ready();
  const c1 = await first;
  const settled: string[] = [];
  for (const t of ['a', 'b', 'c']) void n.status(t).then(() => settled.push(t));
  c1.child.exit(0);
  const c2 = await next();
  assert.deepEqual(c2.args, ['--status=c']);
  c2.child.exit(0);
  await n.idle();
  assert.equal(calls.length, 2);
  assert.deepEqual(settled.sort(), ['a', 'b', 'c'], 'every caller is released');
});

test('watchdog pings are coalesced while a helper hangs, and the timer runs at half WATCHDOG_USEC', async () => {
  const { spawnImpl, calls, next } = fakeSpawn();
  // 4 ms: a tick every 2 ms, so several ticks pass while the first helper is held open
  const n = createNotifier({
    logger: pino({ level: 'silent' }),
    env: { ...ENV, WATCHDOG_USEC: '4000' },
    spawnImpl,
  });
  const first = next();
  n.startWatchdog();
  const c1 = await first;
  assert.deepEqual(c1.args, ['WATCHDOG=1'], 'the first ping is sent at once');
  // let several 2 ms ticks pass while the first helper is held open
  await new Promise((r) => setTimeout(r, 30));
  assert.equal(calls.length, 1, 'still only the helper in flight');
  const second = next();
  c1.child.exit(0);
  const c2 = await second;
  assert.deepEqual(c2.args, ['WATCHDOG=1']);
  n.stopWatchdog();
  c2.child.exit(0);
  await n.idle();
  assert.equal(calls.length, 2, 'ticks queued behind a busy helper collapse into one ping');
});

test('no watchdog without WATCHDOG_USEC, or when WATCHDOG_PID names another process', async () => {
  for (const extra of [{}, { WATCHDOG_USEC: '0' }, { WATCHDOG_USEC: 'x' }, { WATCHDOG_USEC: '4000', WATCHDOG_PID: '1' }]) {
    const { spawnImpl, calls } = fakeSpawn((c) => c.child.exit(0));
    const n = createNotifier({ logger: pino({ level: 'silent' }), env: { ...ENV, ...extra }, spawnImpl, pid: 4242 });
    n.startWatchdog(); // would ping at once (synchronously) if it were armed
    n.stopWatchdog();
    await n.idle();
    assert.equal(calls.length, 0, `no ping expected for ${JSON.stringify(extra)}`);
  }
});

test('watchdog runs when WATCHDOG_PID is ours, and startWatchdog twice makes one timer', async () => {
  const { spawnImpl, calls, next } = fakeSpawn((c) => c.child.exit(0));
  const n = createNotifier({
    logger: pino({ level: 'silent' }),
    env: { ...ENV, WATCHDOG_USEC: '2000', WATCHDOG_PID: '4242' },
    spawnImpl,
    pid: 4242,
  });
  // the daemon's ports keep its loop alive; the notifier's own timer must not
  const keepAlive = setInterval(() => {}, 1000);
  try {
    n.startWatchdog();
    n.startWatchdog();
    while (calls.length < 4) await next();
    n.stopWatchdog();
    await n.idle();
    const count = calls.length;
    await new Promise((r) => setTimeout(r, 10));
    assert.equal(calls.length, count, 'no pings after stopWatchdog');
  } finally {
    clearInterval(keepAlive);
  }
  assert.ok(calls.every((c) => c.args.join(' ') === 'WATCHDOG=1'));
  assert.ok(calls.every((c) => c.child.unrefCalled), 'watchdog helpers never hold the loop');
});

test('a missing systemd-notify is logged once as a warning and never throws', async () => {
  const { logger, lines } = captureLogger();
  const { spawnImpl } = fakeSpawn((c) => {
    const err = Object.assign(new Error('spawn systemd-notify ENOENT'), { code: 'ENOENT' });
    setImmediate(() => {
      c.child.emit('error', err);
      c.child.emit('close', -2, null);
    });
  });
  const n = createNotifier({ logger, env: ENV, spawnImpl });
  await n.ready('x');
  await n.status('y');
  const warns = lines.filter((l) => l.level === WARN);
  assert.equal(warns.length, 1);
  assert.equal(warns[0]?.failure, 'spawn');
  assert.match(String(warns[0]?.error), /ENOENT/);
  assert.equal(lines.filter((l) => l.level === DEBUG && l.failure === 'spawn').length, 1);
});

test('a spawn that throws synchronously is caught', async () => {
  const { logger, lines } = captureLogger();
  const spawnImpl = (() => {
    throw new Error('boom');
  }) as unknown as SpawnFn;
  const n = createNotifier({ logger, env: ENV, spawnImpl });
  await n.ready();
  assert.equal(lines.filter((l) => l.level === WARN && l.failure === 'spawn').length, 1);
});

test('a non-zero exit is a warning with the helper stderr, once per kind', async () => {
  const { logger, lines } = captureLogger();
  const { spawnImpl } = fakeSpawn((c) => c.child.exit(1, 'Failed to notify init system: Permission denied\n'));
  const n = createNotifier({ logger, env: ENV, spawnImpl });
  await n.ready();
  await n.stopping();
  const warns = lines.filter((l) => l.level === WARN);
  assert.equal(warns.length, 1);
  assert.equal(warns[0]?.failure, 'exit');
  assert.equal(warns[0]?.exitCode, 1);
  assert.match(String(warns[0]?.stderr), /Permission denied/);
});

test('a helper that hangs is killed after the timeout and the queue goes on', async () => {
  const { logger, lines } = captureLogger();
  let first = true;
  const { spawnImpl, calls } = fakeSpawn((c) => {
    if (first) first = false; // hang: never exits on its own
    else c.child.exit(0);
  });
  const n = createNotifier({ logger, env: ENV, spawnImpl, timeoutMs: 5 });
  await n.ready();
  await n.stopping();
  assert.equal(calls[0]?.child.killedWith, 'SIGKILL');
  assert.equal(calls.length, 2);
  assert.equal(lines.filter((l) => l.level === WARN && l.failure === 'timeout').length, 1);
});

// ---- with the real child_process.spawn and a fake systemd-notify on PATH ----------------

function fakeHelperDir(script: string): { dir: string; record: string } {
  const dir = mkdtempSync(join(tmpdir(), 'pinauthd-notify-'));
  const record = join(dir, 'calls.txt');
  const bin = join(dir, 'systemd-notify');
  writeFileSync(bin, script.replaceAll('@RECORD@', record));
  chmodSync(bin, 0o755);
  return { dir, record };
}

test('real spawn: a fake systemd-notify on PATH records what the notifier sends', async (t) => {
  const { dir, record } = fakeHelperDir(
    '#!/bin/sh\nprintf "%s|%s\\n" "$NOTIFY_SOCKET" "$*" >> "@RECORD@"\nexit 0\n',
  );
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const { logger, lines } = captureLogger();
  const n = createNotifier({
    logger,
    env: { NOTIFY_SOCKET: '@fake/notify', PATH: `${dir}:/usr/bin:/bin`, WATCHDOG_USEC: '60000000' },
  });
  await n.ready('ready now');
  n.startWatchdog();
  await n.status('working');
  await n.stopping();
  n.stopWatchdog();
  await n.idle();
  assert.deepEqual(readFileSync(record, 'utf8').trim().split('\n'), [
    '@fake/notify|--ready --status=ready now',
    '@fake/notify|WATCHDOG=1',
    '@fake/notify|--status=working',
    '@fake/notify|STOPPING=1',
  ]);
  assert.equal(lines.filter((l) => l.level >= WARN).length, 0);
});

test('real spawn: a failing systemd-notify on PATH gives one warning', async (t) => {
  const { dir } = fakeHelperDir('#!/bin/sh\necho "Failed to notify init system: Connection refused" >&2\nexit 1\n');
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const { logger, lines } = captureLogger();
  const n = createNotifier({ logger, env: { NOTIFY_SOCKET: '/nonexistent', PATH: dir } });
  await n.ready();
  await n.ready();
  const warns = lines.filter((l) => l.level === WARN);
  assert.equal(warns.length, 1);
  assert.equal(warns[0]?.failure, 'exit');
  assert.match(String(warns[0]?.stderr), /Connection refused/);
});

test('real spawn: no systemd-notify on PATH (ENOENT) is a warning, not a crash', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pinauthd-notify-empty-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const { logger, lines } = captureLogger();
  const n = createNotifier({ logger, env: { NOTIFY_SOCKET: '/nonexistent', PATH: dir } });
  await n.ready();
  const warns = lines.filter((l) => l.level === WARN);
  assert.equal(warns.length, 1);
  assert.match(String(warns[0]?.error), /ENOENT/);
});

/** Runs a small ESM script with tsx in a child node; resolves with its exit code and stdout. */
async function runScript(script: string, env: NodeJS.ProcessEnv): Promise<{ code: number | null; out: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: new URL('../..', import.meta.url).pathname,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  return { code, out };
}

const moduleUrl = new URL('../../src/service/notify.ts', import.meta.url).href;

test('real spawn: the watchdog timer and a hanging ping do not keep the process alive', { timeout: 30_000 }, async (t) => {
  const { dir, record } = fakeHelperDir('#!/bin/sh\necho started >> "@RECORD@"\nexec sleep 10\n');
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const script = `
    import { pino } from 'pino';
    import { createNotifier } from ${JSON.stringify(moduleUrl)};
    const n = createNotifier({ logger: pino({ level: 'silent' }), timeoutMs: 120000 });
    n.startWatchdog();
    process.on('exit', () => console.log('exited'));
  `;
  const { code, out } = await runScript(script, {
    NOTIFY_SOCKET: '/nonexistent',
    WATCHDOG_USEC: '1000000',
    PATH: `${dir}:${process.env.PATH ?? ''}`,
  });
  assert.equal(code, 0);
  assert.match(out, /exited/);
  assert.ok(existsSync(record), 'the ping helper was started');
});

test('real spawn: code after an awaited message runs even when nothing else is alive; a hung helper is killed', { timeout: 30_000 }, async (t) => {
  const { dir } = fakeHelperDir('#!/bin/sh\nexec sleep 60\n');
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const script = `
    import { pino } from 'pino';
    import { createNotifier } from ${JSON.stringify(moduleUrl)};
    const n = createNotifier({ logger: pino({ level: 'silent' }), timeoutMs: 200 });
    await n.stopping();
    console.log('after stopping');
  `;
  const { code, out } = await runScript(script, { NOTIFY_SOCKET: '/nonexistent', PATH: `${dir}:${process.env.PATH ?? ''}` });
  assert.equal(code, 0);
  assert.match(out, /after stopping/);
});
