/**
 * The SerLCD model (firmware-sim/serlcd.ts) against SparkFun's OpenLCD firmware
 * (OpenLCD.ino updateDisplay(), settings.h) and the HD44780 datasheet's DDRAM layout, quoted.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SerLcdSim } from '../../firmware-sim/serlcd.js';

const bytes = (...parts: Array<number | string>): Buffer =>
  Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : Buffer.from([p]))));

test('"|" then "-": "Clear screen and buffer" (SerLCD.clear(); setCursor(0, 0))', () => {
  const lcd = new SerLcdSim({ profile: 'serlcd' });
  lcd.feed('hello');
  lcd.feed(bytes(0x7c, 0x2d, 'X'));
  assert.deepEqual(lcd.screenText(), ['X               ', '                ']);
});

test('0xFE with bit 7 set: "This is a cursor position command", 0-19 line 0, 64-83 line 1, 20-39 line 2, 84-103 line 3', () => {
  const lcd = new SerLcdSim({ profile: 'serlcd-20x4' });
  lcd.feed(bytes(0xfe, 0x80 + 0, 'a', 0xfe, 0x80 + 64 + 1, 'b', 0xfe, 0x80 + 20 + 2, 'c', 0xfe, 0x80 + 84 + 19, 'd'));
  assert.deepEqual(lcd.screenText(), ['a' + ' '.repeat(19), ' b' + ' '.repeat(18), '  c' + ' '.repeat(17), ' '.repeat(19) + 'd']);
  assert.deepEqual(lcd.errors(), []);
});

test('HD44780: the address counter runs on from the end of a 20x4\'s first row into its third', () => {
  const lcd = new SerLcdSim({ profile: 'serlcd-20x4' });
  lcd.feed('x'.repeat(21));
  assert.equal(lcd.screenText()[2], 'x' + ' '.repeat(19));
  assert.equal(lcd.screenText()[1], ' '.repeat(20));
});

test('a 16x2 shows DDRAM 0x00-0x0F and 0x40-0x4F; what runs past column 15 is not on the glass', () => {
  const lcd = new SerLcdSim({ profile: 'serlcd' });
  lcd.feed('y'.repeat(17));
  assert.deepEqual(lcd.screenText(), ['y'.repeat(16), ' '.repeat(16)]);
});

test('"If we get a second special setting character, then write it to the display" ("||" prints "|")', () => {
  const lcd = new SerLcdSim({ profile: 'serlcd' });
  lcd.feed(bytes('a', 0x7c, 0x7c, 'b'));
  assert.equal(lcd.screenText()[0], 'a|b' + ' '.repeat(13));
});

test('display on/off control (0xFE 0x08-0x0F): bit 1 underline cursor, bit 0 blinking box, bit 2 display', () => {
  const lcd = new SerLcdSim({ profile: 'serlcd' });
  lcd.feed(bytes(0xfe, 0x0e));
  assert.equal(lcd.cursor.visible, true);
  lcd.feed(bytes(0xfe, 0x0c));
  assert.equal(lcd.cursor.visible, false);
  assert.equal(lcd.displayOn, true);
});

test('width, lines and backlight settings are saved to EEPROM: counted, and flagged', () => {
  const lcd = new SerLcdSim({ profile: 'serlcd' });
  lcd.feed(bytes(0x7c, 0x03, 0x7c, 0x9d));
  assert.equal(lcd.eepromWrites, 2);
  assert.equal(lcd.errors().length, 2);
});
