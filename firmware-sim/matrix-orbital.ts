/**
 * A model of a display that speaks the Matrix Orbital command set, written from the vendors'
 * documents (quoted in test/unit/sim-matrix-orbital.test.ts), not from pinauthd's driver:
 * - the Adafruit USB + Serial character LCD backpack ("USB + Serial Backpack" guide,
 *   learn.adafruit.com/usb-plus-serial-backpack, and Adafruit's matrixtest.py), 16x2 or 20x4;
 * - a Matrix Orbital LK204-25 (20x4) with its keypad on the same serial line (LK204-25 and
 *   LK202-24-USB manuals: text commands, keypad interface, key codes).
 *
 * Every byte is a character to print except 0xFE, which starts a command whose parameter
 * bytes follow. Commands outside the table below are recorded as errors (`command` events),
 * so a test notices a driver that sends something the model does not know.
 */
import { ByteModel, hex } from './byte-model.js';
import type { SimPanel } from './panel.js';

export type MatrixOrbitalProfile = 'adafruit-backpack' | 'adafruit-backpack-20x4' | 'lk204';

/** Parameter bytes after `FE <command>`, for every command this model carries out or accepts. */
const PARAMS: Record<number, number> = {
  0x58: 0, // clear display (and the insertion point to the top left)
  0x48: 0, // go home
  0x47: 2, // set cursor position: column, row (1-based)
  0x4c: 0, // cursor back
  0x4d: 0, // cursor forward
  0x51: 0, // auto scroll on
  0x52: 0, // auto scroll off
  0x4a: 0, // underline cursor on
  0x4b: 0, // underline cursor off
  0x53: 0, // blinking block cursor on
  0x54: 0, // blinking block cursor off
  0x42: 1, // display (backlight) on, for [minutes] (0: indefinitely)
  0x46: 0, // display (backlight) off
  0x50: 1, // set contrast
  0x99: 1, // set brightness
  0xd0: 3, // RGB backlight colour (backpack)
  0xd1: 2, // set LCD size: columns, rows (backpack)
  0x41: 0, // auto transmit key presses on
  0x4f: 0, // auto transmit key presses off
  0x45: 0, // clear key buffer
  0x26: 0, // poll keypad
  0x60: 0, // auto repeat mode off
  0x7e: 1, // auto repeat mode [0|1]
  0x55: 1, // set debounce time
};

/**
 * The LK204-25's key codes (manual, "Keypad Interface": row 1 column 1 is 'A', then along
 * the row, five columns a row) for a 4x4 keypad on rows 1-4 and columns 1-4 of its
 * connector, by the legend printed on the common 4x4 keypad (1 2 3 A / 4 5 6 B / 7 8 9 C /
 * * 0 # D).
 */
export const LK204_KEYPAD_4X4: Readonly<Record<string, string>> = Object.freeze(
  Object.fromEntries(
    ['123A', '456B', '789C', '*0#D'].flatMap((legend, row) =>
      [...legend].map((key, col) => [key, String.fromCharCode(0x41 + row * 5 + col)]),
    ),
  ),
);

const KEY_BUFFER = 10;

export interface MatrixOrbitalSimOptions {
  profile: MatrixOrbitalProfile;
}

export class MatrixOrbitalSim extends ByteModel implements SimPanel {
  readonly profile: MatrixOrbitalProfile;
  readonly keypadMode: 'keys' | 'none';
  /** The glass: 16x2 or 20x4. `FE D1` changes what the controller drives, not the glass. */
  readonly cols: number;
  readonly rows: number;
  /** The size the controller believes (backpack: set by `FE D1`, kept in its EEPROM). */
  lcdCols: number;
  lcdRows: number;
  autoScroll = true;
  underline = false;
  block = false;
  autoTransmit = true;
  /** Key presses waiting for a poll (auto transmit off). */
  keyBuffer: number[] = [];

  #grid: string[][] = [];
  #col = 0;
  #row = 0;
  #backlight = true;
  /** The command being received: its byte and the parameters so far. */
  #pending: { command: number | null; params: number[] } | null = null;

  constructor(options: MatrixOrbitalSimOptions) {
    super();
    this.profile = options.profile;
    const big = options.profile !== 'adafruit-backpack';
    this.cols = big ? 20 : 16;
    this.rows = big ? 4 : 2;
    // A backpack fresh from the factory is set up for 16x2 (Adafruit: "set the size of the
    // display if it isn't 16x2 (you only have to do this once)").
    this.lcdCols = options.profile === 'lk204' ? 20 : 16;
    this.lcdRows = options.profile === 'lk204' ? 4 : 2;
    this.keypadMode = options.profile === 'lk204' ? 'keys' : 'none';
    this.#powerOn();
  }

  get backlight(): boolean {
    return this.#backlight;
  }

  get cursor(): { col: number; row: number; visible: boolean } {
    return { col: this.#col, row: this.#row, visible: this.underline || this.block };
  }

  reset(): void {
    this.#powerOn();
    this.emit('screen', this.screenText());
  }

  #powerOn(): void {
    this.#grid = Array.from({ length: this.rows }, () => new Array<string>(this.cols).fill(' '));
    this.#col = 0;
    this.#row = 0;
    this.#pending = null;
    this.dropText();
    this.#backlight = true;
    this.underline = false;
    this.block = false;
    this.keyBuffer = [];
    // Auto scroll and auto transmit are remembered settings; their factory defaults are on.
    this.autoScroll = true;
    this.autoTransmit = true;
  }

  protected byte(byte: number): void {
    const pending = this.#pending;
    if (pending) {
      if (pending.command === null) {
        pending.command = byte;
        if (!(byte in PARAMS)) {
          this.#pending = null;
          this.record(`FE ${hex(byte)}`, 'unknown command');
          return;
        }
      } else pending.params.push(byte);
      if (pending.params.length === PARAMS[pending.command]) {
        this.#pending = null;
        this.#command(pending.command, pending.params);
      }
      return;
    }
    if (byte === 0xfe) {
      this.flushText();
      this.#pending = { command: null, params: [] };
      return;
    }
    this.flushText();
    this.#character(byte);
  }

  #character(byte: number): void {
    if (byte === 0x0d) return; // "Carriage return (0x0D or '\r') is not listened to"
    if (byte === 0x0a) {
      // "New line ... will fill the rest of the current row with spaces (to blank it) and
      // move to the next line"
      for (let n = this.lcdCols - this.#col; n > 0; n--) this.#put(' ');
      return;
    }
    if (byte === 0x08) {
      this.record('08', 'backspace is not modelled');
      return;
    }
    if (byte < 0x20 || byte > 0x7e) {
      // Custom characters (0-7) and the LCD's own font above 0x7E: not printable ASCII.
      this.record(hex(byte), 'not printable ASCII');
      this.#put('?');
      return;
    }
    this.printed(String.fromCharCode(byte));
    this.#put(String.fromCharCode(byte));
  }

  /** Print at the insertion point and move it on, wrapping the way the controller's size says. */
  #put(ch: string): void {
    if (this.#row < this.rows && this.#col < this.cols) this.#grid[this.#row]![this.#col] = ch;
    this.#col++;
    if (this.#col < this.lcdCols) return;
    this.#col = 0;
    this.#row++;
    if (this.#row < this.lcdRows) return;
    if (this.autoScroll) {
      // "shift the entire display's contents up to make room for a new line of text when the
      // text reaches the scroll position (the bottom right character position)"
      this.#grid.shift();
      this.#grid.push(new Array<string>(this.cols).fill(' '));
      this.#row = this.lcdRows - 1;
    } else {
      // "When auto scrolling is disabled, text will wrap to the top left corner"
      this.#row = 0;
    }
  }

  #command(command: number, params: number[]): void {
    const raw = ['FE', hex(command), ...params.map(hex)].join(' ');
    let error: string | undefined;
    switch (command) {
      case 0x58:
        for (const row of this.#grid) row.fill(' ');
        this.#col = 0;
        this.#row = 0;
        break;
      case 0x48:
        this.#col = 0;
        this.#row = 0;
        break;
      case 0x47: {
        const [col, row] = params as [number, number];
        if (col < 1 || col > this.lcdCols || row < 1 || row > this.lcdRows) error = 'position out of range';
        else {
          this.#col = col - 1;
          this.#row = row - 1;
        }
        break;
      }
      case 0x51:
        this.autoScroll = true;
        break;
      case 0x52:
        this.autoScroll = false;
        break;
      case 0x4a:
        this.underline = true;
        break;
      case 0x4b:
        this.underline = false;
        break;
      case 0x53:
        this.block = true;
        break;
      case 0x54:
        this.block = false;
        break;
      case 0x42:
        this.#backlight = true;
        break;
      case 0x46:
        this.#backlight = false;
        break;
      case 0xd1: {
        if (this.profile === 'lk204') {
          error = 'not an LK204-25 command';
          break;
        }
        const [cols, rows] = params as [number, number];
        if (cols < 1 || cols > 20 || rows < 1 || rows > 4) error = 'size out of range';
        else {
          this.lcdCols = cols;
          this.lcdRows = rows;
        }
        break;
      }
      case 0x41:
        this.autoTransmit = true;
        break;
      case 0x4f:
        this.autoTransmit = false;
        break;
      case 0x45:
        this.keyBuffer = [];
        break;
      case 0x26: {
        // "If there is more than one keypress buffered, then the high order bit of this
        // returned keycode will be set ... If there are no buffered keypresses, then the
        // returned code will be 0x00."
        const key = this.keyBuffer.shift();
        this.emit('output', Buffer.from([key === undefined ? 0 : this.keyBuffer.length > 0 ? key | 0x80 : key]));
        break;
      }
      case 0x4c:
      case 0x4d:
        error = 'cursor moves are not modelled';
        break;
      default:
        break; // contrast, brightness, colour, repeat, debounce: nothing to show
    }
    this.record(raw, error);
  }




  screenText(): string[] {
    return this.#grid.map((r) => r.join(''));
  }


  /** A key on the LK's keypad, by its legend: its code goes out at once, or into the buffer. */
  pressKey(key: string): void {
    const code = this.profile === 'lk204' ? LK204_KEYPAD_4X4[key.toUpperCase()] : undefined;
    if (code === undefined) throw new TypeError(`${this.profile} has no key ${JSON.stringify(key)}`);
    const byte = code.charCodeAt(0);
    if (this.autoTransmit) this.emit('output', Buffer.from([byte]));
    else if (this.keyBuffer.length < KEY_BUFFER) this.keyBuffer.push(byte);
  }

  typeLine(): void {
    throw new TypeError(`${this.profile} has no line keypad`);
  }

  /** Arbitrary bytes to the host (noise on the line). */
  sendRaw(bytes: Buffer | Uint8Array | string): void {
    this.emit('output', typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : Buffer.from(bytes));
  }
}

