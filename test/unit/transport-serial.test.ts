import { afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { isPinauthError } from '../../src/errors.js';
import { SerialTransport } from '../../src/transport/serial.js';
import { createTransport } from '../../src/transport/index.js';
import { serialOpenError } from '../../src/transport/errors.js';
import { MockBinding, SERIAL_9600, trackingBinding, unplug, until } from '../helpers/transport-mock.js';

const logger = pino({ level: 'silent' });
afterEach(() => MockBinding.reset());

test('open, receive, write byte for byte, close on purpose', async () => {
  MockBinding.createPort('/dev/ttyPIN0', { record: true });
  const tb = trackingBinding();
  const t = new SerialTransport({ path: '/dev/ttyPIN0', serial: SERIAL_9600, logger, binding: tb.binding });
  const got: Buffer[] = [];
  t.on('data', (b) => got.push(b));
  await t.open();
  assert.equal(t.isOpen, true);
  assert.equal(t.description, '/dev/ttyPIN0 @ 9600');
  await t.write('ROW 0 Hello\n');
  await t.write(Buffer.from('CLR\n'));
  assert.equal(tb.last().recording.toString(), 'ROW 0 Hello\nCLR\n');
  tb.last().emitData('1\n');
  await until(() => got.length > 0, 'data');
  assert.equal(Buffer.concat(got).toString(), '1\n');
  const closes: unknown[] = [];
  t.on('close', (e) => closes.push(e));
  await t.close();
  await t.close();
  assert.deepEqual(closes, [null]);
  assert.equal(t.isOpen, false);
  await assert.rejects(t.write('x'), (e) => isPinauthError(e, 'DEVICE_DISCONNECTED'));
});

test('serial settings reach the binding (flow control, parity, stop bits)', async () => {
  MockBinding.createPort('/dev/ttyPIN1');
  const tb = trackingBinding();
  const t = new SerialTransport({
    path: '/dev/ttyPIN1',
    serial: { baudRate: 19200, dataBits: 7, parity: 'even', stopBits: 2, flowControl: 'rtscts' },
    logger,
    binding: tb.binding,
  });
  await t.open();
  const o = tb.last().openOptions;
  assert.deepEqual([o.baudRate, o.dataBits, o.parity, o.stopBits, o.rtscts, o.xon], [19200, 7, 'even', 2, true, false]);
  await t.close();
});

test('an unplug (read fails) closes with a disconnected error', async () => {
  MockBinding.createPort('/dev/ttyPIN2');
  const tb = trackingBinding();
  const t = new SerialTransport({ path: '/dev/ttyPIN2', serial: SERIAL_9600, logger, binding: tb.binding });
  await t.open();
  const closes: Array<(Error & { disconnected?: boolean }) | null> = [];
  t.on('close', (e) => closes.push(e));
  unplug(tb.last());
  await until(() => closes.length > 0, 'close');
  assert.equal(closes[0]?.disconnected, true);
  assert.ok(isPinauthError(closes[0], 'DEVICE_DISCONNECTED'));
  // Reopening after an unplug works (the session does this).
  await t.open();
  assert.equal(t.isOpen, true);
  await t.close();
});

test('missing port -> DEVICE_NOT_FOUND, locked port -> DEVICE_BUSY (mock binding)', async () => {
  const tb = trackingBinding();
  const missing = new SerialTransport({ path: '/dev/ttyNOPE', serial: SERIAL_9600, logger, binding: tb.binding });
  await assert.rejects(missing.open(), (e) => isPinauthError(e, 'DEVICE_NOT_FOUND') && /by-id/.test(e.message));
  MockBinding.createPort('/dev/ttyPIN3');
  const first = new SerialTransport({ path: '/dev/ttyPIN3', serial: SERIAL_9600, logger, binding: tb.binding });
  await first.open();
  const second = new SerialTransport({ path: '/dev/ttyPIN3', serial: SERIAL_9600, logger, binding: tb.binding });
  await assert.rejects(second.open(), (e) => isPinauthError(e, 'DEVICE_BUSY') && /ModemManager/.test(e.message));
  await first.close();
});

test('open errors of the native binding map to actionable codes', async () => {
  const cases: Array<[unknown, string, RegExp]> = [
    [new Error('Error: No such file or directory, cannot open /dev/ttyUSB0'), 'DEVICE_NOT_FOUND', /by-id/],
    [Object.assign(new Error('open failed'), { code: 'ENOENT' }), 'DEVICE_NOT_FOUND', /plugged in/],
    [new Error('Error: Permission denied, cannot open /dev/ttyUSB0'), 'DEVICE_PERMISSION', /dialout/],
    [Object.assign(new Error('x'), { code: 'EPERM' }), 'DEVICE_PERMISSION', /dialout/],
    [new Error('Error Resource temporarily unavailable Cannot lock port'), 'DEVICE_BUSY', /ModemManager/],
    [new Error('Error: Device or resource busy, cannot open /dev/ttyAMA0'), 'DEVICE_BUSY', /serial console/],
  ];
  for (const [err, code, hint] of cases) {
    const mapped = serialOpenError('/dev/ttyUSB0', err);
    assert.equal(mapped.code, code, String(err));
    assert.match(mapped.message, hint);
  }
  // And through the transport, with a binding whose open fails like the native one.
  const denied = { list: async () => [], open: async () => { throw new Error('Error: Permission denied, cannot open /dev/ttyUSB9'); } };
  const t = new SerialTransport({ path: '/dev/ttyUSB9', serial: SERIAL_9600, logger, binding: denied });
  await assert.rejects(t.open(), (e) => isPinauthError(e, 'DEVICE_PERMISSION'));
});

test('the real binding: a path that does not exist is DEVICE_NOT_FOUND', async () => {
  const t = createTransport(join(tmpdir(), 'pinauthd-no-such-tty'), SERIAL_9600, { logger });
  await assert.rejects(t.open(), (e) => isPinauthError(e, 'DEVICE_NOT_FOUND'));
});

test('a real PTY (socat): killing socat is seen as an unplug', { skip: !existsSync('/usr/bin/socat') }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pinauthd-pty-'));
  const a = join(dir, 'A');
  const b = join(dir, 'B');
  const socat = spawn('/usr/bin/socat', [`pty,raw,echo=0,link=${a}`, `pty,raw,echo=0,link=${b}`], { stdio: 'ignore' });
  try {
    await until(() => existsSync(a) && existsSync(b), 'socat links', 2_000_000);
    const t = new SerialTransport({ path: a, serial: SERIAL_9600, logger });
    await t.open();
    const closes: Array<(Error & { disconnected?: boolean }) | null> = [];
    t.on('close', (e) => closes.push(e));
    socat.kill('SIGTERM');
    await until(() => closes.length > 0, 'close after unplug', 2_000_000);
    assert.equal(closes[0]?.disconnected, true);
    await t.close();
  } finally {
    if (socat.exitCode === null) socat.kill('SIGKILL');
  }
});

test('a real PTY (socat): unplugged and back at once, on a new pts, is still an unplug', { skip: !existsSync('/usr/bin/socat') }, async () => {
  // The link is back before the path watch's confirm moment, so "still gone" cannot tell. The
  // old pts is hung up: its reads return 0 bytes, which bindings-cpp retries without a word;
  // only the link naming another device shows the unplug. No write here: a write would fail
  // with EIO and close the port by itself.
  const dir = mkdtempSync(join(tmpdir(), 'pinauthd-pty-'));
  const a = join(dir, 'A');
  const plug = (): ReturnType<typeof spawn> => spawn('/usr/bin/socat', [`pty,raw,echo=0,link=${a}`, 'STDIO'], { stdio: ['pipe', 'ignore', 'ignore'] });
  let socat = plug();
  try {
    await until(() => existsSync(a), 'socat link', 2_000_000);
    const t = new SerialTransport({ path: a, serial: SERIAL_9600, logger });
    await t.open();
    const closes: Array<(Error & { disconnected?: boolean }) | null> = [];
    t.on('close', (e) => closes.push(e));
    const first = socat;
    const exited = new Promise((r) => first.once('exit', r));
    first.kill('SIGTERM');
    await exited;
    socat = plug();
    await until(() => existsSync(a), 'socat link again', 2_000_000);
    await until(() => closes.length > 0, 'close after the unplug', 2_000_000);
    assert.equal(closes[0]?.disconnected, true);
    // and the new device opens
    const again = new SerialTransport({ path: a, serial: SERIAL_9600, logger });
    await again.open();
    await again.close();
    await t.close();
  } finally {
    if (socat.exitCode === null) socat.kill('SIGKILL');
  }
});

test('a write the binding never answers is failed by the unplug, not left hanging', async () => {
  MockBinding.createPort('/dev/ttyHANG', { record: true });
  const tb = trackingBinding();
  const t = new SerialTransport({ path: '/dev/ttyHANG', serial: SERIAL_9600, logger, binding: tb.binding });
  await t.open();
  const port = tb.last();
  // A dead port whose write never calls back (bindings-cpp after a USB unplug).
  port.write = () => new Promise(() => {});
  let outcome: unknown = 'pending';
  const pending = t.write('ROW 0 hello\n').then(() => (outcome = 'resolved'), (e: unknown) => (outcome = e));
  unplug(port);
  await pending;
  assert.ok(isPinauthError(outcome, 'DEVICE_DISCONNECTED'), `the write failed with DEVICE_DISCONNECTED, got ${String(outcome)}`);
  assert.equal(t.isOpen, false);
});
