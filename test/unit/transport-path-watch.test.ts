/**
 * The device path watch (src/transport/path-watch.ts): a link that is gone, or back naming
 * another device, is an unplug; a link re-created to the same device (udev's change event)
 * is not. /dev/null and /dev/zero stand in for two device nodes.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, symlinkSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import pino from 'pino';
import { watchForVanish } from '../../src/transport/path-watch.js';
import { until } from '../helpers/transport-mock.js';

const logger = pino({ level: 'silent' });

function linkTo(target: string): { dir: string; link: string } {
  const dir = mkdtempSync(join(tmpdir(), 'pinauthd-watch-'));
  const link = join(dir, 'ttyPIN');
  symlinkSync(target, link);
  return { dir, link };
}

/** Replace the link in one step, as udev and socat do (a new link renamed over the old). */
function relink(dir: string, link: string, target: string): void {
  const tmp = join(dir, '.new');
  symlinkSync(target, tmp);
  renameSync(tmp, link);
}

test('a link removed for good is an unplug', async () => {
  const { dir, link } = linkTo('/dev/null');
  let vanished = 0;
  const stop = watchForVanish(link, logger, () => vanished++);
  try {
    rmSync(link);
    await until(() => vanished > 0, 'vanish', 2_000_000);
    assert.equal(vanished, 1);
  } finally {
    stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a link back at once on another device is an unplug (a fast replug gets a new node)', async () => {
  const { dir, link } = linkTo('/dev/null');
  let vanished = 0;
  const stop = watchForVanish(link, logger, () => vanished++);
  try {
    rmSync(link);
    symlinkSync('/dev/zero', link);
    await until(() => vanished > 0, 'vanish', 2_000_000);
    // replaced in one step, too
    vanished = 0;
    relink(dir, link, '/dev/full');
    await until(() => vanished > 0, 'vanish after an atomic relink', 2_000_000);
  } finally {
    stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a link re-created to the same device is not an unplug; the removal after it is', async () => {
  const { dir, link } = linkTo('/dev/null');
  const events: string[] = [];
  const stop = watchForVanish(link, logger, () => events.push('vanished'));
  try {
    rmSync(link);
    symlinkSync('/dev/null', link);
    relink(dir, link, '/dev/null');
    // The confirm moment is 150 ms: well past it, nothing may have been reported.
    await new Promise((r) => setTimeout(r, 600));
    events.push('relinked');
    rmSync(link);
    await until(() => events.includes('vanished'), 'vanish', 2_000_000);
    assert.deepEqual(events, ['relinked', 'vanished']);
  } finally {
    stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
