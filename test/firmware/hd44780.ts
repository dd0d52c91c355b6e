/**
 * An HD44780 character LCD controller, modelled from the Hitachi datasheet (ADE-207-272(Z)),
 * not from our firmware: the pins RS, RW, E and D4-D7 (the 4-bit wiring; D0-D3 unconnected),
 * the instruction set of table 6, the DDRAM address map of a 2-line display (line 1 at
 * 0x00-0x27, line 2 at 0x40-0x67), the 8-bit state after the internal reset, the 4-bit
 * "initializing by instruction" sequence of figure 24, and the bus and execution timing at
 * fosc = 270 kHz (table 6, figure 25). A controller is blind to a module's glass: a 20x4 module
 * shows line 1 on rows 0 and 2 (columns 0-19 and 20-39) and line 2 on rows 1 and 3.
 *
 * Anything the datasheet forbids (writing while busy, a too-short E pulse, RS changing with E)
 * is recorded in `violations`; the tests expect none. Time is the board's, in seconds.
 */
export interface LcdPins {
  rs: boolean;
  rw: boolean;
  e: boolean;
  /** D4-D7 as a nibble (D4 = bit 0). */
  data: number;
}

const EXEC_S = 37e-6;
const EXEC_CLEAR_S = 1.52e-3;
const EXEC_WRITE_S = 37e-6 + 4e-6; // tADD: the address counter moves 4 us after the write
const POWER_ON_S = 40e-3; // "wait for more than 40 ms after VCC rises to 2.7 V"
const INIT_FIRST_S = 4.1e-3; // figure 24: after the first function set
const INIT_SECOND_S = 100e-6;
const PWEH_S = 450e-9; // enable pulse width, high
const TCYCE_S = 1000e-9; // enable cycle time
const TAS_S = 40e-9; // address (RS, RW) set-up time before E rises
const TDSW_S = 80e-9; // data set-up time before E falls

/** Character ROM A00 (the common one) for 0x20-0x7F; CGRAM codes show as U+E000 + code. */
function glyph(code: number): string {
  if (code < 0x10) return String.fromCodePoint(0xe000 + (code & 7));
  if (code === 0x5c) return '¥';
  if (code === 0x7e) return '→';
  if (code === 0x7f) return '←';
  if (code >= 0x20 && code < 0x7e) return String.fromCharCode(code);
  return '\ufffd';
}

export class HD44780 {
  readonly violations: string[] = [];
  /** Called whenever what the glass shows may have changed. */
  onChange: (() => void) | null = null;

  private readonly ddram = new Uint8Array(0x80).fill(0x20);
  private readonly cgram = new Uint8Array(64);
  private ac = 0;
  private cgramSelected = false;
  private increment = true;
  private shiftOnWrite = false;
  private displayOn = false;
  private cursorOn = false;
  private blinkOn = false;
  private eightBit = true;
  private twoLine = false;
  private shift = 0;
  /** 4-bit mode: the high nibble, waiting for the low one. */
  private highNibble: number | null = null;
  /** Figure 24's sequence: 0 nothing since power-on, 1 and 2 after the first and second 0x30, 3 past it. */
  private initStep = 0;
  private busyUntil: number;
  private pins: LcdPins = { rs: false, rw: false, e: false, data: 0 };
  private eRoseAt = -1;
  private lastERiseAt = -Infinity;
  private addressChangedAt = 0;
  private dataChangedAt = 0;

  /** `pins`: what drives them at power-on (a PCF8574's outputs start high). */
  constructor(
    readonly cols: number,
    readonly rows: number,
    private readonly now: () => number,
    pins: LcdPins = { rs: false, rw: false, e: false, data: 0 },
  ) {
    // The internal reset circuit: 8-bit, 1 line, display off, increment; busy until Vcc settles.
    this.busyUntil = now() + POWER_ON_S;
    this.pins = { ...pins };
  }

  /** The pins as the MCU (or the I2C expander) drives them now. */
  setPins(next: LcdPins): void {
    const t = this.now();
    const prev = this.pins;
    if (next.rs !== prev.rs || next.rw !== prev.rw) {
      this.addressChangedAt = t;
      if (prev.e) this.violate(`RS/RW changed while E was high`);
    }
    if (next.data !== prev.data) this.dataChangedAt = t;
    this.pins = { ...next };
    if (next.e && !prev.e) {
      if (t - this.addressChangedAt < TAS_S) this.violate(`RS/RW set ${ns(t - this.addressChangedAt)} before E rose (tAS ${ns(TAS_S)})`);
      if (t - this.lastERiseAt < TCYCE_S) this.violate(`E cycle of ${ns(t - this.lastERiseAt)} (tcycE ${ns(TCYCE_S)})`);
      this.eRoseAt = t;
      this.lastERiseAt = t;
    } else if (!next.e && prev.e) {
      if (t - this.eRoseAt < PWEH_S) this.violate(`E high for ${ns(t - this.eRoseAt)} (PWEH ${ns(PWEH_S)})`);
      if (t - this.dataChangedAt < TDSW_S) this.violate(`data set ${ns(t - this.dataChangedAt)} before E fell (tDSW ${ns(TDSW_S)})`);
      this.latch(prev.rs, prev.rw, prev.data, t);
    }
  }

  /** The text on the glass, row by row (blank while the display is off). */
  screenText(): string[] {
    const out: string[] = [];
    for (let r = 0; r < this.rows; r++) {
      let text = '';
      for (let c = 0; c < this.cols; c++) {
        const addr = this.cellAddress(r, c);
        text += this.displayOn && addr !== null ? glyph(this.ddram[addr]!) : ' ';
      }
      out.push(text);
    }
    return out;
  }

  /** The visible cursor (display on, cursor on, the address counter in DDRAM on the glass), or null. */
  cursor(): { col: number; row: number; blink: boolean } | null {
    if (!this.displayOn || !(this.cursorOn || this.blinkOn) || this.cgramSelected) return null;
    for (let r = 0; r < this.rows; r++) {
      for (let c = 0; c < this.cols; c++) if (this.cellAddress(r, c) === this.ac) return { col: c, row: r, blink: this.blinkOn };
    }
    return null;
  }

  /** The 5x8 pattern of a CGRAM character (code 0-7), eight rows of five bits. */
  cgramPattern(code: number): number[] {
    return Array.from(this.cgram.subarray((code & 7) * 8, (code & 7) * 8 + 8), (b) => b & 0x1f);
  }

  private cellAddress(row: number, col: number): number | null {
    if (this.twoLine) {
      const line = row & 1;
      const pos = ((row >> 1) * this.cols + col + this.shift) % 40;
      return (line ? 0x40 : 0x00) + pos;
    }
    // One-line mode drives only the first line's commons: rows 1 and 3 stay dark.
    if (row & 1) return null;
    return ((row >> 1) * this.cols + col + this.shift) % 80;
  }

  private violate(what: string): void {
    if (this.violations.length < 50) this.violations.push(`${(this.now() * 1e3).toFixed(3)} ms: ${what}`);
  }

  private latch(rs: boolean, rw: boolean, nibble: number, t: number): void {
    let value: number;
    if (this.eightBit) {
      value = nibble << 4; // D0-D3 are not connected in 4-bit wiring
    } else if (this.highNibble === null) {
      if (!rw && t < this.busyUntil) this.violate(`written ${us(this.busyUntil - t)} before the last instruction finished`);
      this.highNibble = nibble;
      return;
    } else {
      value = (this.highNibble << 4) | nibble;
      this.highNibble = null;
    }
    if (rw) {
      // A read: the busy flag (RS low) changes nothing; reading data (RS high) moves the counter.
      // The model drives no pins back, which a write-only board never looks at.
      if (rs && t >= this.busyUntil) this.moveAddress(this.increment);
      return;
    }
    if (this.eightBit && t < this.busyUntil) this.violate(`written ${us(this.busyUntil - t)} before the last instruction finished`);
    this.busyUntil = t + (rs ? this.write(value) : this.instruction(value));
    this.onChange?.();
  }

  /** Carries out an instruction; returns its execution time. */
  private instruction(v: number): number {
    const initStep = this.initStep;
    this.initStep = initStep === 0 && v === 0x30 ? 1 : initStep === 1 && v === 0x30 ? 2 : 3;
    if (v & 0x80) {
      this.cgramSelected = false;
      this.ac = v & 0x7f;
      const valid = this.twoLine ? (this.ac <= 0x27 || (this.ac >= 0x40 && this.ac <= 0x67)) : this.ac <= 0x4f;
      if (!valid) this.violate(`DDRAM address 0x${this.ac.toString(16)} does not exist in ${this.twoLine ? '2' : '1'}-line mode`);
      return EXEC_S;
    }
    if (v & 0x40) {
      this.cgramSelected = true;
      this.ac = v & 0x3f;
      return EXEC_S;
    }
    if (v & 0x20) {
      this.eightBit = (v & 0x10) !== 0;
      this.twoLine = (v & 0x08) !== 0;
      // Figure 24: when the internal reset may not have worked, the first two 8-bit function
      // sets after power-on need 4.1 ms and 100 us.
      return this.initStep === 1 ? INIT_FIRST_S : this.initStep === 2 ? INIT_SECOND_S : EXEC_S;
    }
    if (v & 0x10) {
      const right = (v & 0x04) !== 0;
      if (v & 0x08) this.shift = (this.shift + (right ? 39 : 1)) % 40;
      else this.moveAddress(right);
      return EXEC_S;
    }
    if (v & 0x08) {
      this.displayOn = (v & 0x04) !== 0;
      this.cursorOn = (v & 0x02) !== 0;
      this.blinkOn = (v & 0x01) !== 0;
      return EXEC_S;
    }
    if (v & 0x04) {
      this.increment = (v & 0x02) !== 0;
      this.shiftOnWrite = (v & 0x01) !== 0;
      return EXEC_S;
    }
    if (v & 0x02) {
      this.ac = 0;
      this.cgramSelected = false;
      this.shift = 0;
      return EXEC_CLEAR_S;
    }
    if (v & 0x01) {
      this.ddram.fill(0x20);
      this.ac = 0;
      this.cgramSelected = false;
      this.increment = true;
      this.shift = 0;
      return EXEC_CLEAR_S;
    }
    return EXEC_S; // 0x00 is no instruction; the controller ignores it
  }

  private write(value: number): number {
    this.initStep = 3;
    if (this.cgramSelected) {
      this.cgram[this.ac & 0x3f] = value;
      this.ac = (this.ac + (this.increment ? 1 : 63)) & 0x3f;
      return EXEC_WRITE_S;
    }
    this.ddram[this.ac] = value;
    this.moveAddress(this.increment);
    if (this.shiftOnWrite) this.shift = (this.shift + (this.increment ? 1 : 39)) % 40;
    return EXEC_WRITE_S;
  }

  /** The address counter steps through one line's 40 cells and on into the other line. */
  private moveAddress(forward: boolean): void {
    if (!this.twoLine) {
      this.ac = (this.ac + (forward ? 1 : 79)) % 80;
      return;
    }
    if (forward) this.ac = this.ac === 0x27 ? 0x40 : this.ac === 0x67 ? 0x00 : this.ac + 1;
    else this.ac = this.ac === 0x00 ? 0x67 : this.ac === 0x40 ? 0x27 : this.ac - 1;
  }
}

function ns(s: number): string {
  return `${Math.round(s * 1e9)} ns`;
}

function us(s: number): string {
  return `${(s * 1e6).toFixed(1)} us`;
}
