/**
 * The input-device transport without a kernel: a regular file of recorded events stands in
 * for the char device (its read path, the EVIOCGRAB/EVIOCREVOKE calls through an injected
 * ioctl), a FIFO for the stream path. The real ioctl on a real device is proven in the
 * systemd testbed (docs/hardware.md).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, openSync, closeSync, writeFileSync, writeSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { EVIOCGRAB, EVIOCREVOKE, EvdevTransport, systemIoctl } from '../../src/transport/evdev.js';
import { isPinauthError } from '../../src/errors.js';
import { encode, pinThenEnter } from '../fixtures/evdev-recordings.js';

const logger = pino({ level: 'silent' });
const dir = mkdtempSync(path.join(os.tmpdir(), 'pinauthd-evdev-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

test('a device file: grabbed, read to its end (an unplug), revoked and closed', async () => {
  const file = path.join(dir, 'recorded');
  const events = encode(pinThenEnter('12'), 24);
  writeFileSync(file, events);
  const calls: Array<[number, number]> = [];
  const t = new EvdevTransport({ path: file, logger, grab: true, watchPath: false, ioctl: (_fd, req, arg) => (calls.push([req, arg]), 0) });
  const got: Buffer[] = [];
  t.on('data', (b) => got.push(b));
  const closed = once(t, 'close');
  await t.open();
  const [err] = (await closed) as [Error & { disconnected?: boolean }];
  assert.equal(err.disconnected, true);
  assert.deepEqual(Buffer.concat(got), events);
  assert.deepEqual(calls, [[EVIOCGRAB, 1], [EVIOCREVOKE, 0]]);
  await assert.rejects(t.write(), /input device/);
});

test('a device another program has grabbed: DEVICE_BUSY, and not used', async () => {
  const file = path.join(dir, 'busy');
  writeFileSync(file, '');
  const t = new EvdevTransport({ path: file, logger, grab: true, ioctl: () => 16 });
  await assert.rejects(t.open(), (e: unknown) => isPinauthError(e) && e.code === 'DEVICE_BUSY');
  assert.equal(t.isOpen, false);
});

test('a missing device: DEVICE_NOT_FOUND with where to look', async () => {
  const t = new EvdevTransport({ path: path.join(dir, 'nope'), logger, grab: true, ioctl: () => 0 });
  await assert.rejects(t.open(), (e: unknown) => isPinauthError(e) && e.code === 'DEVICE_NOT_FOUND' && /by-id/.test(e.message));
});

test('libc\'s ioctl through koffi: EVIOCGRAB on something that is not an input device is ENOTTY', async () => {
  const ioctl = await systemIoctl();
  const fd = openSync('/dev/null', 'r');
  try {
    assert.equal(ioctl(fd, EVIOCGRAB, 1), 25);
  } finally {
    closeSync(fd);
  }
});

test('a FIFO standing in: grab refused (not an input device); without grab it streams, and its writer leaving is an unplug', async () => {
  const fifo = path.join(dir, 'fifo');
  execFileSync('mkfifo', [fifo]);
  await assert.rejects(
    (async () => {
      const opening = new EvdevTransport({ path: fifo, logger, grab: true, ioctl: () => 0 }).open();
      const w = openSync(fifo, 'w');
      try {
        await opening;
      } finally {
        closeSync(w);
      }
    })(),
    (e: unknown) => isPinauthError(e) && e.code === 'DEVICE_PROTOCOL',
  );
  const t = new EvdevTransport({ path: fifo, logger, grab: false });
  const opened = t.open();
  const w = openSync(fifo, 'w');
  await opened;
  const data = once(t, 'data');
  writeSync(w, encode(pinThenEnter('9'), 24));
  assert.ok(((await data) as [Buffer])[0].length > 0);
  const closed = once(t, 'close');
  closeSync(w);
  const [err] = (await closed) as [Error & { disconnected?: boolean }];
  assert.equal(err.disconnected, true);

  // close() on purpose while the writer is still there: no unplug, no wait for input
  const t2 = new EvdevTransport({ path: fifo, logger, grab: false });
  const opened2 = t2.open();
  const w2 = openSync(fifo, 'w');
  await opened2;
  const closed2 = once(t2, 'close');
  await t2.close();
  assert.deepEqual(await closed2, [null]);
  closeSync(w2);
});
