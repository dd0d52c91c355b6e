/**
 * 7. Storage failures, on a real file system: the store on a small tmpfs that is filled up or
 * remounted read-only while the real daemon runs. Mounting needs root (CI runs as root);
 * elsewhere the tests are skipped and say why.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, unlinkSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { stacksForThisFile, type DaemonProcess, type Stack } from '../helpers/stack.js';
import { ms, record } from './figures.js';

const SECTION = '9 storage';
const stack = stacksForThisFile();

/** Why a tmpfs cannot be mounted here, or null when it can. */
function cannotMount(): string | null {
  if (process.getuid?.() !== 0) return 'needs root to mount a tmpfs (CI runs as root)';
  const probe = mkdtempSync(path.join(os.tmpdir(), 'pinauthd-mount-probe-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', probe], { stdio: 'pipe' });
    execFileSync('umount', [probe], { stdio: 'pipe' });
    return null;
  } catch (e) {
    return `cannot mount a tmpfs here: ${String((e as { stderr?: Buffer }).stderr ?? e).trim()}`;
  } finally {
    rmSync(probe, { recursive: true, force: true });
  }
}
const skip = cannotMount() ?? false;
if (skip) record(SECTION, 'storage failure tests', `skipped: ${skip}`, 'run as root');

const mounts: string[] = [];
after(() => {
  for (const m of mounts) {
    try {
      execFileSync('umount', [m], { stdio: 'pipe' });
    } catch {
      // not mounted
    }
    rmSync(m, { recursive: true, force: true });
  }
});

/** A 256 KiB tmpfs of our own; the store goes in state/ on it. */
function smallDisk(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pinauthd-disk-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256k,mode=0700', 'tmpfs', dir], { stdio: 'pipe' });
  mounts.push(dir);
  return dir;
}

const remount = (dir: string, mode: 'ro' | 'rw') => execFileSync('mount', ['-o', `remount,${mode}`, dir], { stdio: 'pipe' });

/** Fill the file system up to the last byte; returns the filler to delete. */
function fill(dir: string): string {
  const filler = path.join(dir, 'filler');
  const fd = openSync(filler, 'w');
  const block = Buffer.alloc(4096, 1);
  try {
    for (;;) writeSync(fd, block);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOSPC') throw e;
  } finally {
    closeSync(fd);
  }
  return filler;
}

function typeKeys(s: Stack, keys: string): void {
  for (const k of keys) s.sim.pressKey(k);
}

const refusedWrites = (d: DaemonProcess) => d.logs.filter((l) => /^could not store the access token/.test(String(l.msg))).length;

async function onDisk(): Promise<{ s: Stack; disk: string }> {
  const disk = smallDisk();
  const s = await stack({ profile: 'lcd16x2', keypadMode: 'keys', config: (c) => (c.store.path = path.join(disk, 'state', 'tokens.json')) });
  return { s, disk };
}

/** Start the daemon, wait for the URL and its stored pending record; the PIN the person got. */
async function urlShown(s: Stack): Promise<{ d: DaemonProcess; pin: string }> {
  const d = s.spawn(['run']);
  await d.waitForState('awaiting_pin');
  const token = await s.pendingToken();
  await s.readStoreWhen((st) => st.pending?.token === token);
  return { d, pin: s.provider.approve(token) };
}

describe('the access token issued while the store cannot be written is never dropped', { skip }, () => {
  const cases = [
    {
      what: 'disk full (ENOSPC)',
      title: 'Storage full',
      breakDisk: (disk: string) => {
        const filler = fill(disk);
        return () => unlinkSync(filler);
      },
    },
    {
      what: 'read-only remount (EROFS)',
      title: 'Disk read-only',
      breakDisk: (disk: string) => {
        remount(disk, 'ro');
        return () => remount(disk, 'rw');
      },
    },
  ];
  for (const c of cases) {
    it(`${c.what} when the PIN is exchanged: kept in memory, shown, in status, stored once the disk takes it`, async () => {
      const { s, disk } = await onDisk();
      const { d, pin } = await urlShown(s);
      const repair = c.breakDisk(disk);
      typeKeys(s, pin);
      await s.waitForText(c.title);
      await d.waitForLog((l) => /^could not store the access token/.test(String(l.msg)), 15_000, 'the refused write logged');
      const st = await s.status();
      assert.equal(st?.state, 'saving');
      assert.equal(st?.storage.unsaved, 'access token');
      assert.equal(st?.account?.screenName, 'twitterapi', 'the account is known, from memory');
      const cli = await s.cli(['status']);
      assert.match(cli.stdout, /storage: .*kept in memory/, cli.stdout);
      assert.equal((await s.readStore()).accounts.length, 0, 'nothing on disk yet');
      // More than one refused write: the daemon keeps trying.
      await d.waitForLog(() => refusedWrites(d) >= 2, 15_000, 'a second write refused');
      assert.equal(s.provider.stats().access_token.requests, 1, 'the PIN went out once');

      const repaired = Date.now();
      repair();
      await d.waitForState('authorized');
      const store = await s.readStoreWhen((x) => x.accounts.length === 1);
      const took = Date.now() - repaired;
      assert.equal(store.accounts[0].screenName, 'twitterapi');
      assert.equal(store.pending, null);
      assert.equal((await s.status())?.storage.ok, true);
      assert.equal(await d.stop(), 0);
      record(SECTION, `${c.what} after the provider issued the token`, `kept, shown "${c.title}", stored ${ms(took)} after the disk was back (${refusedWrites(d)} writes refused)`, 'token never dropped');
    });
  }

  it('disk full when the pending request is stored: the URL stays usable, with the reason above it', async () => {
    const { s, disk } = await onDisk();
    s.provider.faults.delayMs = 500;
    s.provider.faults.delayEndpoint = 'request_token';
    const d = s.spawn(['run']);
    await d.waitForState('requesting');
    const filler = fill(disk);
    await d.waitForState('awaiting_pin');
    await d.waitForLog((l) => /^could not store the pending authorization/.test(String(l.msg)) && l.level === 40, 15_000, 'a warning');
    await s.waitForText('Storage full');
    s.provider.faults.delayMs = 0;
    unlinkSync(filler);
    typeKeys(s, await s.approve());
    await d.waitForState('authorized');
    await s.readStoreWhen((x) => x.accounts.length === 1);
    assert.equal(await d.stop(), 0);
    record(SECTION, 'disk full when the pending request is stored', 'skipped with a warning, "Storage full" above the URL, flow completes', 'flow goes on');
  });
});

describe('a store on a read-only file system at start', { skip }, () => {
  it('the reason is on the display, the daemon stays up and retries, and carries on once the disk is writable', async () => {
    const { s, disk } = await onDisk();
    mkdirSync(path.join(disk, 'state'), { mode: 0o700 });
    remount(disk, 'ro');
    const d = s.spawn(['run']);
    await s.waitForText('Disk read-only');
    await s.waitForText('retry in');
    await d.waitForLog(() => d.logs.filter((l) => /^cannot open the token store/.test(String(l.msg))).length >= 2, 15_000, 'a second try');
    assert.equal(d.child.exitCode, null, 'still running');
    const repaired = Date.now();
    remount(disk, 'rw');
    await d.waitForState('awaiting_pin');
    const took = Date.now() - repaired;
    typeKeys(s, await s.approve());
    await d.waitForState('authorized');
    await s.readStoreWhen((x) => x.accounts.length === 1);
    assert.equal(await d.stop(), 0);
    record(SECTION, 'store on a read-only file system at start', `"Disk read-only" shown, daemon up, URL ${ms(took)} after the remount rw`, 'shown, no exit');
  });
});
