/**
 * Checks systemd/pinauthd.service with the real `systemd-analyze` (CI installs the `systemd`
 * package). Without it these tests fail on purpose: an unchecked unit is not a passing one.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HEAP_LIMIT_MIB } from '../../src/service/heap-guard.js';

const run = promisify(execFile);
const unitPath = fileURLToPath(new URL('../../systemd/pinauthd.service', import.meta.url));
const unitText = readFileSync(unitPath, 'utf8');
const MAX_EXPOSURE = 1.5;

/** Settings of the unit as [key, value] pairs, comments and section headers dropped. */
const settings: Array<[string, string]> = unitText
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith('#') && !l.startsWith(';') && !l.startsWith('['))
  .map((l) => {
    const i = l.indexOf('=');
    return [l.slice(0, i), l.slice(i + 1)] as [string, string];
  });
const values = (key: string): string[] => settings.filter(([k]) => k === key).map(([, v]) => v);

async function systemdAnalyze(args: string[], cwd: string): Promise<{ stdout: string; stderr: string; code: number }> {
  try {
    const { stdout, stderr } = await run('systemd-analyze', args, { cwd, env: { ...process.env, SYSTEMD_COLORS: '0', SYSTEMD_PAGER: '' } });
    return { stdout, stderr, code: 0 };
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stdout?: string; stderr?: string; code?: number | string };
    if (e.code === 'ENOENT') {
      assert.fail('systemd-analyze is not installed: install the `systemd` package (apt-get install -y systemd) to check the unit');
    }
    return { stdout: e.stdout ?? '', stderr: e.stderr ?? '', code: typeof e.code === 'number' ? e.code : -1 };
  }
}

/** A temp copy named pinauthd.service; `edit` may adapt it to this machine. */
function tempUnit(edit: (text: string) => string = (t) => t): { dir: string; file: string } {
  const dir = mkdtempSync(join(tmpdir(), 'pinauthd-unit-'));
  const file = join(dir, 'pinauthd.service');
  writeFileSync(file, edit(unitText));
  return { dir, file };
}

test('systemd-analyze security --offline rates the unit at 1.5 or lower ("OK")', async (t) => {
  const { dir, file } = tempUnit();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const { stdout, stderr } = await systemdAnalyze(['security', '--offline=true', '--no-pager', file], dir);
  const m = /Overall exposure level for pinauthd\.service:\s*([0-9]+(?:\.[0-9]+)?)\s+(\w+)/.exec(stdout + stderr);
  assert.ok(m, `no exposure figure in the output:\n${stdout}\n${stderr}`);
  const exposure = Number(m[1]);
  assert.ok(exposure <= MAX_EXPOSURE, `exposure ${exposure} ${m[2]} is above ${MAX_EXPOSURE}:\n${stdout.split('\n').filter((l) => l.includes('✗')).join('\n')}`);
});

test('systemd-analyze verify is clean (ExecStart pointed at this node)', async (t) => {
  // verify insists that the ExecStart binary exists; CI's node may not be /usr/bin/node
  const { dir, file } = tempUnit((text) => text.replace(/^ExecStart=\/usr\/bin\/node /m, `ExecStart=${process.execPath} `));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  assert.match(readFileSync(file, 'utf8'), new RegExp(`^ExecStart=${process.execPath.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} `, 'm'));
  const { stdout, stderr, code } = await systemdAnalyze(['verify', '--no-pager', file], dir);
  assert.equal(code, 0, `verify failed:\n${stdout}${stderr}`);
  assert.equal((stdout + stderr).trim(), '', 'verify printed warnings');
});

test('the unit has the lines the daemon relies on', () => {
  const must: Array<[string, string]> = [
    ['Type', 'notify'],
    ['NotifyAccess', 'all'],
    ['LimitCORE', '0'],
    ['UMask', '0077'],
    ['DevicePolicy', 'closed'],
    ['StateDirectory', 'pinauthd'],
    ['StateDirectoryMode', '0700'],
    ['ConfigurationDirectory', 'pinauthd'],
    ['SupplementaryGroups', 'dialout'],
    ['Restart', 'on-failure'],
    ['LoadCredential', 'consumer_secret:/etc/pinauthd/consumer_secret'],
    ['LoadCredential', 'consumer_key:/etc/pinauthd/consumer_key'],
  ];
  for (const [k, v] of must) assert.ok(values(k).includes(v), `missing ${k}=${v}`);
  for (const dev of ['char-ttyUSB rw', 'char-ttyACM rw', 'char-ttyAMA rw', '/dev/ttyS0 rw', '/dev/pinpad rw']) {
    assert.ok(values('DeviceAllow').includes(dev), `missing DeviceAllow=${dev}`);
  }
  // the evdev keypad: its group, and input devices read only (nothing is ever written to them)
  assert.ok(values('SupplementaryGroups').includes('input'), 'missing SupplementaryGroups=input');
  assert.deepEqual(values('DeviceAllow').filter((v) => v.startsWith('char-input')), ['char-input r']);
  for (const k of ['WatchdogSec', 'TimeoutStopSec', 'RestartSec', 'StartLimitIntervalSec', 'StartLimitBurst', 'MemoryMax']) {
    assert.equal(values(k).length, 1, `${k} must be set once`);
  }
  assert.equal(values('ExecStart').length, 1);
  assert.match(values('ExecStart')[0] ?? '', /\/opt\/pinauthd\/dist\/pinauthd-start\.cjs run$/);
});

test('the unit starts before the network is online (the display shows "No network yet"), and still asks for it', () => {
  const after = values('After').flatMap((v) => v.split(/\s+/));
  assert.ok(after.includes('network.target'), 'After=network.target (stopped before the network goes down)');
  assert.ok(!after.includes('network-online.target'), 'After=network-online.target keeps the display blank until the network is up');
  assert.ok(values('Wants').flatMap((v) => v.split(/\s+/)).includes('network-online.target'), 'Wants=network-online.target');
});

test('DeviceAllow names no major that also holds the virtual consoles (tty0-63 are char-ttyS\'s major 4)', () => {
  for (const v of values('DeviceAllow')) {
    const dev = v.split(/\s+/)[0]!;
    assert.ok(!/^(char-(tty|ttyS|vc|4)|\/dev\/(tty\d*|console|vcs\w*))$/.test(dev), `DeviceAllow=${v} also opens the virtual consoles`);
    assert.ok(/^(char-tty(USB|ACM|AMA)|char-input|\/dev\/(ttyS\d+|pinpad))$/.test(dev), `DeviceAllow=${v}: only the serial ports and input devices`);
  }
});

test('IPAddressDeny= shuts IPv4 link-local and multicast (nothing of pinauthd talks to them)', () => {
  const denied = values('IPAddressDeny').flatMap((v) => v.split(/\s+/));
  for (const net of ['169.254.0.0/16', 'multicast']) assert.ok(denied.includes(net), `IPAddressDeny lacks ${net}`);
  assert.ok(!denied.includes('any'), 'the provider is on the internet');
});

test('the unit has none of the options that break Node or hide the ttys', () => {
  assert.ok(!values('MemoryDenyWriteExecute').some((v) => /^(yes|true|on|1)$/i.test(v)), 'MemoryDenyWriteExecute kills V8');
  assert.ok(!values('PrivateDevices').some((v) => /^(yes|true|on|1)$/i.test(v)), 'PrivateDevices hides the serial ports');
  assert.ok(!/--no-block/.test(unitText.replace(/^#.*$/gm, '')), 'fire-and-forget notify loses READY');
});

test('stock node runs the bundle\'s loader: no V8 flags on the command line, in NODE_OPTIONS or set at run time', () => {
  assert.match(values('ExecStart')[0] ?? '', /^\/usr\/bin\/node \/opt\/pinauthd\/dist\/pinauthd-start\.cjs run$/);
  assert.ok(!values('Environment').some((v) => /NODE_OPTIONS/.test(v)), 'NODE_OPTIONS in the unit');
  // the loader (copied to dist/ by scripts/build.mjs) and every source of the bundle
  const sources = ['scripts/pinauthd-start.cjs', ...readdirSync(fileURLToPath(new URL('../../src', import.meta.url)), { recursive: true }).map((f) => `src/${String(f)}`)];
  for (const file of sources.filter((f) => /\.(c?js|ts)$/.test(f))) {
    assert.doesNotMatch(readFileSync(fileURLToPath(new URL(`../../${file}`, import.meta.url)), 'utf8'), /setFlagsFromString/, file);
  }
});

test('the heap guard\'s limit is well below MemoryMax', () => {
  // a V8 flag (--max-old-space-size) would make V8 reject Node's built-in code cache (~13 ms
  // a start): the heap is bounded by src/service/heap-guard.ts instead
  const heapMiB = HEAP_LIMIT_MIB;
  const mm = /^(\d+)([KMG])$/.exec(values('MemoryMax')[0] ?? '');
  assert.ok(mm, 'MemoryMax is a plain size');
  const memMiB = Number(mm[1]) * ({ K: 1 / 1024, M: 1, G: 1024 } as const)[mm[2] as 'K' | 'M' | 'G'];
  assert.ok(heapMiB <= memMiB * 0.6, `old space ${heapMiB} MiB leaves too little of MemoryMax ${memMiB} MiB for code, buffers and new space`);
});

test('a crash loop keeps being restarted, with room for manual starts; config and usage errors are not restarted', () => {
  const sec = (v: string | undefined) => Number(/^(\d+)s?$/.exec(v ?? '')?.[1]);
  const interval = sec(values('StartLimitIntervalSec')[0]);
  const burst = Number(values('StartLimitBurst')[0]);
  const restartSec = sec(values('RestartSec')[0]);
  assert.ok(interval > 0 && burst > 0 && restartSec > 0, 'StartLimitIntervalSec, StartLimitBurst, RestartSec in seconds');
  // systemd counts every start, automatic or manual, within the interval
  const loopStarts = Math.ceil(interval / restartSec);
  assert.ok(loopStarts + 3 <= burst, `a crash loop (${loopStarts} starts per ${interval} s) plus a few manual starts must stay under StartLimitBurst=${burst}`);
  const prevented = (values('RestartPreventExitStatus')[0] ?? '').split(/\s+/);
  for (const code of ['2', '3']) assert.ok(prevented.includes(code), `exit ${code} (usage/config) is not restarted`);
});
