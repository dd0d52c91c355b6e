import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SimDevice, type SimDelimiter, type SimDeviceOptions } from '../../firmware-sim/index.js';
import { captureOutput, started } from '../helpers/sim-lines.js';

async function make(options: Partial<SimDeviceOptions> = {}) {
  const device = await started(new SimDevice({ profile: 'lcd16x2', ...options }));
  return { device, out: captureOutput(device) };
}

const ENDINGS: Record<SimDelimiter, string> = { LF: '\n', CR: '\r', CRLF: '\r\n' };

for (const delimiter of ['LF', 'CR', 'CRLF'] as const) {
  const end = ENDINGS[delimiter];

  test(`keys mode sends one line per key (${delimiter})`, async () => {
    const { device, out } = await make({ delimiter });
    for (const key of ['1', '*', '#', 'A', 'D', '0']) device.pressKey(key);
    assert.equal(out.text(), ['1', '*', '#', 'A', 'D', '0'].map((k) => k + end).join(''));
  });

  test(`keys mode typePin sends each digit and # to submit (${delimiter})`, async () => {
    const { device, out } = await make({ delimiter });
    device.typePin('1234567');
    assert.equal(out.text(), [...'1234567#'].map((k) => k + end).join(''));
    out.clear();
    device.typePin('12', { submit: false });
    assert.equal(out.text(), `1${end}2${end}`);
  });

  test(`line mode sends a whole entry as one line (${delimiter})`, async () => {
    const { device, out } = await make({ delimiter, keypadMode: 'line' });
    device.typeLine('123-456-789');
    device.typePin('7654321');
    device.typeLine('');
    assert.equal(out.text(), `123-456-789${end}7654321${end}${end}`);
  });
}

test('line mode keys build a pending line: # sends, * deletes or sends * when empty', async () => {
  const { device, out } = await make({ keypadMode: 'line' });
  for (const key of ['1', '2', '3', '*', '4']) device.pressKey(key);
  assert.equal(out.text(), '');
  assert.equal(device.pendingLine, '124');
  device.pressKey('#');
  device.pressKey('*');
  device.pressKey('#');
  assert.equal(out.text(), '124\n*\n\n');
  device.typePin('99', { submit: false });
  device.typePin('1', { submit: true });
  assert.equal(out.text(), '124\n*\n\n991\n');
});

test('pressKey refuses keys a keypad does not have', async () => {
  const { device, out } = await make();
  for (const key of ['a', 'E', '12', '', '\n']) assert.throws(() => device.pressKey(key), TypeError);
  assert.equal(out.text(), '');
});

test('sendRaw sends bytes untouched', async () => {
  const { device, out } = await make();
  device.sendRaw(Buffer.from([0x00, 0xff, 0x0d, 0x31]));
  device.sendRaw('\x1b[A');
  assert.deepEqual(Buffer.from(out.text(), 'latin1'), Buffer.from([0x00, 0xff, 0x0d, 0x31, 0x1b, 0x5b, 0x41]));
});

test('text profile: no HELLO, prints any line and keeps the last rows', async () => {
  const device = new SimDevice({ profile: 'text', textCols: 10, textRows: 3 });
  const out = captureOutput(device);
  await started(device);
  assert.equal(out.text(), '');
  assert.deepEqual(device.screenText(), ['          ', '          ', '          ']);
  device.feed(Buffer.from('one\nROW 0 x\n?\nfour\n'));
  assert.deepEqual(device.screenText(), ['ROW 0 x   ', '?         ', 'four      ']);
  assert.deepEqual(device.printed, ['one', 'ROW 0 x', '?', 'four']);
  assert.equal(out.text(), '', 'no protocol: no ERR, no HELLO');
});

test('text profile wraps long lines and keeps them whole in printed', async () => {
  const device = new SimDevice({ profile: 'text', textCols: 10, textRows: 3 });
  device.feed(Buffer.from('https://example.com/authorize?x=1\n'));
  assert.deepEqual(device.screenText(), ['ample.com/', 'authorize?', 'x=1       ']);
  assert.equal(device.printed.at(-1), 'https://example.com/authorize?x=1');
});

test('text profile: form feed clears, control bytes are not printed, CRLF is accepted', async () => {
  const device = new SimDevice({ profile: 'text', textCols: 8, textRows: 2 });
  device.feed(Buffer.from('old\r\n\fnew\x07!\r\n'));
  assert.deepEqual(device.screenText(), ['        ', 'new!    ']);
});

test('text profile keypad lines go out the same way', async () => {
  const device = await started(new SimDevice({ profile: 'text', keypadMode: 'line', delimiter: 'CRLF' }));
  const out = captureOutput(device);
  device.typePin('1234567');
  assert.equal(out.text(), '1234567\r\n');
});

test('reset on the text profile clears it and sends nothing', async () => {
  const device = await started(new SimDevice({ profile: 'text', textCols: 4, textRows: 1 }));
  const out = captureOutput(device);
  device.feed(Buffer.from('abc\n'));
  device.reset();
  assert.deepEqual(device.screenText(), ['    ']);
  assert.equal(out.text(), '');
});

test('bad options are refused', () => {
  assert.throws(() => new SimDevice({ profile: 'lcd16x2', caps: ['bitmap'] }), TypeError);
  assert.throws(() => new SimDevice({ profile: 'lcd16x2', caps: ['laser'] }), TypeError);
  assert.throws(() => new SimDevice({ profile: 'lcd16x2', fw: 'has space' }), TypeError);
  assert.throws(() => new SimDevice({ profile: 'vfd' as never }), TypeError);
});
