import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SimDevice, type SimCommand, type SimDeviceOptions } from '../../firmware-sim/index.js';
import { captureOutput, started } from '../helpers/sim-lines.js';

async function make(options: Partial<SimDeviceOptions> = {}) {
  const device = await started(new SimDevice({ profile: 'lcd16x2', ...options }));
  const out = captureOutput(device);
  const commands: SimCommand[] = [];
  device.on('command', (c) => commands.push(c));
  return { device, out, commands, send: (text: string) => device.feed(Buffer.from(text, 'latin1')) };
}

const blank16 = ' '.repeat(16);
const pad = (text: string, width = 16) => text.padEnd(width, ' ');

test('HELLO is sent on start with the profile fields', async () => {
  const device = new SimDevice({ profile: 'lcd20x4', fw: 'test-fw-2' });
  let out = '';
  device.on('output', (c) => (out += c.toString()));
  await started(device);
  assert.equal(out, 'HELLO pinpad/1 kind=lcd cols=20 rows=4 caps=backlight,beep,led,cursor keys=keys fw=test-fw-2\n');
});

test('the OLED HELLO says graphic, 21x8, px=128x64 and bitmap', async () => {
  const device = new SimDevice({ profile: 'oled128x64', keypadMode: 'line' });
  let out = '';
  device.on('output', (c) => (out += c.toString()));
  await started(device);
  assert.equal(out, 'HELLO pinpad/1 kind=graphic cols=21 rows=8 px=128x64 caps=beep,led,cursor,bitmap keys=line fw=pinpad-sim-1\n');
});

test('no HELLO on start when helloOnStart is false', async () => {
  const device = new SimDevice({ profile: 'lcd16x2', helloOnStart: false });
  let out = '';
  device.on('output', (c) => (out += c.toString()));
  await started(device);
  assert.equal(out, '');
});

test('? answers with a HELLO, with the configured delimiter', async () => {
  const { out, send } = await make({ delimiter: 'CRLF', caps: ['beep'] });
  send('?\n');
  assert.equal(out.text(), 'HELLO pinpad/1 kind=lcd cols=16 rows=2 caps=beep keys=keys fw=pinpad-sim-1\r\n');
});

test('reset clears the screen, restores defaults and sends a fresh HELLO', async () => {
  const { device, out, send } = await make();
  send('ROW 0 hello\nBL OFF\nLED ERR\nCUR 3 1\n');
  out.clear();
  device.reset();
  assert.deepEqual(device.screenText(), [blank16, blank16]);
  assert.equal(device.backlight, true);
  assert.equal(device.led, 'off');
  assert.deepEqual(device.cursor, { col: 0, row: 0, visible: false });
  assert.match(out.text(), /^HELLO pinpad\/1 kind=lcd cols=16 rows=2 .*\n$/);
});

test('ROW writes from column 0, blanks the rest and cuts long text', async () => {
  const { device, send } = await make();
  send('ROW 0 0123456789ABCDEFGHIJ\nROW 1 short\n');
  assert.deepEqual(device.screenText(), ['0123456789ABCDEF', pad('short')]);
  send('ROW 1 ab\n');
  assert.deepEqual(device.screenText()[1], pad('ab'));
  send('ROW 0\n');
  assert.equal(device.screenText()[0], blank16);
});

test('ROW keeps spaces inside the text', async () => {
  const { device, send } = await make();
  send('ROW 0 PIN:  1 2\n');
  assert.equal(device.screenText()[0], pad('PIN:  1 2'));
});

test('AT writes in place and touches nothing else', async () => {
  const { device, send } = await make();
  send('ROW 1 abcdefghijklmnop\nAT 3 1 XY Z\nAT 14 0 long text\n');
  assert.deepEqual(device.screenText(), [pad('', 14) + 'lo', 'abcXY Zhijklmnop']);
});

test('CLR clears text and moves the cursor home, keeping it visible', async () => {
  const { device, send } = await make();
  send('ROW 0 x\nROW 1 y\nCUR 5 1\nCLR\n');
  assert.deepEqual(device.screenText(), [blank16, blank16]);
  assert.deepEqual(device.cursor, { col: 0, row: 0, visible: true });
});

test('CUR shows and hides the cursor; writes do not move it', async () => {
  const { device, send } = await make();
  send('CUR 15 1\n');
  assert.deepEqual(device.cursor, { col: 15, row: 1, visible: true });
  send('ROW 0 text\n');
  assert.deepEqual(device.cursor, { col: 15, row: 1, visible: true });
  send('CUR OFF\n');
  assert.deepEqual(device.cursor, { col: 15, row: 1, visible: false });
});

test('BL, BEEP and LED change the outputs', async () => {
  const { device, send } = await make();
  send('BL OFF\nBEEP OK\nLED OK\nBEEP ERR\nLED ERR\n');
  assert.equal(device.backlight, false);
  assert.deepEqual(device.beeps, ['ok', 'err']);
  assert.deepEqual(device.leds, ['ok', 'err']);
  assert.equal(device.led, 'err');
  send('BL ON\nLED OFF\n');
  assert.equal(device.backlight, true);
  assert.equal(device.led, 'off');
});

test('each command emits a screen event and a command event', async () => {
  const { device, commands, send } = await make();
  const screens: string[][] = [];
  device.on('screen', (rows) => screens.push(rows));
  send('ROW 0 a\nBEEP OK\n');
  assert.equal(screens.length, 2);
  assert.deepEqual(screens[0], [pad('a'), blank16]);
  assert.deepEqual(commands, [
    { raw: 'ROW 0 a', name: 'ROW' },
    { raw: 'BEEP OK', name: 'BEEP' },
  ]);
});

const badLines: Array<[string, string]> = [
  ['NOPE', 'unknown command'],
  ['clr', 'unknown command'],
  ['CLR now', 'too many arguments'],
  ['? x', 'too many arguments'],
  ['ROW', 'bad row'],
  ['ROW 2 x', 'row out of range'],
  ['ROW -1 x', 'bad row'],
  ['ROW  0 x', 'bad row'],
  ['ROW 0x x', 'bad row'],
  ['AT 16 0 x', 'col out of range'],
  ['AT 0 2 x', 'row out of range'],
  ['AT 1', 'bad row'],
  ['CUR 16 0', 'col out of range'],
  ['CUR 1', 'bad row'],
  ['CUR OFF now', 'too many arguments'],
  ['BL', 'bad argument'],
  ['BL on', 'bad argument'],
  ['BEEP LOUD', 'bad argument'],
  ['LED BLUE', 'bad argument'],
  ['LED OK OK', 'too many arguments'],
  ['BMP 0 0 8 1 FF', 'no bitmap'],
  ['ROW 0 caf\xe9', 'bad byte'],
  ['ROW 0 a\tb', 'bad byte'],
];

for (const [line, error] of badLines) {
  test(`bad command ${JSON.stringify(line)} -> ERR ${error}, screen unchanged`, async () => {
    const { device, out, commands, send } = await make();
    send('ROW 0 before\n');
    out.clear();
    send(`${line}\n`);
    assert.equal(out.text(), `ERR ${error}\n`);
    assert.equal(commands.at(-1)?.error, error);
    assert.deepEqual(device.screenText(), [pad('before'), blank16]);
  });
}

test('commands for missing caps answer ERR', async () => {
  const { out, send } = await make({ caps: [] });
  send('BL ON\nBEEP OK\nLED OK\nCUR 0 0\n');
  assert.equal(out.text(), 'ERR no backlight\nERR no beep\nERR no led\nERR no cursor\n');
});

test('ERR lines use the device delimiter', async () => {
  const { out, send } = await make({ delimiter: 'CR' });
  send('XYZ\n');
  assert.equal(out.text(), 'ERR unknown command\r');
});

test('an empty host line is ignored silently', async () => {
  const { out, commands, send } = await make();
  send('\n\n');
  assert.equal(out.text(), '');
  assert.equal(commands.length, 0);
});

test('a host line ending in CRLF is accepted', async () => {
  const { device, out, send } = await make();
  send('ROW 0 crlf\r\n');
  assert.equal(out.text(), '');
  assert.equal(device.screenText()[0], pad('crlf'));
});

test('a 128-byte line (127 + LF) is accepted; 129 bytes is dropped with ERR', async () => {
  const { device, out, send } = await make({ profile: 'oled128x64' });
  const fits = 'ROW 0 ' + 'x'.repeat(127 - 6);
  assert.equal(Buffer.byteLength(fits + '\n'), 128);
  send(fits + '\n');
  assert.equal(out.text(), '');
  assert.equal(device.screenText()[0], 'x'.repeat(21));

  const tooLong = 'ROW 1 ' + 'y'.repeat(128 - 6);
  send(tooLong + '\n');
  assert.equal(out.text(), 'ERR line too long\n');
  assert.equal(device.screenText()[1], ' '.repeat(21));
  assert.equal(device.overflowCount, 1);

  // The line after an overlong one is parsed normally.
  send('ROW 1 next\n');
  assert.equal(device.screenText()[1], 'next'.padEnd(21));
});

test('a very long line without LF never grows the buffer and the next line works', async () => {
  const { device, out, send } = await make();
  send('ROW 0 ' + 'z'.repeat(100_000));
  assert.equal(out.text(), '');
  send('\nROW 0 ok\n');
  assert.equal(out.text(), 'ERR line too long\n');
  assert.equal(device.screenText()[0], pad('ok'));
});

test('chunking at every byte boundary gives the same result as one write', async () => {
  const script = Buffer.from('CLR\nROW 0 Open on phone:\nROW 1 api.x.com/oauth/\nAT 4 1 XY\nBAD\nBEEP OK\nCUR 3 1\n?\n', 'latin1');
  const run = async (chunks: Buffer[]) => {
    const { device, out } = await make();
    for (const c of chunks) device.feed(c);
    return { screen: device.screenText(), out: out.text(), beeps: device.beeps, cursor: device.cursor };
  };
  const whole = await run([script]);
  assert.deepEqual(whole.screen, [pad('Open on phone:'), 'api.XYcom/oauth/']);
  assert.match(whole.out, /^ERR unknown command\nHELLO pinpad\/1 /);
  assert.deepEqual(whole.beeps, ['ok']);
  for (let i = 1; i < script.length; i++) {
    assert.deepEqual(await run([script.subarray(0, i), script.subarray(i)]), whole, `split at ${i}`);
  }
  const bytes = [...script].map((b) => Buffer.from([b]));
  assert.deepEqual(await run(bytes), whole);
});
