/**
 * The signing proxy in the real daemon process: curl-like requests over api.sock (node:http
 * with socketPath, and curl itself), `pinauthd request`, the 503 before authorization, a token
 * revoked at the provider, socket activation as systemd does it, and no secret in any output.
 */
import { describe, it, before, after, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { statSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { BUNDLE, DAEMON_ENTRY, DaemonProcess, Stack } from '../helpers/stack.js';
import { viaSocket } from '../helpers/proxy-fixture.js';

const run = promisify(execFile);

/**
 * `pinauthd request ...` as the installed command runs it (node dist/pinauthd.cjs), to its end:
 * exit code and all of stdout (a body has no final newline).
 */
async function request(s: Stack, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run(process.execPath, [BUNDLE, 'request', ...args, '--config', s.configPath], { env: s.env() });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const x = e as { code: number; stdout: string; stderr: string };
    return { code: x.code, stdout: x.stdout, stderr: x.stderr };
  }
}

/** Resolves once the daemon has its API socket up. */
function apiUp(d: DaemonProcess): Promise<unknown> {
  return d.waitForLog((l) => l.msg === 'API proxy listening', 15_000, 'the API socket');
}

describe('the signing proxy in the daemon', () => {
  let s: Stack;
  let sock: string;
  let d: DaemonProcess;
  before(async () => {
    s = await Stack.start({ profile: 'lcd20x4', keypadMode: 'keys', config: (c) => (c.proxy = { socket: path.join(path.dirname(c.store.path), '..', 'api.sock') }) });
    sock = s.fileConfig.proxy.socket;
    d = s.spawn(['run']);
    await apiUp(d);
  });
  after(async () => {
    await s.close();
  });

  it('answers 503 with the reason while not authorized; pinauthd request exits 4 and prints it', async () => {
    await d.waitForState('awaiting_pin');
    assert.equal(statSync(sock).mode & 0o777, 0o660);
    const r = await viaSocket(sock, { path: '/2/users/me' });
    assert.equal(r.status, 503);
    assert.match(String(r.headers['pinauthd-reason']), /not authorized/);
    const cli = await request(s, ['--socket', sock, '/2/users/me']);
    assert.equal(cli.code, 4);
    assert.match(cli.stderr, /not authorized/);
    assert.equal(s.provider.stats().api.requests, 0);
  });

  it('signed GET, form POST and JSON POST through the socket once authorized', async () => {
    await s.authorize(d);
    const me = await viaSocket(sock, { path: '/2/users/me' });
    assert.equal(me.status, 200, me.text);
    assert.equal(me.json().data.username, 'twitterapi');
    const form = await viaSocket(sock, { method: 'POST', path: '/1.1/statuses/update.json', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'status=hi%20%E2%98%83' });
    assert.equal(form.status, 200, form.text);
    assert.equal(form.json().text, 'hi ☃');
    const json = await viaSocket(sock, { method: 'POST', path: '/2/tweets', headers: { 'content-type': 'application/json' }, body: '{"text":"hi"}' });
    assert.equal(json.status, 201, json.text);
    const entries = () => d.logs.filter((l) => l.msg === 'api request' && l.status !== 503);
    await d.waitForLog(() => entries().length >= 3, 5000, 'three log lines');
    const log = entries();
    assert.deepEqual(log.map((l) => [l.method, l.path, l.status]), [['GET', '/2/users/me', 200], ['POST', '/1.1/statuses/update.json', 200], ['POST', '/2/tweets', 201]]);
  });

  it('pinauthd request: GET, -d form, --json, -i; exit status from the HTTP status', async () => {
    const me = await request(s, ['--socket', sock, '/2/users/me']);
    assert.equal(me.code, 0, me.stderr);
    assert.equal(JSON.parse(me.stdout).data.username, 'twitterapi');
    const form = await request(s, ['--socket', sock, '-X', 'POST', '-d', 'status=hi', '/1.1/statuses/update.json']);
    assert.equal(form.code, 0, form.stderr);
    assert.equal(JSON.parse(form.stdout).text, 'hi');
    const json = await request(s, ['--socket', sock, '-X', 'POST', '--json', '{"text":"hi"}', '/2/tweets']);
    assert.equal(json.code, 0, json.stderr);
    assert.equal(JSON.parse(json.stdout).data.text, 'hi');
    const inc = await request(s, ['--socket', sock, '-i', '-H', 'X-Test: 1', '/2/users/me']);
    assert.match(inc.stdout, /^HTTP\/1\.1 200 OK\n[\s\S]*content-type: application\/json[\s\S]*\n\n\{"data"/i);
    const missing = await request(s, ['--socket', sock, '-X', 'POST', '-d', 'other=1', '/1.1/statuses/update.json']);
    assert.equal(missing.code, 1);
    const gone = await request(s, ['--socket', `${sock}.nope`, '/2/users/me']);
    assert.equal(gone.code, 69);
    assert.match(gone.stderr, /cannot reach the API socket/);
    const usage = await request(s, ['-X']);
    assert.equal(usage.code, 2);
  });

  it('curl --unix-socket, as docs/using-the-token.md shows it', async () => {
    const me = await run('curl', ['-sS', '--unix-socket', sock, 'http://api/2/users/me']);
    assert.equal(JSON.parse(me.stdout).data.username, 'twitterapi');
    const tweet = await run('curl', ['-sS', '--unix-socket', sock, '-X', 'POST', '-H', 'content-type: application/json', '-d', '{"text":"hi"}', 'http://api/2/tweets']);
    assert.equal(JSON.parse(tweet.stdout).data.text, 'hi');
    const status = await run('curl', ['-sS', '--unix-socket', sock, '--data-urlencode', 'status=Hello, world!', 'http://api/1.1/statuses/update.json']);
    assert.equal(JSON.parse(status.stdout).text, 'Hello, world!');
  });

  it('status --json names the API socket (path, listening, usable), with the line status and doctor print', async () => {
    const json = await s.cli(['status', '--json']);
    assert.equal(json.code, 0, json.stderr);
    const st = JSON.parse(json.stdout) as { apiSocket: { path: string; access: string; listening: boolean | null; usable: boolean; detail: string } };
    assert.deepEqual({ ...st.apiSocket, detail: undefined }, { path: sock, access: 'usable', listening: true, usable: true, detail: undefined });
    const text = await s.cli(['status']);
    assert.ok(text.stdout.split('\n').includes(`api socket: ${st.apiSocket.detail}`), text.stdout);
    const doctor = await s.cli(['doctor', '--json']);
    const finding = (JSON.parse(doctor.stdout) as Array<{ check: string; severity: string; detail: string }>).find((f) => f.check === 'api socket');
    assert.deepEqual(finding, { check: 'api socket', severity: 'ok', detail: st.apiSocket.detail });
  });

  it('a token revoked at the provider: the client sees why, the daemon verifies, drops it and shows a new URL', async () => {
    s.provider.faults.rejectAccessTokens();
    const r = await viaSocket(sock, { path: '/2/users/me' });
    assert.equal(r.status, 401);
    assert.match(String(r.headers['pinauthd-reason']), /no longer valid/);
    await d.waitForState('verifying', 15_000, 2);
    await d.waitForState('awaiting_pin', 15_000, 2);
    await s.waitForText('Access revoked');
    await s.readStoreWhen((st) => st.accounts.length === 0);
    const after = await viaSocket(sock, { path: '/2/users/me' });
    assert.equal(after.status, 503);
  });

  it('no secret, signature or Authorization header in anything the daemon printed', async () => {
    const store = await s.readStore().catch(() => ({ accounts: [] }));
    const out = d.output + s.daemons.map((x) => x.output).join('');
    for (const secret of ['pinauthd-demo-secret', 'oauth_signature', 'OAuth oauth', ...store.accounts.flatMap((a: any) => [a.tokenSecret])]) {
      assert.ok(!out.includes(secret), `output contains ${secret}`);
    }
  });
});

/**
 * The daemon under systemd-socket-activate, as pinauthd.socket starts it: the socket listens
 * first and the daemon is started on the first connection. Returns the socket path and what
 * socket-activate and the daemon printed so far.
 */
async function socketActivated(t: TestContext, s: Stack): Promise<{ sock: string; out: () => string }> {
  const sock = path.join(path.dirname(s.storePath), '..', 'activated.sock');
  const act = spawn('systemd-socket-activate', ['-l', sock, '--fdname=api', process.execPath, ...DAEMON_ENTRY, 'run', '--config', s.configPath], { env: s.env(), stdio: ['ignore', 'pipe', 'pipe'] });
  const actExited = new Promise<void>((resolve) => act.on('close', () => resolve()));
  // The daemon (socket-activate execs it) is gone before the stack removes its state directory:
  // a daemon still writing there made the removal fail with ENOTEMPTY.
  t.after(async () => {
    act.kill('SIGKILL');
    await actExited;
    await s.close();
  });
  let out = '';
  act.stdout!.setEncoding('utf8').on('data', (c: string) => (out += c));
  act.stderr!.setEncoding('utf8').on('data', (c: string) => (out += c));
  for (let i = 0; i < 500 && !out.includes('Listening on'); i++) await new Promise((r) => setTimeout(r, 10));
  return { sock, out: () => out };
}

describe('socket activation (systemd passes the listening socket)', () => {
  it('serves on the socket it was handed; a connection made before the daemon ran is answered', async (t) => {
    const s = await Stack.start({ profile: 'lcd20x4', keypadMode: 'keys' });
    const { sock, out } = await socketActivated(t, s);
    const first = await viaSocket(sock, { path: '/2/users/me' });
    assert.equal(first.status, 503, out());
    const listening = out().split('\n').filter((l) => l.includes('API proxy listening')).map((l) => JSON.parse(l) as { socket: string });
    assert.deepEqual(listening.map((l) => l.socket), ['fd:3']);
  });

  it('answers at once, with the reason, while the token store cannot be opened (no waiting in the backlog)', async (t) => {
    const s = await Stack.start({ profile: 'lcd20x4', keypadMode: 'keys' });
    // a directory where the store file should be: the store cannot be opened, the daemon retries (no_store)
    await mkdir(s.storePath, { recursive: true });
    const { sock, out } = await socketActivated(t, s);
    for (;;) {
      // before the fix the connection waited in the backlog for as long as the store failed
      let timer: NodeJS.Timeout | undefined;
      const hung = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within 60 s; daemon output:\n${out().slice(-2000)}`)), 60_000)));
      const r = await Promise.race([viaSocket(sock, { path: '/2/users/me' }), hung]).finally(() => clearTimeout(timer));
      assert.equal(r.status, 503, r.text);
      if (/token store/.test(String(r.headers['pinauthd-reason']))) break;
      assert.match(String(r.headers['pinauthd-reason']), /starting/);
    }
    assert.match(out(), /"to":"no_store"/);
  });
});
