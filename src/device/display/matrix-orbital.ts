/**
 * The Matrix Orbital command set (0xFE, a command byte, its parameters), spoken by Matrix
 * Orbital LCD/LK/GLK modules and by the Adafruit USB + Serial character LCD backpack. The
 * bytes are the ones in the LK204-25 manual ("Text commands", "Display functions") and in
 * Adafruit's command reference and matrixtest.py; docs/hardware.md cites them.
 */
import type { LcdCommandSet } from './char-lcd.js';

const CMD = 0xfe;

export interface MatrixOrbitalOptions {
  /**
   * Send the backpack's "set LCD size" (FE D1 cols rows) at each open. Adafruit's backpack
   * needs it for anything but 16x2; a genuine Matrix Orbital module has no such command.
   */
  setSize: boolean;
}

export function matrixOrbitalCommands(opts: MatrixOrbitalOptions): LcdCommandSet {
  return {
    name: 'matrix-orbital',
    setup: (grid) =>
      Buffer.from([
        ...(opts.setSize ? [CMD, 0xd1, grid.cols, grid.rows] : []),
        // auto scroll off: a character in the bottom-right cell must not scroll the screen up
        CMD, 0x52,
        // underline and blinking block cursors off
        CMD, 0x4b, CMD, 0x54,
        // backlight on, with no time-out (0 minutes: "on indefinitely")
        CMD, 0x42, 0x00,
      ]),
    clear: Buffer.from([CMD, 0x58]),
    // "Set cursor position": column and row, both counted from 1
    moveTo: (col, row) => Buffer.from([CMD, 0x47, col + 1, row + 1]),
    cursor: (visible) => Buffer.from([CMD, visible ? 0x4a : 0x4b]),
    // 0xFE is the only byte the module treats as special, and it is not printable ASCII.
    text: (printable) => Buffer.from(printable, 'latin1'),
  };
}
