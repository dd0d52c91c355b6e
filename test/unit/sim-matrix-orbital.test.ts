/**
 * The Matrix Orbital model (firmware-sim/matrix-orbital.ts) against the vendors' documents,
 * quoted: Adafruit's "USB + Serial Backpack" guide and matrixtest.py, the LK204-25 and
 * LK202-24-USB manuals. The driver is tested against this model, so the model is tested
 * against the documents, never against the driver.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LK204_KEYPAD_4X4, MatrixOrbitalSim } from '../../firmware-sim/matrix-orbital.js';

const FE = 0xfe;
const bytes = (...parts: Array<number | string>): Buffer =>
  Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : Buffer.from([p]))));

test('"To display text, just send ASCII characters"; "Clear display (254 88)" clears and homes', () => {
  const lcd = new MatrixOrbitalSim({ profile: 'adafruit-backpack' });
  lcd.feed('hello');
  assert.equal(lcd.screenText()[0], 'hello           ');
  lcd.feed(bytes(FE, 0x58, 'X'));
  assert.deepEqual(lcd.screenText(), ['X               ', '                ']);
});

test('"Set cursor position (254 71 [column] [row])": columns and rows counted from 1 (matrixtest.py cursor test)', () => {
  const lcd = new MatrixOrbitalSim({ profile: 'adafruit-backpack' });
  // matrixtest.py: FE 47 1 1 '1', FE 47 COLS 1 '2', FE 47 1 ROWS '3', FE 47 COLS ROWS '4' (autoscroll off first)
  lcd.feed(bytes(FE, 0x52, FE, 0x47, 1, 1, '1', FE, 0x47, 16, 1, '2', FE, 0x47, 1, 2, '3', FE, 0x47, 16, 2, '4'));
  assert.deepEqual(lcd.screenText(), ['1              2', '3              4']);
  lcd.feed(bytes(FE, 0x47, 0, 1));
  assert.equal(lcd.errors().at(-1)?.error, 'position out of range');
});

test('"Send cursor home (254 72)" moves the insertion point to the top left', () => {
  const lcd = new MatrixOrbitalSim({ profile: 'adafruit-backpack' });
  lcd.feed(bytes(FE, 0x47, 5, 2, FE, 0x48, 'H'));
  assert.equal(lcd.screenText()[0]![0], 'H');
});

test('auto scroll: on (the default) shifts the screen up at the bottom-right cell; off (254 82) wraps to the top left', () => {
  const on = new MatrixOrbitalSim({ profile: 'adafruit-backpack' });
  on.feed('A'.repeat(16) + 'B'.repeat(16));
  assert.deepEqual(on.screenText(), ['B'.repeat(16), ' '.repeat(16)], '"shift the entire display\'s contents up to make room for a new line"');
  const off = new MatrixOrbitalSim({ profile: 'adafruit-backpack' });
  off.feed(bytes(FE, 0x52, 'A'.repeat(16), 'B'.repeat(16), 'C'));
  assert.deepEqual(off.screenText(), ['C' + 'A'.repeat(15), 'B'.repeat(16)], '"text will wrap to the top left corner"');
});

test('backpack: "Set LCD size 0xFE 0xD1 [columns] [rows]"; until then it wraps a 20x4 glass at 16 columns', () => {
  const lcd = new MatrixOrbitalSim({ profile: 'adafruit-backpack-20x4' });
  lcd.feed(bytes(FE, 0x52, 'x'.repeat(17)));
  assert.equal(lcd.screenText()[1], 'x                   ', 'a factory backpack is set up for 16x2');
  lcd.feed(bytes(FE, 0xd1, 20, 4, FE, 0x58, FE, 0x47, 20, 4, 'z'));
  assert.equal(lcd.screenText()[3], ' '.repeat(19) + 'z');
  assert.deepEqual(lcd.errors(), []);
});

test('newline fills the rest of the row with spaces; carriage return "is not listened to"', () => {
  const lcd = new MatrixOrbitalSim({ profile: 'adafruit-backpack' });
  lcd.feed('abcdefghijklmnop' + 'qrstuvwxyz');
  lcd.feed(bytes(FE, 0x48, 'ab\r\ncd'));
  assert.deepEqual(lcd.screenText(), ['ab              ', 'cdstuvwxyz      ']);
});

test('cursors: underline on/off (254 74 / 254 75), block on/off (254 83 / 254 84); backlight on (254 66 [min]) / off (254 70)', () => {
  const lcd = new MatrixOrbitalSim({ profile: 'adafruit-backpack' });
  lcd.feed(bytes(FE, 0x4a));
  assert.equal(lcd.cursor.visible, true);
  lcd.feed(bytes(FE, 0x4b, FE, 0x53));
  assert.equal(lcd.cursor.visible, true);
  lcd.feed(bytes(FE, 0x54, FE, 0x46));
  assert.equal(lcd.cursor.visible, false);
  assert.equal(lcd.backlight, false);
  lcd.feed(bytes(FE, 0x42, 0));
  assert.equal(lcd.backlight, true);
});

test('an unknown command is recorded as an error, not guessed at', () => {
  const lcd = new MatrixOrbitalSim({ profile: 'adafruit-backpack' });
  lcd.feed(bytes(FE, 0x01, 'a'));
  assert.deepEqual(lcd.errors(), [{ raw: 'FE 01', error: 'unknown command' }]);
  assert.equal(lcd.screenText()[0]![0], 'a');
});

test('LK204-25 keypad: "all keypresses are sent immediately to the host" (auto transmit, the power-up default); row 1 column 1 is A', async () => {
  const lk = new MatrixOrbitalSim({ profile: 'lk204' });
  const out: number[] = [];
  lk.on('output', (b) => out.push(...b));
  lk.pressKey('1');
  lk.pressKey('#');
  assert.deepEqual(Buffer.from(out).toString('latin1'), 'AR', "'1' is row 1 column 1, '#' row 4 column 3 (P Q R)");
  assert.deepEqual(Object.values(LK204_KEYPAD_4X4).sort().join(''), 'ABCDFGHIKLMNPQRS');
});

test('LK204-25 keypad: auto transmit off (254 79) buffers up to 10 presses; poll (254 38) sets the high bit while more wait; clear (254 69)', () => {
  const lk = new MatrixOrbitalSim({ profile: 'lk204' });
  const out: number[] = [];
  lk.on('output', (b) => out.push(...b));
  lk.feed(bytes(FE, 0x4f));
  for (let i = 0; i < 12; i++) lk.pressKey('5');
  assert.equal(out.length, 0);
  assert.equal(lk.keyBuffer.length, 10);
  lk.feed(bytes(FE, 0x26));
  assert.deepEqual(out, [0x47 | 0x80], "'5' is G; more are buffered");
  lk.feed(bytes(FE, 0x45, FE, 0x26));
  assert.deepEqual(out.slice(1), [0x00], '"If there are no buffered keypresses, then the returned code will be 0x00"');
  lk.feed(bytes(FE, 0x41));
  lk.pressKey('0');
  assert.deepEqual(out.slice(2), [0x51]);
});

test('LK204-25 has no backpack size command', () => {
  const lk = new MatrixOrbitalSim({ profile: 'lk204' });
  lk.feed(bytes(FE, 0xd1, 20, 4));
  assert.equal(lk.errors()[0]?.error, 'not an LK204-25 command');
});
