/**
 * SparkFun SerLCD (the OpenLCD firmware, 9600 baud by default): `|` (0x7C) starts a setting,
 * 0xFE passes one byte to the HD44780. Bytes as in SparkFun's OpenLCD firmware
 * (`updateDisplay()`); docs/hardware.md cites them.
 */
import type { LcdCommandSet } from './char-lcd.js';

const SETTING = 0x7c;
const COMMAND = 0xfe;

/**
 * HD44780 DDRAM address of each row's first cell, as OpenLCD decodes a cursor command: lines
 * 0-3 at 0x00, 0x40, 0x14, 0x54 (a 20x4's third row continues its first). A 16x2 uses the
 * first two.
 */
export const SERLCD_ROW_ADDRESS = [0x00, 0x40, 0x14, 0x54] as const;

export function serLcdCommands(): LcdCommandSet {
  return {
    name: 'serlcd',
    // Display on, cursor and blink off (HD44780 "display on/off control"). Nothing else: the
    // width, lines and backlight are settings OpenLCD writes to its EEPROM and announces on
    // the screen for half a second, so they are set once by hand (docs/hardware.md).
    setup: () => Buffer.from([COMMAND, 0x0c]),
    clear: Buffer.from([SETTING, 0x2d]),
    moveTo: (col, row) => Buffer.from([COMMAND, 0x80 + SERLCD_ROW_ADDRESS[row]! + col]),
    cursor: (visible) => Buffer.from([COMMAND, visible ? 0x0e : 0x0c]),
    // `|` would start a setting: `||` prints one.
    text: (printable) => Buffer.from(printable.replaceAll('|', '||'), 'latin1'),
  };
}
