/**
 * systemd/install.sh into a temp root (--root, --no-npm): modes, idempotence, secrets, only
 * what runs installed, a node the service cannot see refused, and --uninstall (keeping the
 * config, credentials and token store unless --purge). The script is copied into a fake
 * checkout so that it finds a "built" dist/ there.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const SECRET = 'canary-consumer-secret-5f1e';

function fakeCheckout(): string {
  const src = mkdtempSync(join(tmpdir(), 'pinauthd-install-src-'));
  cpSync(join(repo, 'systemd'), join(src, 'systemd'), { recursive: true });
  for (const f of ['package.json', 'package-lock.json', 'docs/systemd.md']) cpSync(join(repo, f), join(src, f), { recursive: true });
  mkdirSync(join(src, 'dist/src'), { recursive: true });
  // the unbundled build and dev tools, which the service does not run: not installed
  writeFileSync(join(src, 'dist/src/cli.js'), '// built\n');
  mkdirSync(join(src, 'dist/firmware-sim'), { recursive: true });
  writeFileSync(join(src, 'dist/firmware-sim/main.js'), '// simulator\n');
  writeFileSync(join(src, 'dist/pinauthd.cjs.map'), '{}');
  writeFileSync(join(src, 'dist/pinauthd.cjs'), '// bundled\n');
  writeFileSync(join(src, 'dist/pinauthd-start.cjs'), '// loader\n');
  // a code cache left by a run in the checkout: not installed
  writeFileSync(join(src, 'dist/pinauthd.0123456789abcdef.01234567.v8cache'), 'cache');
  mkdirSync(join(src, 'config/presets'), { recursive: true });
  writeFileSync(join(src, 'config/presets/twitter.json'), '{}\n');
  writeFileSync(join(src, 'config/pinauthd.example.json'), '{"example":true}\n');
  return src;
}

function install(src: string, args: string[], stdin: string, env: NodeJS.ProcessEnv = process.env): Promise<{ code: number | null; out: string }> {
  const child = spawn('bash', [join(src, 'systemd/install.sh'), ...args], { stdio: ['pipe', 'pipe', 'pipe'], env });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  // A run that reads no input (a dry run, a refusal) may have exited before this write: EPIPE
  // then is no failure of the test; the exit code and output say how it went.
  child.stdin.on('error', () => {});
  child.stdin.end(stdin);
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, out })));
}

const mode = (p: string): number => statSync(p).mode & 0o777;

test('install.sh --dry-run changes nothing and reads no secrets', async (t) => {
  const src = fakeCheckout();
  const root = join(mkdtempSync(join(tmpdir(), 'pinauthd-install-root-')), 'r');
  t.after(() => rmSync(src, { recursive: true, force: true }));
  const { code, out } = await install(src, ['--dry-run', '--no-npm', '--root', root], `key\n${SECRET}\n`);
  assert.equal(code, 0, out);
  assert.ok(!existsSync(root), 'dry run created files');
  assert.match(out, /==> unit -> \S*\/etc\/systemd\/system\/pinauthd\.service\n/);
  // copied as it is, or written with ExecStart= naming the node found (not /usr/bin/node)
  assert.match(out, /would (run: install -m 0644 \S*pinauthd\.service|install the unit with ExecStart=\/\S*node )/);
  assert.ok(!out.includes(SECRET));
});

test('install.sh installs with safe modes, is idempotent and never overwrites config or credentials', async (t) => {
  const src = fakeCheckout();
  const root = mkdtempSync(join(tmpdir(), 'pinauthd-install-root-'));
  t.after(() => {
    rmSync(src, { recursive: true, force: true });
    rmSync(root, { recursive: true, force: true });
  });
  const first = await install(src, ['--no-npm', '--root', root], `my-key\n${SECRET}\n`);
  assert.equal(first.code, 0, first.out);
  assert.ok(!first.out.includes(SECRET), 'the secret was echoed');

  const etc = join(root, 'etc/pinauthd');
  assert.equal(readFileSync(join(etc, 'consumer_secret'), 'utf8'), SECRET);
  assert.equal(readFileSync(join(etc, 'consumer_key'), 'utf8'), 'my-key');
  assert.equal(mode(join(etc, 'consumer_secret')), 0o600);
  assert.equal(mode(join(etc, 'consumer_key')), 0o600);
  assert.equal(readFileSync(join(etc, 'config.json'), 'utf8'), '{"example":true}\n');
  assert.equal(mode(join(etc, 'config.json')), 0o644);
  // Only what runs: the bundle and its loader (and the unit's Documentation= page).
  assert.deepEqual(readdirSync(join(root, 'opt/pinauthd/dist')).sort(), ['pinauthd-start.cjs', 'pinauthd.cjs']);
  assert.deepEqual(readdirSync(join(root, 'opt/pinauthd')).sort(), ['dist', 'docs', 'package-lock.json', 'package.json']);
  assert.ok(existsSync(join(root, 'opt/pinauthd/docs/systemd.md')));
  // The operator command runs the bundle and finds the credentials the unit loads.
  const wrapper = readFileSync(join(root, 'usr/local/bin/pinauthd'), 'utf8');
  assert.equal(mode(join(root, 'usr/local/bin/pinauthd')), 0o755);
  assert.match(wrapper, /^exec \S*node \/opt\/pinauthd\/dist\/pinauthd\.cjs "\$@"$/m);
  assert.match(wrapper, /PINAUTHD_CONSUMER_SECRET_FILE="\$f"/);
  assert.ok(!wrapper.includes(SECRET));
  for (const f of ['etc/systemd/system/pinauthd.service', 'etc/systemd/system/pinauthd.socket', 'etc/udev/rules.d/99-pinauthd.rules', 'etc/modules-load.d/pinauthd.conf']) {
    assert.equal(mode(join(root, f)), 0o644, f);
  }
  assert.match(readFileSync(join(root, 'etc/systemd/system/pinauthd.service'), 'utf8'), /^ExecStart=\S*node \/opt\/pinauthd\/dist\/pinauthd-start\.cjs run$/m);

  writeFileSync(join(etc, 'config.json'), '{"edited":true}\n');
  writeFileSync(join(src, 'dist/pinauthd.cjs'), '// rebundled\n');
  const second = await install(src, ['--no-npm', '--root', root], '');
  assert.equal(second.code, 0, second.out);
  assert.equal(readFileSync(join(etc, 'config.json'), 'utf8'), '{"edited":true}\n');
  assert.equal(readFileSync(join(etc, 'consumer_secret'), 'utf8'), SECRET);
  assert.equal(readFileSync(join(root, 'opt/pinauthd/dist/pinauthd.cjs'), 'utf8'), '// rebundled\n');
});

test('install.sh refuses an empty secret', async (t) => {
  const src = fakeCheckout();
  const root = mkdtempSync(join(tmpdir(), 'pinauthd-install-root-'));
  t.after(() => {
    rmSync(src, { recursive: true, force: true });
    rmSync(root, { recursive: true, force: true });
  });
  const { code, out } = await install(src, ['--no-npm', '--root', root], 'only-a-key\n');
  assert.notEqual(code, 0);
  assert.match(out, /consumer_secret is empty/);
  assert.ok(!existsSync(join(root, 'etc/pinauthd/consumer_secret')));
});

test('install.sh without a build says to build first', async (t) => {
  const src = fakeCheckout();
  rmSync(join(src, 'dist'), { recursive: true });
  t.after(() => rmSync(src, { recursive: true, force: true }));
  const { code, out } = await install(src, ['--dry-run', '--no-npm', '--root', join(src, 'r')], '');
  assert.notEqual(code, 0);
  assert.match(out, /npm run build/);
});

test('install.sh refuses a node inside a home directory (nvm), which ProtectHome=yes hides', async (t) => {
  const src = fakeCheckout();
  // A stand-in node under this user's home (/root or /home/...), as nvm installs it.
  const nvm = mkdtempSync(join(homedir(), '.pinauthd-install-test-nvm-'));
  t.after(() => {
    rmSync(src, { recursive: true, force: true });
    rmSync(nvm, { recursive: true, force: true });
  });
  writeFileSync(join(nvm, 'node'), '#!/bin/sh\ncase "$1" in -p) echo 22 ;; *) echo v22.0.0 ;; esac\n');
  chmodSync(join(nvm, 'node'), 0o755);
  const env = { ...process.env, PATH: `${nvm}:${process.env.PATH}` };
  const { code, out } = await install(src, ['--dry-run', '--no-npm', '--root', join(src, 'r')], '', env);
  assert.notEqual(code, 0, out);
  assert.match(out, /inside a home directory, which the service cannot see \(ProtectHome=yes\)/);
  assert.match(out, /--node \/usr\/local\/bin\/node/);
  // --node picks one the service can run.
  const ok = await install(src, ['--dry-run', '--no-npm', '--node', process.execPath, '--root', join(src, 'r')], '', env);
  assert.equal(ok.code, 0, ok.out);
});

test('install.sh --uninstall removes what it installed and keeps config, credentials and tokens; --purge removes those too', async (t) => {
  const src = fakeCheckout();
  const root = mkdtempSync(join(tmpdir(), 'pinauthd-install-root-'));
  t.after(() => {
    rmSync(src, { recursive: true, force: true });
    rmSync(root, { recursive: true, force: true });
  });
  assert.equal((await install(src, ['--no-npm', '--root', root], `my-key\n${SECRET}\n`)).code, 0);
  // what systemd makes at the first start (DynamicUser=: under private/)
  mkdirSync(join(root, 'var/lib/private/pinauthd'), { recursive: true });
  writeFileSync(join(root, 'var/lib/private/pinauthd/tokens.json'), '{}');
  mkdirSync(join(root, 'var/cache/private/pinauthd'), { recursive: true });
  writeFileSync(join(root, 'var/cache/private/pinauthd/pinauthd.x.v8cache'), 'cache');

  const dry = await install(src, ['--uninstall', '--dry-run', '--root', root], '');
  assert.equal(dry.code, 0, dry.out);
  assert.ok(existsSync(join(root, 'opt/pinauthd/dist/pinauthd.cjs')), 'the dry run removed files');

  const un = await install(src, ['--uninstall', '--root', root], '');
  assert.equal(un.code, 0, un.out);
  for (const gone of ['opt/pinauthd', 'etc/systemd/system/pinauthd.service', 'etc/udev/rules.d/99-pinauthd.rules', 'etc/modules-load.d/pinauthd.conf', 'usr/local/bin/pinauthd', 'var/cache/private/pinauthd']) {
    assert.ok(!existsSync(join(root, gone)), `${gone} is still there`);
  }
  assert.equal(readFileSync(join(root, 'etc/pinauthd/consumer_secret'), 'utf8'), SECRET);
  assert.ok(existsSync(join(root, 'etc/pinauthd/config.json')));
  assert.ok(existsSync(join(root, 'var/lib/private/pinauthd/tokens.json')));
  assert.match(un.out, /--uninstall --purge/);

  const purge = await install(src, ['--uninstall', '--purge', '--root', root], '');
  assert.equal(purge.code, 0, purge.out);
  assert.ok(!existsSync(join(root, 'etc/pinauthd')));
  assert.ok(!existsSync(join(root, 'var/lib/private/pinauthd')));
  assert.equal((await install(src, ['--purge', '--root', root], '')).code, 2, '--purge alone is a usage error');
});
