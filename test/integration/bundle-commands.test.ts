/**
 * Every command of what ships (the bundle, run as the systemd unit runs it: through
 * dist/pinauthd-start.cjs and its V8 code cache, with the unit's node flags; every
 * integration test does, through test/helpers/stack.ts): status, run --once (the whole PIN
 * flow), token, run + reauth + logout over the control socket, login --console, doctor; what
 * the bundle is made of (the generated validators); and what the loader's code cache can
 * break (a corrupt or foreign cache, a directory it cannot write).
 */
import assert from 'node:assert/strict';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BUNDLE, DaemonProcess, Stack, unitNodeFlags, unitScript } from '../helpers/stack.js';

describe('the bundle runs every command', () => {
  let s: Stack;
  before(async () => {
    assert.ok(existsSync(BUNDLE), `${BUNDLE} is missing: npm run build`);
    s = await Stack.start({ profile: 'lcd20x4', keypadMode: 'keys', transport: 'tcp', logLevel: 'info' });
  });
  after(async () => {
    await s?.close();
  });

  it('is started with the unit\'s node flags', () => {
    assert.deepEqual(unitNodeFlags('ExecStart=/usr/bin/node --max-old-space-size=96 /opt/pinauthd/dist/pinauthd.cjs run\n'), ['--max-old-space-size=96']);
    assert.deepEqual(unitNodeFlags(), []);
    assert.ok(existsSync(unitScript()), `${unitScript()} (the unit's script) is missing: npm run build`);
  });

  it('validates with the generated validators, the same the tsc output runs, not Ajv\'s compiler', () => {
    const meta = JSON.parse(readFileSync(path.join(path.dirname(BUNDLE), 'pinauthd.meta.json'), 'utf8')) as { inputs: Record<string, unknown> };
    const inputs = Object.keys(meta.inputs);
    assert.ok(inputs.includes('src/generated/config-validator.ts') && inputs.includes('src/generated/store-validator.ts'), inputs.join('\n'));
    assert.deepEqual(inputs.filter((i) => i.includes('node_modules/ajv/') && !i.includes('node_modules/ajv/dist/runtime/')), []);
  });

  it('status --json with nothing stored', async () => {
    const r = await s.cli(['status', '--json']);
    assert.equal(r.code, 1, r.stderr);
    const st = JSON.parse(r.stdout) as { running: boolean; account: unknown };
    assert.equal(st.running, false);
    assert.equal(st.account, null);
  });

  it('PINAUTHD_TRACE_STARTUP=1: the start-up steps in order, on stderr at exit', async () => {
    const d = s.spawn(['run'], { PINAUTHD_TRACE_STARTUP: '1' });
    await d.waitForState('awaiting_pin');
    await s.waitForText('Open link:');
    assert.equal(await d.stop(), 0, d.output);
    const trace = d.stderr.join('').split('\n').filter((l) => / ms {2}/.test(l));
    const names = trace.map((l) => /ms {2}(.*?)(?: {2}\[built-ins: .*\])?$/.exec(l)![1]!);
    const order = ['run: started', 'config loaded', 'logger ready', 'instance lock held', 'token store open', 'daemon started', 'show awaiting_pin with the URL'];
    let at = -1;
    for (const step of order) {
      const i = names.findIndex((n, j) => j > at && n === step);
      assert.ok(i > at, `step "${step}" in order:\n${trace.join('\n')}`);
      at = i;
    }
  });

  it('run --once: the URL on the display, the PIN on the keypad, the token stored, exit 0', async () => {
    const d = s.spawn(['run', '--once']);
    await d.waitForState('awaiting_pin');
    await s.waitForText('Open link:');
    const pin = await s.approve();
    const shown = s.waitForText('@twitterapi');
    for (const k of pin) s.sim.pressKey(k);
    await shown;
    assert.equal(await d.exited, 0, d.output);
    const store = await s.readStore();
    assert.equal(store.accounts.length, 1);
    assert.equal(store.accounts[0].screenName, 'twitterapi');
  });

  it('status --json and token --json read the stored account', async () => {
    const st = await s.cli(['status', '--json']);
    assert.equal(st.code, 0, st.stderr);
    assert.equal((JSON.parse(st.stdout) as { account: { screenName: string } }).account.screenName, 'twitterapi');
    const tok = await s.cli(['token', '--json']);
    assert.equal(tok.code, 0, tok.stderr);
    const t = JSON.parse(tok.stdout) as { token: string; tokenSecret: string };
    assert.ok(t.token.length > 0 && t.tokenSecret.length > 0);
  });

  it('run, then reauth and logout over the control socket', async () => {
    const d = s.spawn(['run']);
    await d.waitForState('authorized');
    const live = await s.cli(['status', '--json']);
    assert.equal((JSON.parse(live.stdout) as { running: boolean }).running, true, live.stderr);
    const re = await s.cli(['reauth', '--json']);
    assert.equal(re.code, 0, re.stderr);
    await d.waitForState('confirm_reauth').catch(() => d.waitForState('requesting'));
    const out = await s.cli(['logout', '--json']);
    assert.equal(out.code, 0, out.stderr);
    assert.equal((JSON.parse(out.stdout) as { removed: boolean }).removed, true);
    await d.waitForState('awaiting_pin');
    assert.equal(await d.stop(), 0, d.output);
    assert.equal((await s.readStore()).accounts.length, 0);
  });

  it('login --console: the URL on stdout, the PIN on stdin', async () => {
    const d = s.spawn(['login', '--console']);
    const url = await d.waitFor(() => /https?:\/\/\S+oauth_token=\S+/.exec(d.output)?.[0], 'the authorize URL on stdout');
    const pin = await s.provider.approve(new URL(url).searchParams.get('oauth_token')!);
    d.child.stdin!.end(`${pin}\n`);
    assert.equal(await d.exited, 0, d.output);
    assert.match(d.output, /The token is stored in|Authorized as @twitterapi/);
    assert.equal((await s.readStore()).accounts[0].screenName, 'twitterapi');
  });

  it('doctor --json reports its checks', async () => {
    const r = await s.cli(['doctor', '--json']);
    assert.ok(r.code === 0 || r.code === 1, `exit ${r.code}: ${r.stderr}`);
    const findings = JSON.parse(r.stdout) as Array<{ severity: string }>;
    assert.ok(Array.isArray(findings) && findings.length > 0);
  });

  it('starts with a corrupt or foreign code cache, a read-only cache directory or none', async () => {
    const dir = s.cacheDir;
    // The commands above ran with the same node and flags: one cache, written at their exit.
    const caches = readdirSync(dir).filter((n) => n.endsWith('.v8cache'));
    assert.equal(caches.length, 1, `caches: ${readdirSync(dir).join(', ')}`);
    const file = path.join(dir, caches[0]!);
    const starts = async (env: NodeJS.ProcessEnv = {}, entry?: string): Promise<void> => {
      const d = entry ? new DaemonProcess(['run', '--config', s.configPath], s.env(env), [entry]) : s.spawn(['run'], env);
      await d.waitForState('authorized');
      assert.equal(await d.stop(), 0, d.output);
    };
    // A cache the loader takes is left as it is; one it does not take is written again at exit.
    const taken = async (): Promise<boolean> => {
      const before = readFileSync(file);
      await starts();
      return readFileSync(file).equals(before);
    };
    assert.ok(await taken(), 'the cache written by the commands above was not used');

    const corrupt = Buffer.from(readFileSync(file));
    corrupt.fill(0x5a, corrupt.length >> 1, (corrupt.length >> 1) + 64);
    writeFileSync(file, corrupt);
    assert.ok(!(await taken()), 'a corrupt cache was used');
    assert.ok(await taken(), 'the corrupt cache was not replaced by a good one');
    const good = readFileSync(file);
    writeFileSync(file, corrupt);
    chmodSync(dir, 0o555); // read-only, unless we are root
    try {
      await starts();
    } finally {
      chmodSync(dir, 0o755);
    }
    if (process.getuid?.() !== 0) assert.deepEqual(readFileSync(file), corrupt, 'wrote into a read-only directory');
    writeFileSync(file, good);

    // The cache of another bundle of the same length, under this bundle's name: V8 itself
    // would take it (it compares only the source's length and its flags).
    const other = path.join(s.dir, 'other-bundle');
    mkdirSync(path.join(other, 'cache'), { recursive: true });
    const bundle = readFileSync(BUNDLE, 'latin1');
    const at = bundle.indexOf('pinauthd');
    writeFileSync(path.join(other, 'pinauthd.cjs'), `${bundle.slice(0, at)}PINAUTHD${bundle.slice(at + 8)}`, 'latin1');
    copyFileSync(unitScript(), path.join(other, 'pinauthd-start.cjs'));
    await starts({ CACHE_DIRECTORY: path.join(other, 'cache') }, path.join(other, 'pinauthd-start.cjs'));
    const foreign = readdirSync(path.join(other, 'cache')).filter((n) => n.endsWith('.v8cache'));
    assert.equal(foreign.length, 1, 'the other bundle wrote no cache');
    assert.notEqual(foreign[0], caches[0]);
    copyFileSync(path.join(other, 'cache', foreign[0]!), file);
    assert.ok(!(await taken()), "another bundle's cache was used");
    assert.ok(await taken(), 'the foreign cache was not replaced by a good one');

    // a directory nobody can write to, root included; and one that does not exist
    await starts({ CACHE_DIRECTORY: '/proc/self' });
    await starts({ CACHE_DIRECTORY: path.join(s.dir, 'no-such-dir') });
  });
});
