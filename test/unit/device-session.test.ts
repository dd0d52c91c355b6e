import { afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Socket } from 'node:net';
import { PassThrough } from 'node:stream';
import pino from 'pino';
import { DeviceSession } from '../../src/device/session.js';
import type { DisplayConfig, KeypadConfig } from '../../src/config/types.js';
import type { KeypadEvent } from '../../src/device/types.js';
import { isPinauthError } from '../../src/errors.js';
import { StdioTransport } from '../../src/transport/stdio.js';
import { MockBinding, SERIAL_9600, trackingBinding, unplug, until } from '../helpers/transport-mock.js';

const logger = pino({ level: 'silent' });
afterEach(() => MockBinding.reset());

const display = (port: string): DisplayConfig => ({ driver: 'pinpad', port, cols: 16, rows: 2, serial: SERIAL_9600, setSize: true });
const keypad: KeypadConfig = { driver: 'lines', port: null, mode: 'keys', delimiter: 'LF', autoSubmit: true, maxLineBytes: 64, serial: SERIAL_9600, keymap: {}, grab: true };
const reconnect = { initialMs: 1, maxMs: 8 };
const VIEW = { state: 'idle', title: 'Hello', lines: ['world'] };

test('one port: HELLO goes to the display, keys to the keypad; unplug -> reconnect -> full redraw', async () => {
  MockBinding.createPort('/dev/ttySESS', { record: true });
  const tb = trackingBinding();
  const session = new DeviceSession({ display: display('/dev/ttySESS'), keypad, pin: { digits: 7 }, logger, binding: tb.binding, reconnect });
  const keys: KeypadEvent[] = [];
  const outages: Error[] = [];
  session.on('key', (k) => keys.push(k));
  session.on('disconnected', (e) => outages.push(e));
  try {
    const connected = once(session, 'connected');
    await session.start();
    await connected;
    assert.equal(session.connected, true);
    await session.show(VIEW);
    const first = tb.last();
    first.emitData('HELLO pinpad/1 kind=lcd cols=16 rows=2 fw=t\n#\n');
    await until(() => keys.length > 0 && session.info.firmware === 't', 'key and HELLO');
    assert.deepEqual(keys, [{ type: 'page', delta: 1 }]);
    await until(() => first.recording.toString().endsWith('ROW 0 Hello\nROW 1 world\n'), 'redraw after HELLO');

    const back = once(session, 'connected');
    unplug(first);
    await back;
    assert.equal(outages.length, 1);
    assert.ok(isPinauthError(outages[0], 'DEVICE_DISCONNECTED'));
    const second = tb.last();
    assert.notEqual(second, first);
    // Nothing is drawn until the device says who it is (it may be another one now).
    await until(() => second.recording.toString() === '?\n', 'HELLO asked for');
    second.emitData('HELLO pinpad/1 kind=lcd cols=16 rows=2 fw=t\n');
    await until(() => second.recording.toString() === '?\nCLR\nROW 0 Hello\nROW 1 world\n', 'full redraw after reopen');
  } finally {
    await session.stop();
    await session.stop();
  }
  assert.equal(session.connected, false);
});

test('device missing at start: no throw, one outage event, connects when it appears', async () => {
  const tb = trackingBinding();
  const session = new DeviceSession({ display: display('/dev/ttyLATE'), keypad, pin: { digits: 7 }, logger, binding: tb.binding, reconnect });
  const outages: Error[] = [];
  session.on('disconnected', (e) => outages.push(e));
  try {
    await session.start();
    assert.equal(session.connected, false);
    assert.ok(isPinauthError(outages[0], 'DEVICE_NOT_FOUND'));
    await session.show(VIEW); // kept for when the device appears
    // Let several retries fail: still a single outage event.
    await until(() => tb.attempts() >= 4, 'retries', 10_000_000);
    MockBinding.createPort('/dev/ttyLATE', { record: true });
    await once(session, 'connected');
    assert.equal(outages.length, 1);
    tb.last().emitData('HELLO pinpad/1 kind=lcd cols=16 rows=2 fw=t\n');
    await until(() => tb.last().recording.toString().includes('ROW 1 world'), 'last view drawn');
  } finally {
    await session.stop();
  }
});

test('two ports over TCP: a bridge that drops and comes back', async () => {
  const sockets: Socket[] = [];
  const server = createServer((s) => sockets.push(s));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  MockBinding.createPort('/dev/ttyDISP', { record: true });
  const tb = trackingBinding();
  const session = new DeviceSession({
    display: { ...display('/dev/ttyDISP'), driver: 'text' },
    keypad: { ...keypad, port: `tcp://127.0.0.1:${port}`, mode: 'line' },
    pin: { digits: 7 },
    logger,
    binding: tb.binding,
    reconnect,
  });
  const keys: KeypadEvent[] = [];
  session.on('key', (k) => keys.push(k));
  session.setKeypadContext({ kind: 'pin', digits: 7 });
  try {
    const connected = once(session, 'connected');
    await session.start();
    await connected;
    await until(() => sockets.length === 1, 'bridge accepted');
    sockets[0]!.write('123-4567\n');
    await until(() => keys.length === 1, 'pin');
    assert.deepEqual(keys[0], { type: 'pin', pin: '1234567' });

    const outage = once(session, 'disconnected');
    const back = once(session, 'connected');
    sockets[0]!.destroy();
    const [err] = await outage;
    assert.ok(isPinauthError(err, 'DEVICE_DISCONNECTED'));
    await back;
    await until(() => sockets.length === 2, 'bridge accepted again');
    // A partial line before the drop never becomes a PIN; the new connection starts clean.
    sockets[1]!.write('7654321\n');
    await until(() => keys.length === 2, 'second pin');
    assert.deepEqual(keys[1], { type: 'pin', pin: '7654321' });
    // The display port was never touched by the keypad outage: text frames only.
    await session.show(VIEW);
    await until(() => tb.last().recording.toString().includes('Hello\r\nworld\r\n'), 'text frame');
  } finally {
    await session.stop();
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  }
});

/** `login --console`'s device: the console display and line keypad on one stdio transport. */
function consoleSession(transportFactory: () => StdioTransport): DeviceSession {
  return new DeviceSession({
    display: { ...display('stdio'), driver: 'console', cols: 40, rows: 6 },
    keypad: { ...keypad, mode: 'line' },
    pin: { digits: 7 },
    logger,
    reconnect,
    transportFactory,
  });
}

test('the console: stdin known at open to give nothing (endedAtOpen) is input_closed before start() resolves, once', async () => {
  const input = new PassThrough();
  const session = consoleSession(() => {
    const t = new StdioTransport({ input, output: new PassThrough() });
    Object.defineProperty(t, 'endedAtOpen', { get: () => true });
    return t;
  });
  const events: string[] = [];
  session.on('input_closed', () => events.push('input_closed'));
  try {
    await session.start();
    assert.deepEqual(events, ['input_closed']);
    const streamEnded = new Promise((r) => input.once('end', r));
    input.end(); // the stream's own end follows: said once
    await streamEnded;
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(events, ['input_closed']);
  } finally {
    await session.stop();
  }
});

test('the console: the end of stdin is input_closed, not an outage; nothing reopens it, a partial line is no PIN, screens still go out', async () => {
  const input = new PassThrough();
  const output = new PassThrough();
  let opened = 0;
  const session = consoleSession(() => {
    opened++;
    return new StdioTransport({ input, output });
  });
  const keys: KeypadEvent[] = [];
  const events: string[] = [];
  session.on('key', (k) => keys.push(k));
  session.on('noise', (n) => events.push(`noise: ${n.reason}`));
  session.on('disconnected', () => events.push('disconnected'));
  session.on('input_closed', () => events.push('input_closed'));
  session.setKeypadContext({ kind: 'pin', digits: 7 });
  try {
    await session.start();
    input.end('1234567'); // no Enter before the end
    await until(() => events.includes('input_closed'), 'input_closed');
    assert.deepEqual(events, ['noise: partial line at close', 'input_closed']);
    assert.deepEqual(keys, []);
    assert.equal(session.connected, true);
    output.read();
    await session.show({ state: 'stopped', title: 'Input closed', lines: ['nothing stored'] });
    assert.match(String(output.read()), /Input closed/);
    assert.equal(opened, 1);
  } finally {
    await session.stop();
  }
});
