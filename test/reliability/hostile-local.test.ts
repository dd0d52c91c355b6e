/**
 * 8. What a local user can do to pinauthd and its operator (issue 11, items 9, 10, 11): files
 * that never end or never open, a state directory that is someone else's symbolic link (the
 * operator runs commands as root), and an unprivileged user asking for status or the token.
 * These tests run as root (as CI does) and use `nobody` for the other user.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { chmod, chown, lchown, lstat, mkdir, mkdtemp, readFile, readdir, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DAEMON_ENTRY, DEMO_KEY, DEMO_SECRET, ROOT, Stack } from '../helpers/stack.js';
import { ms, record } from './figures.js';

const SECTION = '8 hostile local user';
const NOBODY = 65534;
const isRoot = process.geteuid?.() === 0;
/**
 * Whether `nobody` can run pinauthd from this checkout at all: a clone inside a private (0700)
 * directory, as `mktemp -d` makes, is closed to it, and every command would then fail to load.
 */
const nobodyCanRun = isRoot && spawnSync(process.execPath, [...DAEMON_ENTRY, '--help'], { uid: NOBODY, gid: NOBODY, stdio: 'ignore' }).status === 0;
const dirs: string[] = [];
after(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

async function tmp(base = os.tmpdir()): Promise<string> {
  const d = await mkdtemp(path.join(base, 'pinauthd-local-'));
  dirs.push(d);
  return d;
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
  /** Killed at the deadline (a hang). */
  hung: boolean;
}

/** pinauthd as the unit runs it (the bundle), killed if it is not done within `deadlineMs`. */
function cli(args: string[], opts: { env?: NodeJS.ProcessEnv; uid?: number; deadlineMs?: number } = {}): Promise<Run> {
  const { PINAUTHD_CONSUMER_KEY, PINAUTHD_CONSUMER_SECRET, CREDENTIALS_DIRECTORY, NOTIFY_SOCKET, PINAUTHD_CONFIG, ...env } = process.env;
  void PINAUTHD_CONSUMER_KEY, PINAUTHD_CONSUMER_SECRET, CREDENTIALS_DIRECTORY, NOTIFY_SOCKET, PINAUTHD_CONFIG;
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...DAEMON_ENTRY, ...args], {
      env: { ...env, ...opts.env },
      ...(opts.uid !== undefined ? { uid: opts.uid, gid: opts.uid } : {}),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let hung = false;
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr = (stderr + c).slice(-20_000)));
    const timer = setTimeout(() => {
      hung = true;
      child.kill('SIGKILL');
    }, opts.deadlineMs ?? 20_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: Date.now() - started, hung });
    });
  });
}

function config(storePath: string, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    provider: { preset: 'local', baseUrl: 'http://127.0.0.1:9', timeoutMs: 2000 },
    credentials: { consumerKey: DEMO_KEY, consumerSecret: DEMO_SECRET },
    store: { path: storePath },
    display: { driver: 'pinpad', port: 'tcp://127.0.0.1:9', cols: 20, rows: 4 },
    ...extra,
  });
}

const account = (token: string) => ({
  provider: 'local',
  consumerKey: DEMO_KEY,
  userId: '1',
  screenName: 'root-only',
  token,
  tokenSecret: `${token}-secret`,
  createdAt: '2026-01-01T00:00:00.000Z',
  verifiedAt: null,
});

describe('files that never end or never open (item 11)', () => {
  it('config and secret files: /dev/zero and FIFOs refused at once with a clear message, exit 3', async () => {
    const dir = await tmp();
    const fifo = path.join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    const cfg = path.join(dir, 'config.json');
    await writeFile(cfg, config(path.join(dir, 'state', 'tokens.json')));
    const creds = path.join(dir, 'creds');
    await mkdir(creds);
    execFileSync('mkfifo', [path.join(creds, 'consumer_secret')]);
    const cases: Array<[string, string[], NodeJS.ProcessEnv, RegExp]> = [
      ['--config /dev/zero', ['run', '--config', '/dev/zero'], {}, /is a device/],
      ['--config <FIFO>', ['run', '--config', fifo], {}, /is a FIFO/],
      ['PINAUTHD_CONSUMER_SECRET_FILE=/dev/zero', ['run', '--config', cfg], { PINAUTHD_CONSUMER_SECRET_FILE: '/dev/zero' }, /is a device/],
      ['PINAUTHD_CONSUMER_SECRET_FILE=<FIFO>', ['run', '--config', cfg], { PINAUTHD_CONSUMER_SECRET_FILE: fifo }, /is a FIFO/],
      ['systemd credential consumer_secret as a FIFO', ['run', '--config', cfg], { CREDENTIALS_DIRECTORY: creds }, /is a FIFO/],
    ];
    let slowest = 0;
    for (const [what, args, env, says] of cases) {
      const r = await cli(args, { env, deadlineMs: 15_000 });
      assert.equal(r.hung, false, `${what}: still running after 15 s`);
      assert.equal(r.code, 3, `${what}: exit ${r.code}\n${r.stderr.slice(0, 2000)}`);
      assert.match(r.stderr, says, what);
      slowest = Math.max(slowest, r.ms);
    }
    record(SECTION, 'item 11: config / `..._FILE` secret / credential as /dev/zero or a FIFO', `${cases.length}/${cases.length} refused, exit 3, "is a device" / "is a FIFO"; slowest ${ms(slowest)}`, 'refused at once, no growth, no hang');
  });
});

describe('a state directory that is someone else\'s link (item 9)', { skip: !isRoot && 'needs root' }, () => {
  it('root running logout / token --json / run through a user\'s symlink: refused, nothing changed', async () => {
    // a root-only directory with a token, and things beside it a logout used to touch
    const secretDir = await tmp();
    await chmod(secretDir, 0o755);
    const rootStore = path.join(secretDir, 'tokens.json');
    await writeFile(rootStore, JSON.stringify({ version: 1, accounts: [account('ROOTONLYTOKEN')], pending: null }), { mode: 0o600 });
    const beside = path.join(secretDir, 'tokens.json.tmp-1-beside');
    await writeFile(beside, 'not yours');
    const before = { mode: (await stat(secretDir)).mode & 0o7777, names: (await readdir(secretDir)).sort() };

    // the user's home: their symlink to it as the state directory, and a state directory of
    // their own whose tokens.json is a link to the root-only store
    const home = await tmp();
    await chown(home, NOBODY, NOBODY);
    const linkDir = path.join(home, 'state');
    await symlink(secretDir, linkDir);
    await lchown(linkDir, NOBODY, NOBODY);
    const ownDir = path.join(home, 'own');
    await mkdir(ownDir, { mode: 0o700 });
    await chown(ownDir, NOBODY, NOBODY);
    await symlink(rootStore, path.join(ownDir, 'tokens.json'));
    await lchown(path.join(ownDir, 'tokens.json'), NOBODY, NOBODY);

    const viaLink = path.join(home, 'link.json');
    await writeFile(viaLink, config(path.join(linkDir, 'tokens.json')));
    const viaOwn = path.join(home, 'own.json');
    await writeFile(viaOwn, config(path.join(ownDir, 'tokens.json')));
    const runs: Array<[string, Run]> = [];
    for (const [what, args] of [
      ['logout, state dir a user\'s link', ['logout', '--config', viaLink]],
      ['token --json, state dir a user\'s link', ['token', '--json', '--config', viaLink]],
      ['run, state dir a user\'s link', ['run', '--config', viaLink]],
      ['logout, tokens.json a link in a user\'s dir', ['logout', '--config', viaOwn]],
      ['token --json, tokens.json a link in a user\'s dir', ['token', '--json', '--config', viaOwn]],
      ['status, tokens.json a link in a user\'s dir', ['status', '--config', viaOwn]],
    ] as const) {
      const r = await cli([...args], { deadlineMs: 15_000 });
      runs.push([what, r]);
      assert.equal(r.code, 6, `${what}: exit ${r.code}\n${r.stdout}\n${r.stderr.slice(0, 2000)}`);
      assert.match(r.stderr, /symbolic link|belongs to uid/, what);
      assert.doesNotMatch(r.stdout + r.stderr, /ROOTONLYTOKEN/, `${what}: printed the root-only token`);
    }
    const afterwards = { mode: (await stat(secretDir)).mode & 0o7777, names: (await readdir(secretDir)).sort() };
    assert.deepEqual(afterwards, before, 'the root directory was changed');
    assert.equal(await readFile(beside, 'utf8'), 'not yours');
    record(SECTION, 'item 9: root runs logout / token --json / run / status through a user\'s symlink', `${runs.length}/${runs.length} refused (exit 6, "symbolic link" / "belongs to uid"); target directory mode, files and token untouched`, 'refused, nothing changed');
  });

  it('a state directory placed by root for another user (systemd DynamicUser) still serves root\'s commands', async (t) => {
    // /var/lib/pinauthd -> private/pinauthd owned by the service's uid, every directory above root's alone
    const base = [os.homedir(), ROOT].find((b) => {
      for (let d = path.resolve(b); ; d = path.dirname(d)) {
        const st = statSync(d);
        if (st.uid !== 0 || (st.mode & 0o022) !== 0) return false;
        if (d === path.dirname(d)) return true;
      }
    });
    if (!base) return t.skip('no directory here whose ancestors are root\'s alone');
    const top = await tmp(base);
    await chmod(top, 0o755);
    await mkdir(path.join(top, 'private'), { mode: 0o700 });
    const state = path.join(top, 'private', 'pinauthd');
    await mkdir(state, { mode: 0o700 });
    await writeFile(path.join(state, 'tokens.json'), JSON.stringify({ version: 1, accounts: [account('SERVICETOKEN')], pending: null }), { mode: 0o600 });
    await chown(path.join(state, 'tokens.json'), NOBODY, NOBODY);
    await chown(state, NOBODY, NOBODY);
    await symlink('private/pinauthd', path.join(top, 'pinauthd'));
    const cfg = path.join(top, 'config.json');
    await writeFile(cfg, config(path.join(top, 'pinauthd', 'tokens.json')));
    const r = await cli(['token', '--json', '--config', cfg]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).token, 'SERVICETOKEN');
    assert.ok((await lstat(path.join(top, 'pinauthd'))).isSymbolicLink());
  });
});

describe('an unprivileged user asks (item 10)', { skip: (!isRoot && 'needs root') || (!nobodyCanRun && `nobody cannot read this checkout (${ROOT}): clone it under a world-readable directory to run this`) }, () => {
  let s: Stack;
  before(async () => {
    s = await Stack.start({ profile: 'lcd20x4', keypadMode: 'keys' });
    // nobody may read the config (as a world-readable /etc/pinauthd/config.json is), not the state
    await chmod(s.dir, 0o755);
    await chmod(s.configPath, 0o644);
  });
  after(() => s?.close());

  it('status and token --json as nobody: a permission error with exit 77, running or not, never "not running / no account"', async () => {
    const d = s.spawn(['run']);
    await d.waitForState('awaiting_pin');
    const pin = await s.approve();
    for (const k of pin) s.sim.pressKey(k);
    await d.waitForState('authorized');
    const asNobody = (args: string[]) => cli([...args, '--config', s.configPath], { uid: NOBODY });
    const results: Array<[string, Run]> = [];
    for (const args of [['status'], ['status', '--json'], ['token', '--json'], ['reauth']]) results.push([`${args.join(' ')} (running)`, await asNobody(args)]);
    await d.stop();
    for (const args of [['status'], ['token', '--json']]) results.push([`${args.join(' ')} (stopped)`, await asNobody(args)]);
    for (const [what, r] of results) {
      assert.equal(r.code, 77, `${what}: exit ${r.code}\n${r.stdout}\n${r.stderr}`);
      assert.match(r.stderr, /permission denied/i, what);
      assert.doesNotMatch(r.stdout + r.stderr, /not running|no account|not authorized/i, what);
    }
    // root still gets the answer
    const asRoot = await cli(['status', '--config', s.configPath]);
    assert.equal(asRoot.code, 0, asRoot.stderr);
    record(SECTION, 'item 10: status / status --json / token --json / reauth as nobody, daemon running or stopped', `${results.length}/${results.length}: exit 77 "permission denied", never "not running" or "no account"`, 'exit 77');
  });
});

describe('the unit (item 12)', () => {
  it('DeviceAllow opens the serial ports and not the virtual consoles; IPAddressDeny shuts link-local and multicast; exposure', async () => {
    const unit = await readFile(path.join(ROOT, 'systemd/pinauthd.service'), 'utf8');
    const lines = (key: string) => unit.split('\n').filter((l) => l.startsWith(`${key}=`)).map((l) => l.slice(key.length + 1));
    const devices = lines('DeviceAllow').map((v) => v.split(/\s+/)[0]!);
    // char-ttyS is major 4, the virtual consoles' major: only single ttyS paths may be named
    assert.ok(!devices.some((d) => /^char-(tty|ttyS|vc)$/.test(d)), devices.join(' '));
    const denied = lines('IPAddressDeny').join(' ');
    assert.match(denied, /169\.254\.0\.0\/16/);
    assert.match(denied, /multicast/);
    const dir = await tmp();
    await writeFile(path.join(dir, 'pinauthd.service'), unit);
    const out = execFileSync('systemd-analyze', ['security', '--offline=true', '--no-pager', 'pinauthd.service'], { cwd: dir, env: { ...process.env, SYSTEMD_COLORS: '0' }, encoding: 'utf8' });
    const exposure = Number(/Overall exposure level for pinauthd\.service:\s*([0-9.]+)/.exec(out)?.[1]);
    assert.ok(exposure <= 1.5, `exposure ${exposure}`);
    record(SECTION, 'item 12: the unit\'s device and address rules', `DeviceAllow: ${devices.join(', ')} (no console major); IPAddressDeny=${denied}; systemd-analyze security ${exposure}`, 'no char-ttyS, exposure <= 1.5');
  });
});
