/**
 * The device side of docs/protocol.md: what a small microcontroller with a character LCD
 * or a 128x64 OLED and a keypad does with the host's lines. It is written the way a
 * firmware would be (a fixed line buffer, a word splitter, strict numbers) and on purpose
 * imports nothing from src/, so it checks the daemon instead of agreeing with it.
 */
import { EventEmitter } from 'node:events';

export type SimProfile = 'lcd16x2' | 'lcd20x4' | 'oled128x64' | 'text';
export type SimKeypadMode = 'keys' | 'line';
export type SimDelimiter = 'LF' | 'CR' | 'CRLF';
export type SimCap = 'backlight' | 'beep' | 'led' | 'cursor' | 'bitmap';
export type SimBeep = 'ok' | 'err';
export type SimLed = 'ok' | 'err' | 'off';

export interface SimDeviceOptions {
  profile: SimProfile;
  keypadMode?: SimKeypadMode;
  delimiter?: SimDelimiter;
  /** Overrides the profile's capabilities (announced in HELLO and enforced). */
  caps?: SimCap[] | string[];
  /** Firmware id in HELLO (no spaces). */
  fw?: string;
  /** Send a HELLO when the device starts (on the next tick after construction). Default true. */
  helloOnStart?: boolean;
  /** Size of the `text` profile's screen (default 40x4). */
  textCols?: number;
  textRows?: number;
}

/** One host line as the firmware parsed it; `error` is the text of the ERR it answered. */
export interface SimCommand {
  raw: string;
  name: string;
  error?: string;
}

export interface SimDeviceEvents {
  output: [Buffer];
  screen: [string[]];
  command: [SimCommand];
}

export interface SimCursor {
  col: number;
  row: number;
  visible: boolean;
}

/** A host line is at most 128 bytes including its LF (docs/protocol.md, Framing). */
export const HOST_LINE_MAX_BYTES = 128;
/** Cell size of the OLED's text grid in pixels (a 6x8 font: 21 columns, 8 rows). */
export const CELL_WIDTH = 6;
export const CELL_HEIGHT = 8;

const KEYS = new Set(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9', '*', '#', 'A', 'B', 'C', 'D']);
const ALL_CAPS: readonly SimCap[] = ['backlight', 'beep', 'led', 'cursor', 'bitmap'];
const DELIMITERS: Record<SimDelimiter, string> = { LF: '\n', CR: '\r', CRLF: '\r\n' };
const TEXT_LINE_MAX_BYTES = 1024;
const TEXT_HISTORY_MAX = 1000;

interface ProfileSpec {
  kind: 'lcd' | 'graphic' | 'text';
  cols: number;
  rows: number;
  px?: { width: number; height: number };
  caps: SimCap[];
}

const PROFILES: Record<Exclude<SimProfile, 'text'>, ProfileSpec> = {
  lcd16x2: { kind: 'lcd', cols: 16, rows: 2, caps: ['backlight', 'beep', 'led', 'cursor'] },
  lcd20x4: { kind: 'lcd', cols: 20, rows: 4, caps: ['backlight', 'beep', 'led', 'cursor'] },
  oled128x64: {
    kind: 'graphic',
    cols: 21,
    rows: 8,
    px: { width: 128, height: 64 },
    caps: ['beep', 'led', 'cursor', 'bitmap'],
  },
};

/** Thrown inside the parser; becomes an `ERR <text>` line. */
class CommandError extends Error {}

export class SimDevice extends EventEmitter<SimDeviceEvents> {
  readonly profile: SimProfile;
  readonly kind: 'lcd' | 'graphic' | 'text';
  readonly cols: number;
  readonly rows: number;
  readonly keypadMode: SimKeypadMode;
  readonly delimiter: SimDelimiter;
  readonly caps: readonly SimCap[];
  readonly fw: string;

  /** Every beep the host asked for, oldest first. */
  readonly beeps: SimBeep[] = [];
  /** Every LED state the host set, oldest first; `led` is the current one. */
  readonly leds: SimLed[] = [];
  /** Every line the `text` profile printed, untruncated (the last 1000). */
  readonly printed: string[] = [];
  /** How many host lines were dropped for being longer than the line buffer. */
  overflowCount = 0;

  private grid: string[][] = [];
  private fb: Uint8Array = new Uint8Array(0);
  private readonly fbWidth: number;
  private readonly fbHeight: number;
  private lineBytes: number[] = [];
  private overflowed = false;
  private pendingKeys = '';
  private _backlight = true;
  private _led: SimLed = 'off';
  private _cursor: SimCursor = { col: 0, row: 0, visible: false };
  private started = false;

  constructor(options: SimDeviceOptions) {
    super();
    this.profile = options.profile;
    this.keypadMode = options.keypadMode ?? 'keys';
    this.delimiter = options.delimiter ?? 'LF';
    if (!(this.delimiter in DELIMITERS)) throw new TypeError(`unknown delimiter: ${this.delimiter}`);
    this.fw = options.fw ?? 'pinpad-sim-1';
    if (!/^[\x21-\x7e]+$/.test(this.fw)) throw new TypeError('fw must be printable ASCII without spaces');

    if (options.profile === 'text') {
      this.kind = 'text';
      this.cols = options.textCols ?? 40;
      this.rows = options.textRows ?? 4;
      this.caps = [];
    } else {
      const spec = PROFILES[options.profile];
      if (!spec) throw new TypeError(`unknown profile: ${String(options.profile)}`);
      this.kind = spec.kind;
      this.cols = spec.cols;
      this.rows = spec.rows;
      const caps = (options.caps ?? spec.caps) as string[];
      for (const cap of caps) {
        if (!ALL_CAPS.includes(cap as SimCap)) throw new TypeError(`unknown cap: ${cap}`);
        if (cap === 'bitmap' && spec.kind !== 'graphic') throw new TypeError('bitmap needs a graphic profile');
      }
      this.caps = [...caps] as SimCap[];
    }
    this.fbWidth = PROFILES[options.profile as Exclude<SimProfile, 'text'>]?.px?.width ?? 0;
    this.fbHeight = PROFILES[options.profile as Exclude<SimProfile, 'text'>]?.px?.height ?? 0;
    this.powerOn();

    // A real device says HELLO at power-on; deferred so listeners attached right after
    // construction hear it.
    if (options.helloOnStart ?? true) process.nextTick(() => this.start());
  }

  /** Announce the device (the power-on HELLO). Idempotent; the constructor schedules it. */
  start(): void {
    if (this.started) return;
    this.started = true;
    if (this.kind !== 'text') this.sendLine(this.helloLine());
  }

  /** A firmware reset: blank screen and framebuffer, default outputs, a fresh HELLO. */
  reset(): void {
    this.powerOn();
    this.started = true;
    if (this.kind !== 'text') this.sendLine(this.helloLine());
    this.emitScreen();
  }

  /** The HELLO line this device sends (without delimiter). */
  helloLine(): string {
    const fields = [`kind=${this.kind}`, `cols=${this.cols}`, `rows=${this.rows}`];
    if (this.kind === 'graphic') fields.push(`px=${this.fbWidth}x${this.fbHeight}`);
    if (this.caps.length > 0) fields.push(`caps=${this.caps.join(',')}`);
    fields.push(`keys=${this.keypadMode}`, `fw=${this.fw}`);
    return `HELLO pinpad/1 ${fields.join(' ')}`;
  }

  // ---- host -> device -------------------------------------------------------------

  /** Bytes from the host, in any chunking. */
  feed(chunk: Buffer | Uint8Array | string): void {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'latin1') : chunk;
    const max = this.kind === 'text' ? TEXT_LINE_MAX_BYTES : HOST_LINE_MAX_BYTES;
    for (const byte of bytes) {
      if (byte === 0x0a) {
        this.endLine();
        continue;
      }
      if (this.overflowed) continue;
      // The LF needs the last slot of the buffer.
      if (this.lineBytes.length >= max - 1) {
        this.overflowed = true;
        this.lineBytes = [];
        continue;
      }
      this.lineBytes.push(byte);
    }
  }

  private endLine(): void {
    const bytes = this.lineBytes;
    this.lineBytes = [];
    if (this.overflowed) {
      this.overflowed = false;
      this.overflowCount++;
      if (this.kind === 'text') return;
      const error = 'line too long';
      this.emit('command', { raw: '', name: '', error });
      this.sendLine(`ERR ${error}`);
      return;
    }
    // Tolerate a CRLF host even though the spec says LF.
    if (bytes.length > 0 && bytes[bytes.length - 1] === 0x0d) bytes.pop();
    if (this.kind === 'text') {
      this.printText(bytes);
      return;
    }
    const raw = Buffer.from(bytes).toString('latin1');
    if (raw.length === 0) return; // nothing to do, like strtok on an empty buffer
    const name = raw.split(' ', 1)[0] ?? '';
    try {
      if (bytes.some((b) => b < 0x20 || b > 0x7e)) throw new CommandError('bad byte');
      this.execute(raw);
      this.emit('command', { raw, name });
    } catch (err) {
      if (!(err instanceof CommandError)) throw err;
      this.emit('command', { raw, name, error: err.message });
      this.sendLine(`ERR ${err.message}`);
    }
  }

  private execute(line: string): void {
    const words = line.split(' ');
    const name = words[0];
    switch (name) {
      case '?':
        this.noMoreWords(words, 1);
        this.sendLine(this.helloLine());
        return;
      case 'CLR':
        this.noMoreWords(words, 1);
        this.clearAll();
        this.emitScreen();
        return;
      case 'ROW': {
        const row = this.number(words[1], this.rows, 'row');
        this.writeRow(row, restAfter(line, 2));
        this.emitScreen();
        return;
      }
      case 'AT': {
        const col = this.number(words[1], this.cols, 'col');
        const row = this.number(words[2], this.rows, 'row');
        this.writeAt(col, row, restAfter(line, 3));
        this.emitScreen();
        return;
      }
      case 'CUR': {
        this.needCap('cursor');
        if (words[1] === 'OFF') {
          this.noMoreWords(words, 2);
          this._cursor = { ...this._cursor, visible: false };
        } else {
          const col = this.number(words[1], this.cols, 'col');
          const row = this.number(words[2], this.rows, 'row');
          this.noMoreWords(words, 3);
          this._cursor = { col, row, visible: true };
        }
        this.emitScreen();
        return;
      }
      case 'BL':
        this.needCap('backlight');
        this._backlight = this.choice(words, ['ON', 'OFF']) === 'ON';
        this.emitScreen();
        return;
      case 'BEEP':
        this.needCap('beep');
        this.beeps.push(this.choice(words, ['OK', 'ERR']) === 'OK' ? 'ok' : 'err');
        this.emitScreen();
        return;
      case 'LED': {
        this.needCap('led');
        this._led = this.choice(words, ['OK', 'ERR', 'OFF']).toLowerCase() as SimLed;
        this.leds.push(this._led);
        this.emitScreen();
        return;
      }
      case 'BMP':
        this.needCap('bitmap');
        this.bitmap(line);
        this.emitScreen();
        return;
      default:
        throw new CommandError('unknown command');
    }
  }

  private bitmap(line: string): void {
    const words = line.split(' ');
    const x = this.number(words[1], this.fbWidth, 'x');
    const y = this.number(words[2], this.fbHeight, 'y');
    const w = this.number(words[3], this.fbWidth + 1, 'w');
    const h = this.number(words[4], this.fbHeight + 1, 'h');
    if (w === 0 || h === 0 || x + w > this.fbWidth || y + h > this.fbHeight) {
      throw new CommandError('out of range');
    }
    // Rows may be separated by spaces, as in the spec's example.
    const hex = restAfter(line, 5).replaceAll(' ', '');
    const bytesPerRow = Math.ceil(w / 8);
    if (!/^[0-9A-Fa-f]*$/.test(hex) || hex.length !== bytesPerRow * h * 2) {
      throw new CommandError('bad bitmap');
    }
    const data = Buffer.from(hex, 'hex');
    for (let r = 0; r < h; r++) {
      for (let c = 0; c < w; c++) {
        const byte = data[r * bytesPerRow + (c >> 3)]!;
        this.fb[(y + r) * this.fbWidth + x + c] = (byte >> (7 - (c & 7))) & 1;
      }
    }
  }

  /** Strict decimal, 1-3 digits, below `limit`, like a firmware's atoi with checks. */
  private number(word: string | undefined, limit: number, what: string): number {
    if (word === undefined || !/^[0-9]{1,3}$/.test(word)) throw new CommandError(`bad ${what}`);
    const value = Number(word);
    if (value >= limit) throw new CommandError(`${what} out of range`);
    return value;
  }

  private choice(words: string[], allowed: string[]): string {
    this.noMoreWords(words, 2);
    const word = words[1];
    if (word === undefined || !allowed.includes(word)) throw new CommandError('bad argument');
    return word;
  }

  private noMoreWords(words: string[], count: number): void {
    if (words.length > count) throw new CommandError('too many arguments');
  }

  private needCap(cap: SimCap): void {
    if (!this.caps.includes(cap)) throw new CommandError(`no ${cap}`);
  }

  // ---- screen -----------------------------------------------------------------

  private powerOn(): void {
    this.lineBytes = [];
    this.overflowed = false;
    this.pendingKeys = '';
    this._backlight = true;
    this._led = 'off';
    this.fb = new Uint8Array(this.fbWidth * this.fbHeight);
    this.grid = Array.from({ length: this.rows }, () => new Array<string>(this.cols).fill(' '));
    this._cursor = { col: 0, row: 0, visible: false };
  }

  private clearAll(): void {
    for (const row of this.grid) row.fill(' ');
    this.fb.fill(0);
    this._cursor = { ...this._cursor, col: 0, row: 0 };
  }

  private writeRow(row: number, text: string): void {
    const cells = this.grid[row]!;
    for (let c = 0; c < this.cols; c++) cells[c] = text[c] ?? ' ';
    // On the OLED the text and the bitmap share one framebuffer: a row of text wipes the
    // pixels of its whole band.
    if (this.kind === 'graphic') {
      this.fb.fill(0, row * CELL_HEIGHT * this.fbWidth, (row + 1) * CELL_HEIGHT * this.fbWidth);
    }
  }

  private writeAt(col: number, row: number, text: string): void {
    const cells = this.grid[row]!;
    for (let i = 0; i < text.length && col + i < this.cols; i++) {
      cells[col + i] = text[i]!;
      if (this.kind === 'graphic') this.clearCellPixels(col + i, row);
    }
  }

  private clearCellPixels(col: number, row: number): void {
    for (let y = row * CELL_HEIGHT; y < (row + 1) * CELL_HEIGHT; y++) {
      const start = y * this.fbWidth + col * CELL_WIDTH;
      this.fb.fill(0, start, start + CELL_WIDTH);
    }
  }

  private printText(bytes: number[]): void {
    // A serial terminal: form feed clears, other control bytes are not printed.
    const ff = bytes.lastIndexOf(0x0c);
    if (ff >= 0) {
      for (const row of this.grid) row.fill(' ');
      bytes = bytes.slice(ff + 1);
      if (bytes.length === 0) {
        this.emit('command', { raw: '\f', name: 'text' });
        this.emitScreen();
        return;
      }
    }
    const text = Buffer.from(bytes.filter((b) => b >= 0x20))
      .toString('utf8')
      .replace(/\p{Cc}/gu, '');
    this.printed.push(text);
    if (this.printed.length > TEXT_HISTORY_MAX) this.printed.shift();
    // Long lines wrap like on a terminal, so a printed URL stays whole on screen.
    const chunks: string[] = [];
    const chars = [...text];
    for (let i = 0; i === 0 || i < chars.length; i += this.cols) {
      chunks.push(chars.slice(i, i + this.cols).join(''));
    }
    for (const chunk of chunks) {
      this.grid.shift();
      const row = new Array<string>(this.cols).fill(' ');
      [...chunk].forEach((ch, i) => (row[i] = ch));
      this.grid.push(row);
    }
    this.emit('command', { raw: text, name: 'text' });
    this.emitScreen();
  }

  private emitScreen(): void {
    this.emit('screen', this.screenText());
  }

  /** The rows as shown, each exactly `cols` characters (padded with spaces). */
  screenText(): string[] {
    return this.grid.map((row) => row.join(''));
  }

  /** The framebuffer, one byte per pixel, 1 = dark. Text is not rendered into it. Empty for non-graphic profiles. */
  pixels(): { width: number; height: number; data: Uint8Array } {
    return { width: this.fbWidth, height: this.fbHeight, data: this.fb.slice() };
  }

  get backlight(): boolean {
    return this._backlight;
  }

  get led(): SimLed {
    return this._led;
  }

  get cursor(): SimCursor {
    return { ...this._cursor };
  }

  /** What a `line`-mode keypad has typed but not yet sent. */
  get pendingLine(): string {
    return this.pendingKeys;
  }

  // ---- device -> host (the keypad) ------------------------------------------------

  /**
   * One key press. Keys mode sends the key as a line. Line mode edits a pending line like
   * a keypad that types a PIN and Enter: `#` sends it, `*` deletes a digit (or sends `*`
   * when nothing is typed).
   */
  pressKey(key: string): void {
    if (!KEYS.has(key)) throw new TypeError(`not a keypad key: ${JSON.stringify(key)}`);
    if (this.keypadMode === 'keys') {
      this.sendLine(key);
      return;
    }
    if (key === '#') {
      const line = this.pendingKeys;
      this.pendingKeys = '';
      this.sendLine(line);
    } else if (key === '*') {
      if (this.pendingKeys === '') this.sendLine('*');
      else this.pendingKeys = this.pendingKeys.slice(0, -1);
    } else {
      this.pendingKeys += key;
    }
  }

  /** Line mode: send a whole entry as one line (any mode, really: it is what goes out). */
  typeLine(text: string): void {
    this.sendLine(text);
  }

  /** Type a PIN the way this keypad would; `submit` adds the `#`/Enter. */
  typePin(pin: string, options: { submit?: boolean } = {}): void {
    const submit = options.submit ?? true;
    if (this.keypadMode === 'keys') {
      for (const digit of pin) this.pressKey(digit);
      if (submit) this.pressKey('#');
      return;
    }
    if (submit) {
      const line = this.pendingKeys + pin;
      this.pendingKeys = '';
      this.sendLine(line);
    } else {
      this.pendingKeys += pin;
    }
  }

  /** Arbitrary bytes to the host, for noise and garbage tests. */
  sendRaw(bytes: Buffer | Uint8Array | string): void {
    this.emit('output', typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : Buffer.from(bytes));
  }

  private sendLine(line: string): void {
    this.emit('output', Buffer.from(line + DELIMITERS[this.delimiter], 'latin1'));
  }
}

/** The text after the first `count` words (the "rest of the line" argument). */
function restAfter(line: string, count: number): string {
  let index = 0;
  for (let i = 0; i < count; i++) {
    const next = line.indexOf(' ', index);
    if (next < 0) return '';
    index = next + 1;
  }
  return line.slice(index);
}
