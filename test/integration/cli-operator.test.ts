/**
 * The operator commands against the real stack: status, reauth, logout, token, doctor,
 * login --console, and the exit codes of src/cli.ts.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { spawn } from 'node:child_process';
import { DAEMON_ENTRY, DEMO_KEY, DEMO_SECRET, Stack, type DaemonProcess } from '../helpers/stack.js';

/** A loopback port with nothing listening. */
async function closedPort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as net.AddressInfo;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

describe('operator commands', () => {
  let s: Stack;
  before(async () => {
    s = await Stack.start({ profile: 'lcd20x4', keypadMode: 'keys' });
  });
  after(async () => {
    await s.close();
  });
  beforeEach(async () => {
    await s.reset();
  });

  it('status and status --json while running and while stopped; token --json', async () => {
    let d = s.spawn(['run']);
    await d.waitForState('awaiting_pin');
    let r = await s.cli(['status']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /pinauthd is running: awaiting_pin since \d{4}-/);
    assert.match(r.stdout, /account: none/);
    assert.match(r.stdout, /waiting for a PIN: http:\/\/127\.0\.0\.1:\d+\/oauth\/authorize\?oauth_token=/);
    assert.match(r.stdout, /device: connected/);
    s.typeKeys(await s.approve());
    await d.waitForState('authorized');
    assert.equal(await d.stop('SIGTERM'), 0);

    // Restarted: verifyOnStart records the last verification.
    d = s.spawn(['run']);
    await d.waitForState('authorized');
    r = await s.cli(['status', '--json']);
    assert.equal(r.code, 0);
    const st = JSON.parse(r.stdout);
    assert.equal(st.running, true);
    assert.equal(st.state, 'authorized');
    assert.ok(!Number.isNaN(Date.parse(st.since)));
    assert.equal(st.account.screenName, 'twitterapi');
    assert.equal(st.account.userId, '6253282');
    assert.ok(!Number.isNaN(Date.parse(st.account.verifiedAt)), 'last verification');
    assert.equal(st.deviceConnected, true);
    r = await s.cli(['status']);
    assert.match(r.stdout, /account: @twitterapi \(user 6253282\) on local/);
    assert.match(r.stdout, /last verified: \d{4}-/);

    const tok = await s.cli(['token', '--json']);
    assert.equal(tok.code, 0);
    const stored = (await s.readStore()).accounts[0];
    assert.deepEqual(JSON.parse(tok.stdout), {
      provider: 'local', consumerKey: DEMO_KEY, userId: '6253282', screenName: 'twitterapi',
      token: stored.token, tokenSecret: stored.tokenSecret, createdAt: stored.createdAt, verifiedAt: stored.verifiedAt,
    });
    assert.equal(await d.stop('SIGTERM'), 0);

    r = await s.cli(['status', '--json']);
    assert.equal(r.code, 0);
    const off = JSON.parse(r.stdout);
    assert.equal(off.running, false);
    assert.equal(off.account.screenName, 'twitterapi');
    assert.equal(off.account.verifiedAt, stored.verifiedAt);
    r = await s.cli(['status']);
    assert.match(r.stdout, /pinauthd is not running/);
    assert.match(r.stdout, /account: @twitterapi/);
    for (const out of [r.stdout, tok.stderr, JSON.stringify(st)]) assert.ok(!out.includes(stored.tokenSecret) && !out.includes(DEMO_SECRET));
  });

  it('status with nothing stored and no daemon exits 1; token --json exits 1; token without --json is a usage error', async () => {
    const r = await s.cli(['status', '--json']);
    assert.equal(r.code, 1);
    assert.equal(JSON.parse(r.stdout).account, null);
    assert.equal((await s.cli(['token', '--json'])).code, 1);
    assert.equal((await s.cli(['token'])).code, 2);
  });

  it('reauth through the control socket: a new URL, the old token kept until the new one is stored', async () => {
    const d = s.spawn(['run']);
    await s.authorize(d);
    const old = (await s.readStore()).accounts[0].token;
    const r = await s.cli(['reauth']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /re-authorization started/);
    await d.waitForState('awaiting_pin', 15_000, 2);
    await s.waitForText('Open link:');
    assert.equal((await s.readStore()).accounts[0].token, old);
    s.typeKeys(await s.approve());
    await d.waitForState('authorized', 15_000, 2);
    const store = await s.readStore();
    assert.equal(store.accounts.length, 1);
    assert.notEqual(store.accounts[0].token, old);
  });

  it('reauth not running exits 1 with advice', async () => {
    const r = await s.cli(['reauth']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /not running/);
  });

  it('reauth through the keypad: 0000# asks, * says no, 0000# and # start it', async () => {
    const d = s.spawn(['run']);
    await s.authorize(d);
    s.typeKeys('0000#');
    await d.waitForState('confirm_reauth');
    await s.waitForText('#=yes *=no');
    s.sim.pressKey('*');
    await d.waitForState('authorized', 15_000, 2);
    await s.waitForText('@twitterapi');
    s.typeKeys('0000#');
    await d.waitForState('confirm_reauth', 15_000, 2);
    s.sim.pressKey('#');
    await d.waitForState('awaiting_pin', 15_000, 2);
    await s.waitForText('Open link:');
  });

  it('logout while running: invalidated at the provider, removed, back to the PIN flow', async () => {
    const d = s.spawn(['run']);
    await s.authorize(d);
    const r = await s.cli(['logout']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /invalidated at the provider and removed/);
    assert.equal(s.provider.stats().invalidate_token.requests, 1);
    assert.equal(s.provider.stats().invalidate_token.statuses['200'], 1);
    assert.equal((await s.readStore()).accounts.length, 0);
    await d.waitForState('awaiting_pin', 15_000, 2);
    await s.waitForText('Open link:');
    assert.equal((await s.status())?.account, null);
    assert.equal((await s.cli(['logout'])).stdout.trim(), 'no account stored: nothing to log out');
  });

  it('logout while not running: under the lock, invalidated and removed', async () => {
    const d = s.spawn(['run']);
    await s.authorize(d);
    assert.equal(await d.stop('SIGTERM'), 0);
    const r = await s.cli(['logout', '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { removed: true, invalidated: true });
    assert.equal(s.provider.stats().invalidate_token.statuses['200'], 1);
    assert.equal((await s.readStore()).accounts.length, 0);
  });

  it('doctor against the running stack: exit 0, finds the PTY, the provider and the clock', async () => {
    const d = s.spawn(['run']);
    await d.waitForState('awaiting_pin');
    const r = await s.cli(['doctor']);
    assert.equal(r.code, 0, r.stdout);
    assert.match(r.stdout, /^ok +config: /m);
    assert.match(r.stdout, /^info +daemon: running: awaiting_pin/m);
    assert.match(r.stdout, /^ok +display port: .*pinpad-host -> \/dev\/pts\/\d+ is readable and writable/m);
    assert.match(r.stdout, /^ok +provider: http:\/\/127\.0\.0\.1:\d+ answered/m);
    assert.match(r.stdout, /^ok +clock: this clock is \d+ s/m);
    assert.doesNotMatch(r.stdout, /FAIL/);
    const j = await s.cli(['doctor', '--json']);
    assert.equal(j.code, 0);
    assert.ok((JSON.parse(j.stdout) as Array<{ check: string }>).some((f) => f.check === 'clock'));
  });

  it('doctor with a missing port and an unreachable provider: exit 1, each FAIL with a fix', async () => {
    const cfgPath = path.join(s.dir, 'broken.json');
    await writeFile(cfgPath, JSON.stringify({
      ...s.fileConfig,
      provider: { ...s.fileConfig.provider, baseUrl: `http://127.0.0.1:${await closedPort()}` },
      display: { ...s.fileConfig.display, port: path.join(s.dir, 'no-such-tty') },
      keypad: { driver: 'evdev', port: path.join(s.dir, 'no-such-event-kbd') },
    }));
    const r = await runCli(s, ['doctor', '--config', cfgPath]);
    assert.equal(r.code, 1, r.stdout);
    const lines = r.stdout.split('\n');
    const fails = lines.map((l, i) => [l, lines[i + 1] ?? ''] as const).filter(([l]) => l.startsWith('FAIL'));
    assert.ok(fails.some(([l]) => /display port: .*no-such-tty does not exist/.test(l)), r.stdout);
    assert.ok(fails.some(([l]) => /provider: http:\/\/127\.0\.0\.1:\d+: .*ECONNREFUSED/.test(l)), r.stdout);
    // A USB keypad is an input device, not a serial port: its own wording and fix.
    const keypad = fails.find(([l]) => /keypad device: .*no-such-event-kbd does not exist/.test(l));
    assert.ok(keypad, r.stdout);
    assert.match(keypad[1], /\/dev\/input\/by-id/);
    assert.doesNotMatch(r.stdout, /keypad port/);
    for (const [l, next] of fails) assert.match(next, /^ {6}fix: \S/, `a fix for: ${l}`);
  });

  it('config errors exit 3 and list every path: message', async () => {
    const cfgPath = path.join(s.dir, 'invalid.json');
    await writeFile(cfgPath, JSON.stringify({ ...s.fileConfig, display: { ...s.fileConfig.display, cols: 'wide' }, daemon: { pinTries: 0 } }));
    for (const cmd of [['run'], ['status'], ['login', '--console']]) {
      const r = await runCli(s, [...cmd, '--config', cfgPath]);
      assert.equal(r.code, 3, `${cmd.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, /^\/?display[./]cols: must be integer$/m, r.stderr);
      assert.match(r.stderr, /^\/?daemon[./]pinTries: must be >= 1$/m, r.stderr);
    }
  });

  it('usage errors exit 2', async () => {
    assert.equal((await runCli(s, [])).code, 2);
    assert.equal((await runCli(s, ['frobnicate'])).code, 2);
    assert.equal((await runCli(s, ['login', '--config', s.configPath])).code, 2);
    assert.equal((await runCli(s, ['status', '--bogus'])).code, 2);
    assert.equal((await runCli(s, ['--help'])).code, 0);
  });

  it('login --console over pipes: prints the URL, reads the PIN line, exits 0; status shows the account', async () => {
    const d = s.spawn(['login', '--console']);
    // The console shows the URL as the LCD does, without the scheme.
    const urlRe = /(?:http:\/\/)?127\.0\.0\.1:\d+\/oauth\/authorize\?oauth_token=([\w-]+)/;
    const deadline = Date.now() + 15_000;
    let m: RegExpExecArray | null = null;
    while (!(m = urlRe.exec(d.lines.join('\n'))) && Date.now() < deadline && d.child.exitCode === null) {
      await new Promise((r) => setTimeout(r, 25));
    }
    assert.ok(m, `no URL printed; output:\n${d.output.slice(-2000)}`);
    const pin = s.provider.approve(m[1]!);
    d.child.stdin!.end(`${pin}\n`); // the PIN line, then the end of input: still exchanged
    assert.equal(await d.exited, 0, d.output.slice(-2000));
    assert.match(d.lines.join('\n'), /Authorized as @twitterapi/);
    assert.ok(!d.output.includes(pin), 'the PIN is not echoed back');
    const st = await s.cli(['status', '--json']);
    assert.equal(JSON.parse(st.stdout).account.screenName, 'twitterapi');
  });

  it('login --console: the end of input before a PIN exits 1 and stores nothing, without a retry', async () => {
    const d = s.spawn(['login', '--console']);
    await s.pendingToken(); // the daemon waits for a PIN (its logs go to stderr in the console)
    d.child.stdin!.end();
    assert.equal(await d.exited, 1, d.output.slice(-2000));
    assert.match(d.stderr.join(''), /^pinauthd: input closed before a PIN was accepted; nothing stored$/m);
    assert.doesNotMatch(d.output, /unavailable|retrying/);
    assert.equal((await s.readStore()).accounts.length, 0);
  });

  it('login --console < /dev/null: exit 1 with the reason at once, and no code fetched for nobody', async () => {
    const r = await runCli(s, ['login', '--console', '--config', s.configPath]);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stderr, /^pinauthd: input closed before a PIN was accepted; nothing stored$/m);
    assert.doesNotMatch(r.stdout + r.stderr, /unavailable|retrying|oauth_token=/);
    assert.equal(s.provider.stats().request_token.requests, 0);
    assert.equal(existsSync(s.storePath), false, 'nothing written');
  });
});

/** Run the CLI with exactly these arguments (no --config added). */
async function runCli(s: Stack, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [...DAEMON_ENTRY, ...args], { env: s.env({ PINAUTHD_CONSUMER_SECRET: DEMO_SECRET, PINAUTHD_CONSUMER_KEY: DEMO_KEY }), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
  child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
  return { code, stdout, stderr };
}
