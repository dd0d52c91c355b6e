import { afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { jsQR } from '../helpers/device-bitmap.js';
import pino from 'pino';
import { PinpadDisplay, parseHello, rowUpdate } from '../../src/device/display/pinpad.js';
import { LineSplitter } from '../../src/device/keypad/lines.js';
import { SerialTransport } from '../../src/transport/serial.js';
import type { View } from '../../src/device/types.js';
import { MockBinding, SERIAL_9600, trackingBinding, until } from '../helpers/transport-mock.js';
import { fromBmpLines, toRgba } from '../helpers/device-bitmap.js';

const logger = pino({ level: 'silent' });
afterEach(() => MockBinding.reset());

const URL_88 = 'https://api.x.com/oauth/authorize?oauth_token=Z6eEdO8MOmk394WozF5oKyuAv855l4Mlqo7hhlSLik';
const view = (entered = ''): View => ({ state: 'awaiting_pin', title: 'Open on phone:', lines: [], url: URL_88, pin: { entered, digits: 7 } });

async function rig(hello: string | null) {
  MockBinding.createPort('/dev/ttyPAD', { record: true });
  const tb = trackingBinding();
  const t = new SerialTransport({ path: '/dev/ttyPAD', serial: SERIAL_9600, logger, binding: tb.binding });
  await t.open();
  const display = new PinpadDisplay({ write: (s) => t.write(s), cols: 16, rows: 2, logger, now: () => 0 });
  const other: string[] = [];
  const splitter = new LineSplitter({ delimiter: 'LF', maxLineBytes: 128, onLine: (l) => { if (!display.handleLine(l)) other.push(l); } });
  t.on('data', (b) => splitter.push(b));
  const port = tb.last();
  await display.hello();
  assert.equal(port.recording.toString(), '?\n');
  if (hello) {
    port.emitData(hello + '\n');
    await until(() => display.info.firmware !== undefined, 'HELLO');
  }
  let mark = port.recording.length;
  /** Bytes written since the last call. */
  const since = (): string => {
    const s = port.recording.subarray(mark).toString();
    mark = port.recording.length;
    return s;
  };
  return { t, display, port, since, other };
}

test('HELLO fields are parsed; out-of-range values keep the defaults', () => {
  const h = parseHello('HELLO pinpad/1 kind=graphic cols=21 rows=8 px=128x64 caps=bitmap,beep keys=keys fw=sim-1 future=x', { cols: 16, rows: 2 });
  assert.ok(h);
  assert.deepEqual([h.version, h.kind, h.cols, h.rows, h.pixels, [...h.caps], h.firmware], [1, 'graphic', 21, 8, { width: 128, height: 64 }, ['bitmap', 'beep'], 'sim-1']);
  const bad = parseHello('HELLO pinpad/1 cols=99 rows=0', { cols: 16, rows: 2 });
  assert.deepEqual([bad?.cols, bad?.rows], [16, 2]);
  assert.equal(parseHello('HELLOX', { cols: 16, rows: 2 }), null);
});

test('16x2 LCD: full frame once, then only the rows that changed', async () => {
  const { t, display, since } = await rig('HELLO pinpad/1 kind=lcd cols=16 rows=2 caps=beep,backlight keys=keys fw=sim-1');
  since();
  await display.show(view());
  assert.equal(since(), 'CLR\nBL ON\nROW 0 Open on phon 1/5\nROW 1 api.x.com/oauth/\n');
  await display.page(1);
  // Only the characters that changed: the page digit (AT), the URL row (ROW).
  assert.equal(since(), 'AT 13 0 2\nROW 1 authorize?oauth_\n');
  await display.show(view('1'));
  // A new view with the same URL keeps the page; typing replaces the URL row.
  assert.equal(since(), 'ROW 1 PIN: 1______\n');
  await display.show(view('1'));
  assert.equal(since(), '');
  await display.show({ state: 'done', title: 'Authorized as', lines: ['@twitterapi'], tone: 'ok' });
  assert.equal(since(), 'ROW 0 Authorized as\nROW 1 @twitterapi\nBEEP OK\n');
  await display.redraw();
  assert.equal(since(), 'CLR\nBL ON\nROW 0 Authorized as\nROW 1 @twitterapi\n');
  await t.close();
});

test('a HELLO while running (device reset) redraws everything with the new grid', async () => {
  const { t, display, port, since } = await rig('HELLO pinpad/1 kind=lcd cols=16 rows=2 fw=a');
  await display.show({ state: 's', title: 'Hello', lines: ['world'] });
  since();
  port.emitData('HELLO pinpad/1 kind=lcd cols=20 rows=4 caps=cursor fw=b\n');
  await until(() => display.info.firmware === 'b', 'second HELLO');
  await display.show({ state: 's', title: 'Hello', lines: ['world'] });
  assert.equal(since(), 'CLR\nROW 0 Hello\nROW 1 world\nCUR OFF\n');
  await t.close();
});

test('ERR lines are consumed by the driver; other lines are keypad input', async () => {
  const { t, port, other } = await rig(null);
  port.emitData('ERR bad row\n7\n');
  await until(() => other.length > 0, 'keypad line');
  assert.deepEqual(other, ['7']);
  await t.close();
});

test('pinpad/2 falls back to plain text frames', async () => {
  const { t, display, port, since } = await rig(null);
  port.emitData('HELLO pinpad/2 kind=lcd cols=16 rows=2 fw=new\n');
  await until(() => display.info.kind === 'text', 'fallback');
  since();
  await display.show({ state: 's', title: 'Hi', lines: ['there'] });
  assert.equal(since(), 'Hi\r\nthere\r\n');
  await t.close();
});

test('graphic display with bitmap: QR of the URL on page 0 that decodes, text beside it', async () => {
  const { t, display, since } = await rig('HELLO pinpad/1 kind=graphic cols=21 rows=8 px=128x64 caps=bitmap,cursor,led fw=oled');
  since();
  await display.show({ ...view(), tone: 'error' });
  const lines = since().split('\n').filter((l) => l.length > 0);
  assert.equal(lines[0], 'CLR');
  for (const l of lines) assert.ok(l.length + 1 <= 128);
  const bmp = lines.filter((l) => l.startsWith('BMP '));
  assert.ok(bmp.length > 0);
  const { data, width, height } = toRgba(fromBmpLines(bmp));
  assert.equal(jsQR(data, width, height)?.data, URL_88);
  assert.ok(lines.some((l) => /^AT \d+ 0 Open on/.test(l)));
  assert.ok(lines.includes('LED ERR'));
  // Typing only rewrites the PIN row beside the QR code: no BMP again.
  await display.show(view('12'));
  const again = since();
  assert.doesNotMatch(again, /BMP|CLR/);
  // Only the new digit (the span that changed) is sent, at its column beside the QR code.
  assert.match(again, /^AT \d+ \d 12\n/);
  // The next page shows the URL as text.
  await display.page(1);
  const text = since();
  assert.match(text, /^CLR\nROW 0 Open on phone: +2\/\d\nROW 1 api\.x\.com\/oauth\/autho\n/);
  await t.close();
});

test('nothing is drawn between ? and the HELLO; a device that never answers is drawn after the timeout', async () => {
  MockBinding.createPort('/dev/ttyQUIET', { record: true });
  const tb = trackingBinding();
  const t = new SerialTransport({ path: '/dev/ttyQUIET', serial: SERIAL_9600, logger, binding: tb.binding });
  await t.open();
  const display = new PinpadDisplay({ write: (s) => t.write(s), cols: 16, rows: 2, logger, now: () => 0, helloTimeoutMs: 30 });
  const port = tb.last();
  await display.hello();
  await display.show(view());
  await display.redraw();
  assert.equal(port.recording.toString(), '?\n', 'no frame for an unknown grid');
  await until(() => port.recording.toString().includes('ROW 1 api.x.com/oauth/'), 'drawn after the timeout');
  assert.equal(port.recording.toString().match(/CLR/g)?.length, 1, 'one frame, not one per redraw asked for');
  await t.close();
});

test('a screen with a tone beeps once, however often it is re-rendered; the LED follows the screen', async () => {
  const { t, display, since } = await rig('HELLO pinpad/1 kind=lcd cols=16 rows=2 caps=beep,led fw=sim-1');
  const wrong = (entered: string): View => ({ ...view(entered), title: 'Wrong PIN', tone: 'error' });
  await display.show(wrong(''));
  assert.match(since(), /BEEP ERR\n$/);
  await display.show(wrong('1'));
  await display.show(wrong('12'));
  assert.doesNotMatch(since(), /BEEP/, 'typing on the same screen does not beep again');
  await display.show(view());
  assert.match(since(), /LED OFF/, 'a plain screen turns the LED off');
  await display.show(wrong(''));
  assert.match(since(), /LED ERR\nBEEP ERR\n$/, 'the same error again, after another screen, beeps again');
  await t.close();
});

test('rowUpdate sends the cheaper of the whole row and the changed span', () => {
  // A countdown tick: one character.
  assert.equal(rowUpdate(3, 'PIN: _______ 14:59', 'PIN: _______ 14:58', 0), 'AT 17 3 8');
  // A digit echo.
  assert.equal(rowUpdate(3, 'PIN: _______ 14:59', 'PIN: 1______ 14:59', 0), 'AT 5 3 1');
  // A shorter row blanks what it no longer covers.
  assert.equal(rowUpdate(1, 'abcdefghijklmnop', 'abcdefghijklmn', 0), 'AT 14 1   ');
  // Mostly new text: the whole row is cheaper.
  assert.equal(rowUpdate(0, 'Getting a code', 'Authorized as', 0), 'ROW 0 Authorized as');
  assert.equal(rowUpdate(0, 'x', '', 0), 'ROW 0');
  // Beside a QR code the span is offset by the text column.
  assert.equal(rowUpdate(2, 'PIN: 1______', 'PIN: 12_____', 14), 'AT 20 2 2');
});

test('a device that floods ERR lines gets one log line a minute, with a count', () => {
  const lines: Array<{ msg: string; count?: number }> = [];
  const log = pino({ level: 'warn' }, { write: (s: string) => void lines.push(JSON.parse(s) as { msg: string; count?: number }) });
  let now = 0;
  const display = new PinpadDisplay({ write: async () => undefined, cols: 16, rows: 2, logger: log, now: () => now });
  for (let i = 0; i < 500; i++) assert.equal(display.handleLine('ERR bad command'), true);
  now = 60_000;
  display.handleLine('ERR bad command');
  const errs = lines.filter((l) => l.msg === 'display reported an error');
  assert.equal(errs.length, 2);
  assert.equal(errs[1]!.count, 500);
});
