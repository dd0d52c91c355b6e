/**
 * The daemon as a process: restarts in the middle of the flow, signals, SIGHUP reloads, the
 * single-instance lock and the exit status of an internal error. No timing is asserted;
 * the stop time is measured and reported as a diagnostic.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { SimDevice } from '../../firmware-sim/device.js';
import { startPtySim } from '../../firmware-sim/pty.js';
import { Stack, type DaemonProcess } from '../helpers/stack.js';

function typeKeys(s: Stack, keys: string): void {
  for (const k of keys) s.sim.pressKey(k);
}

/** No daemon, no store, a provider without tokens or faults. */
async function fresh(s: Stack): Promise<void> {
  await s.reset();
}

/** Send a signal and return the exit code and how long the exit took (ms, reported only). */
async function stopTimed(d: DaemonProcess, signal: NodeJS.Signals): Promise<{ code: number | null; ms: number }> {
  const t0 = performance.now();
  const code = await d.stop(signal);
  return { code, ms: Math.round(performance.now() - t0) };
}

describe('process lifecycle', () => {
  let s: Stack;
  const stopTimes: number[] = [];
  before(async () => {
    s = await Stack.start({ profile: 'lcd20x4', keypadMode: 'keys' });
  });
  after(async () => {
    await s.close();
  });

  it('restart during PIN entry resumes the same URL; the PIN still works; SIGTERM and SIGINT exit 0', async (t) => {
    let d = s.spawn(['run']);
    await d.waitForState('awaiting_pin');
    const token = await s.pendingToken();
    const pin = s.provider.approve(token);
    typeKeys(s, pin.slice(0, 3));
    await s.waitForText(`PIN: ${pin.slice(0, 3)}`);
    const term = await stopTimed(d, 'SIGTERM');
    assert.equal(term.code, 0, d.output.slice(-2000));
    stopTimes.push(term.ms);
    await s.waitForText('pinauthd stopped');

    d = s.spawn(['run']);
    await d.waitForState('awaiting_pin');
    assert.equal(await s.pendingToken(), token, 'same request token after the restart');
    assert.equal((await s.cli(['status', '--json'])).stdout.includes(`oauth_token=${token}`), true);
    await s.waitForText('Open link:');
    assert.equal(s.provider.stats().request_token.requests, 1, 'no new request token');
    typeKeys(s, pin);
    await d.waitForState('authorized');
    await s.waitForText('@twitterapi');

    const int = await stopTimed(d, 'SIGINT');
    assert.equal(int.code, 0, d.output.slice(-2000));
    stopTimes.push(int.ms);
    t.diagnostic(`stop times (signal -> exit, ms): ${stopTimes.join(', ')}`);
  });

  it('SIGTERM while the PIN is at the provider still stores the token it issued', async (t) => {
    await fresh(s);
    const d = s.spawn(['run']);
    await d.waitForState('awaiting_pin');
    const pin = await s.approve();
    s.provider.faults.delayMs = 700; // the access token is issued at once, the reply held back
    s.provider.faults.delayEndpoint = 'access_token';
    typeKeys(s, pin);
    await d.waitForState('exchanging');
    const term = await stopTimed(d, 'SIGTERM');
    assert.equal(term.code, 0, d.output.slice(-2000));
    t.diagnostic(`stop time with the PIN exchange in flight (reply held 700 ms): ${term.ms} ms`);
    assert.equal(s.provider.stats().access_token.statuses['200'], 1);
    const store = await s.readStore();
    assert.equal(store.accounts.length, 1);
    assert.equal(store.pending, null);
    assert.ok(d.logs.some((l) => l.msg === 'authorized'));
    s.provider.faults.delayMs = 0;
  });

  it('a second `run` with the same store exits 7 with a clear message', async () => {
    await fresh(s);
    const d = s.spawn(['run']);
    await d.waitForState('awaiting_pin');
    const second = await s.cli(['run']);
    assert.equal(second.code, 7);
    assert.match(second.stdout + second.stderr, /another pinauthd \(pid \d+\) is running/);
    assert.equal((await s.status())?.state, 'awaiting_pin', 'the first one is unharmed');
    assert.equal(await d.stop('SIGTERM'), 0);
  });

  it('an uncaught exception exits 70 with a fatal log line', async () => {
    const boom = path.join(s.dir, 'boom.mjs');
    // A planted fault the test can fire once the daemon runs: a signal handler that throws.
    await writeFile(boom, "process.on('SIGUSR2', () => { throw new Error('planted failure'); });\n");
    const d = s.spawn(['run'], { NODE_OPTIONS: `--import=${pathToFileURL(boom).href}` });
    await d.waitForLog((l) => typeof l.msg === 'string' && l.msg.startsWith('state '));
    d.child.kill('SIGUSR2');
    assert.equal(await d.exited, 70, d.output.slice(-2000));
    assert.ok(d.logs.some((l) => l.level === 60 && l.msg === 'uncaught exception'), d.output.slice(-2000));
  });
});

describe('SIGHUP reload', () => {
  let s: Stack;
  before(async () => {
    s = await Stack.start({ config: (c) => (c.log = { level: 'info' }) });
  });
  after(async () => {
    await s.close();
  });

  it('a good config: the new log level and backoff take effect', async () => {
    // No PINAUTHD_LOG_LEVEL: the config's level counts.
    const d = s.spawn(['run'], { PINAUTHD_LOG_LEVEL: undefined });
    await d.waitForState('awaiting_pin');
    assert.equal(d.logs.filter((l) => l.msg === 'oauth call').length, 0, 'no debug lines at info');
    await s.rewriteConfig((c) => {
      c.log = { level: 'debug' };
      c.daemon.backoff = { initialMs: 6000, maxMs: 6000 };
    });
    d.child.kill('SIGHUP');
    await d.waitForLog((l) => l.msg === 'config reloaded');
    s.provider.faults.fail5xx = { count: 1, endpoint: 'request_token' };
    s.sim.pressKey('D');
    await d.waitForState('waiting');
    await d.waitForLog((l) => l.msg === 'oauth call' && l.level === 20, 15_000, 'a debug line after the reload');
    const st = await s.status();
    // Half of a 6 s step at least (full jitter above half); the old plan capped at 1 s.
    assert.ok(Date.parse(st!.retryAt!) - Date.parse(st!.since) >= 3000, JSON.stringify(st));
    assert.equal(await d.stop('SIGTERM'), 0);
  });

  it('the provider clock offset learnt before a reload is kept: no refused call after it', async () => {
    await fresh(s);
    s.provider.faults.clockSkewSec = 3600;
    try {
      const d = s.spawn(['run'], { PINAUTHD_LOG_LEVEL: undefined });
      await d.waitForState('awaiting_pin');
      assert.equal(s.provider.stats().request_token.requests, 2, 'one refused timestamp, one retry');
      d.child.kill('SIGHUP'); // a new OAuth client, for the same provider
      await d.waitForLog((l) => l.msg === 'config reloaded');
      s.sim.pressKey('D');
      await d.waitForState('awaiting_pin', 15_000, 2);
      assert.equal(s.provider.stats().request_token.requests, 3, 'the fresh code in one call, with the kept offset');
      assert.equal(d.logs.filter((l) => l.msg === 'clock skew corrected').length, 1);
      assert.equal(await d.stop('SIGTERM'), 0);
    } finally {
      s.provider.faults.clockSkewSec = 0;
    }
  });

  it('a bad config: the old one is kept and the error logged with its path', async () => {
    await s.rewriteConfig((c) => {
      c.log = { level: 'info' };
      c.daemon.backoff = { initialMs: 200, maxMs: 1000 };
    });
    const d = s.spawn(['run'], { PINAUTHD_LOG_LEVEL: undefined });
    await d.waitForState('awaiting_pin');
    const good = JSON.stringify(s.fileConfig, null, 2);
    await writeFile(s.configPath, JSON.stringify({ ...s.fileConfig, daemon: { pinTries: 'three' } }));
    d.child.kill('SIGHUP');
    const line = await d.waitForLog((l) => l.msg === 'config reload failed; keeping the old config');
    assert.equal(line.level, 50);
    assert.match(String((line.err as { message?: string }).message), /daemon\/pinTries|daemon\.pinTries/);
    // Still running on the old config: the flow works.
    const pin = await s.approve();
    typeKeys(s, pin);
    await d.waitForState('authorized');
    await writeFile(s.configPath, good);
    assert.equal(await d.stop('SIGTERM'), 0);
  });

  it('a new display port: the device is reopened there, and the flow goes on on it', async () => {
    await fresh(s);
    const other = new SimDevice({ profile: 'lcd16x2', keypadMode: 'keys', delimiter: 'LF' });
    const link = await startPtySim({ device: other, dir: path.join(s.dir, 'other') });
    const oldPort = s.fileConfig.display.port;
    try {
      const d = s.spawn(['run'], { PINAUTHD_LOG_LEVEL: undefined });
      await d.waitForState('awaiting_pin');
      await s.waitForText('Open link:');
      await s.rewriteConfig((c) => (c.display.port = link.hostPath));
      d.child.kill('SIGHUP');
      await d.waitForLog((l) => l.msg === 'config reloaded' && l.device === true);
      const token = await s.pendingToken();
      await new Promise<void>((resolve) => {
        const check = () => other.screenText().join('\n').includes('Open link:') && (other.off('screen', check), resolve());
        other.on('screen', check);
        check();
      });
      // The keypad of the new device types the PIN; the request token is the same one.
      for (const k of s.provider.approve(token)) other.pressKey(k);
      await d.waitForState('authorized');
      assert.equal(await d.stop('SIGTERM'), 0);
    } finally {
      await s.rewriteConfig((c) => (c.display.port = oldPort));
      await link.close();
    }
  });

  it('a setting that needs a restart (store.path): the reload is refused with the reason, nothing applied', async () => {
    await fresh(s);
    const d = s.spawn(['run'], { PINAUTHD_LOG_LEVEL: undefined });
    await d.waitForState('awaiting_pin');
    const oldStore = s.fileConfig.store.path;
    await s.rewriteConfig((c) => {
      c.store.path = path.join(s.dir, 'elsewhere', 'tokens.json');
      c.log = { level: 'debug' };
    });
    d.child.kill('SIGHUP');
    const line = await d.waitForLog((l) => /^config reload refused/.test(String(l.msg)));
    assert.equal(line.level, 50);
    assert.deepEqual(line.settings, ['store.path']);
    assert.match(String(line.msg), /store\.path cannot change without a restart/);
    await s.rewriteConfig((c) => {
      c.store.path = oldStore;
      c.log = { level: 'info' };
    });
    // Nothing applied: not the log level, and the token goes to the old store.
    typeKeys(s, await s.approve());
    await d.waitForState('authorized');
    assert.equal(d.logs.filter((l) => l.msg === 'oauth call').length, 0, 'still at info');
    assert.equal((await s.readStore()).accounts.length, 1);
    assert.equal(await d.stop('SIGTERM'), 0);
  });
});
