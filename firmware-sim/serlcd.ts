/**
 * A model of a SparkFun SerLCD (OpenLCD firmware, 9600 baud by default), written from
 * SparkFun's OpenLCD firmware (OpenLCD.ino `updateDisplay()`, settings.h) and the HD44780
 * datasheet's DDRAM addressing, not from pinauthd's driver (quoted in
 * test/unit/sim-serlcd.test.ts):
 * - `|` (0x7C) starts a setting: `|` `-` clears the screen and homes the cursor, `|` `|`
 *   prints a `|`, 3-7 set the width/lines (saved to EEPROM, with a system message), 0x80-0xD9
 *   the backlight (saved too);
 * - 0xFE passes the next byte to the HD44780: bit 7 set = cursor to a DDRAM address, which
 *   OpenLCD decodes as 0-19 line 0, 64-83 line 1, 20-39 line 2, 84-103 line 3; 0x08-0x0F =
 *   display/cursor/blink on or off;
 * - any other byte is printed at the address counter, which then counts up through DDRAM the
 *   HD44780's way (on a 20x4 the end of line 0 runs on into line 2).
 */
import { ByteModel, hex } from './byte-model.js';
import type { SimPanel } from './panel.js';

export type SerLcdProfile = 'serlcd' | 'serlcd-20x4';

export class SerLcdSim extends ByteModel implements SimPanel {
  readonly profile: SerLcdProfile;
  readonly keypadMode = 'none' as const;
  readonly cols: number;
  readonly rows: number;
  /** Times a setting that OpenLCD writes to its EEPROM was sent (width, lines, backlight, ...). */
  eepromWrites = 0;
  displayOn = true;
  underline = false;
  blink = false;

  /** DDRAM: 0x00-0x27 and 0x40-0x67 exist in two-line mode. */
  #ddram = new Array<string>(0x80).fill(' ');
  #address = 0;
  #mode: 'normal' | 'setting' | 'command' = 'normal';
  #backlight = true;

  constructor(options: { profile: SerLcdProfile }) {
    super();
    this.profile = options.profile;
    this.cols = options.profile === 'serlcd-20x4' ? 20 : 16;
    this.rows = options.profile === 'serlcd-20x4' ? 4 : 2;
  }

  /** LiquidCrystal's row offsets for `begin(cols, rows)`: 0x00, 0x40, cols, 0x40 + cols. */
  #rowStart(row: number): number {
    return [0x00, 0x40, this.cols, 0x40 + this.cols][row]!;
  }

  get backlight(): boolean {
    return this.#backlight;
  }

  get cursor(): { col: number; row: number; visible: boolean } {
    for (let row = 0; row < this.rows; row++) {
      const col = this.#address - this.#rowStart(row);
      if (col >= 0 && col < this.cols) return { col, row, visible: this.underline || this.blink };
    }
    return { col: 0, row: 0, visible: false };
  }

  reset(): void {
    this.#ddram.fill(' ');
    this.#address = 0;
    this.#mode = 'normal';
    this.dropText();
    this.displayOn = true;
    this.underline = false;
    this.blink = false;
    this.emit('screen', this.screenText());
  }

  protected byte(byte: number): void {
    const mode = this.#mode;
    this.#mode = 'normal';
    if (mode === 'setting') return this.#setting(byte);
    if (mode === 'command') return this.#command(byte);
    if (byte === 0x7c) {
      this.flushText();
      this.#mode = 'setting';
    } else if (byte === 0xfe) {
      this.flushText();
      this.#mode = 'command';
    } else if (byte === 0x08) {
      this.record('08', 'backspace redraws from OpenLCD\'s own frame buffer: not modelled');
    } else {
      if (byte < 0x20 || byte > 0x7e) this.record(hex(byte), 'not printable ASCII');
      this.printed(String.fromCharCode(byte));
      this.#write(byte < 0x20 || byte > 0x7e ? '?' : String.fromCharCode(byte));
    }
  }

  /** Write at the address counter and count up (two-line mode: 0x27 -> 0x40, 0x67 -> 0x00). */
  #write(ch: string): void {
    this.#ddram[this.#address] = ch;
    this.#address = this.#address === 0x27 ? 0x40 : this.#address === 0x67 ? 0x00 : this.#address + 1;
  }

  #setting(byte: number): void {
    const raw = `7C ${hex(byte)}`;
    if (byte === 0x2d) {
      this.#ddram.fill(' ');
      this.#address = 0;
      this.record(raw);
    } else if (byte === 0x7c) {
      this.printed('|');
      this.#write('|');
    } else if ((byte >= 0x03 && byte <= 0x07) || (byte >= 0x80 && byte <= 0xd9) || byte === 0x2b) {
      // Width/lines and backlight are saved to EEPROM and shown as a system message.
      this.eepromWrites++;
      this.record(raw, 'changes a setting kept in EEPROM');
    } else {
      this.record(raw, 'setting not modelled');
    }
  }

  #command(byte: number): void {
    const raw = `FE ${hex(byte)}`;
    if (byte & 0x80) {
      const a = byte & 0x7f;
      // OpenLCD's decode; anything else leaves line 0, spot 0.
      const [spot, line] =
        a <= 19 ? [a, 0] : a >= 64 && a <= 83 ? [a - 64, 1] : a >= 20 && a <= 39 ? [a - 20, 2] : a >= 84 && a <= 103 ? [a - 84, 3] : [0, 0];
      this.#address = spot + this.#rowStart(line);
      if (line >= this.rows || spot >= this.cols) this.record(raw, 'position outside the screen');
      else this.record(raw);
    } else if ((byte & 0xf8) === 0x08) {
      this.displayOn = (byte & 0x04) !== 0;
      this.underline = (byte & 0x02) !== 0;
      this.blink = (byte & 0x01) !== 0;
      this.record(raw);
    } else {
      this.record(raw, 'HD44780 command not modelled');
    }
  }




  screenText(): string[] {
    if (!this.displayOn) return Array.from({ length: this.rows }, () => ' '.repeat(this.cols));
    return Array.from({ length: this.rows }, (_, row) => this.#ddram.slice(this.#rowStart(row), this.#rowStart(row) + this.cols).join(''));
  }


  pressKey(): void {
    throw new TypeError('a SerLCD has no keypad');
  }

  typeLine(): void {
    throw new TypeError('a SerLCD has no keypad');
  }
}

