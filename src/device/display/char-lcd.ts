/**
 * A serial character LCD driven by byte commands (no firmware of ours on it): the frame
 * comes from layout(), and only the characters that changed go on the wire, as "move the
 * insertion point, print the span". The device's own command set (Matrix Orbital, SparkFun
 * OpenLCD) is a small table of byte sequences; nothing else differs between them.
 *
 * What is sent never leaves the grid (every position is inside it, every span ends at the
 * row's end at the latest) and is printable ASCII only (layout() makes it so; the command set
 * escapes what its device would take as a command).
 */
import type { DisplayInfo, View } from '../types.js';
import { FrameDisplay, type FrameDisplayOptions } from './frame-display.js';
import { layout, toPrintable, type Grid } from './layout.js';

export interface LcdCommandSet {
  /** For logs. */
  readonly name: string;
  /** Sent after every open, before the first frame: cursor off, no scrolling, the grid size. */
  setup(grid: Grid): Buffer;
  /** Clear the screen and put the insertion point at the top left. */
  readonly clear: Buffer;
  /** The insertion point to column `col`, row `row` (0-based, inside the grid). */
  moveTo(col: number, row: number): Buffer;
  /** Show or hide the (underline) cursor at the insertion point. */
  cursor(visible: boolean): Buffer;
  /** Printable ASCII as the device prints it. */
  text(printable: string): Buffer;
}

export interface CharLcdOptions extends FrameDisplayOptions {
  cols: number;
  rows: number;
  commands: LcdCommandSet;
}

export class CharLcdDisplay extends FrameDisplay {
  readonly info: DisplayInfo;
  readonly #commands: LcdCommandSet;
  readonly #grid: Grid;
  /** The rows as the device shows them; null when unknown (not set up yet, or a write failed). */
  #shown: string[] | null = null;
  /** Where the visible cursor is; null when it is hidden. */
  #cursorAt: string | null = null;
  /** The device was opened (or may have been reset) and has not been set up since. */
  #needsSetup = true;

  constructor(opts: CharLcdOptions) {
    super(opts);
    this.#grid = { cols: opts.cols, rows: opts.rows };
    this.info = { kind: 'lcd', cols: opts.cols, rows: opts.rows, qr: false, cursor: true, paging: true, backlight: true, beep: false };
    this.#commands = opts.commands;
  }

  protected forget(reset: boolean): void {
    this.#shown = null;
    if (reset) this.#needsSetup = true;
  }

  protected nextWrite(view: View, now: number): Buffer {
    const frame = layout(view, this.#grid, { page: this.pageNo, now });
    this.pageNo = frame.page;
    const c = this.#commands;
    const out: Buffer[] = [];
    if (this.#needsSetup) {
      out.push(c.setup(this.#grid));
      this.#needsSetup = false;
      this.#shown = null;
      this.#cursorAt = null;
    }
    let shown = this.#shown;
    if (!shown) {
      out.push(c.clear);
      shown = frame.rows.map(() => '');
    }
    const wanted = frame.cursor ? `${frame.cursor.col},${frame.cursor.row}` : null;
    // Hide the cursor before printing elsewhere, so it does not run along the row.
    if (this.#cursorAt !== null && wanted === null) out.push(c.cursor(false));
    let printed = false;
    frame.rows.forEach((row, r) => {
      const span = changedSpan(shown[r] ?? '', row, this.#grid.cols);
      if (!span) return;
      out.push(c.moveTo(span.col, r), c.text(toPrintable(span.text)));
      printed = true;
    });
    if (frame.cursor && (printed || this.#cursorAt !== wanted)) {
      out.push(c.moveTo(frame.cursor.col, frame.cursor.row));
      if (this.#cursorAt === null) out.push(c.cursor(true));
    }
    this.#shown = frame.rows.slice();
    this.#cursorAt = wanted;
    return Buffer.concat(out);
  }
}

/**
 * The characters of row `after` that differ from `before`, as one span from the first to
 * the last change (blanked cells included), cut at the grid's width; null when equal.
 */
export function changedSpan(before: string, after: string, cols: number): { col: number; text: string } | null {
  const a = before.padEnd(cols).slice(0, cols);
  const b = after.padEnd(cols).slice(0, cols);
  let first = 0;
  while (first < cols && a[first] === b[first]) first++;
  if (first === cols) return null;
  let last = cols - 1;
  while (last > first && a[last] === b[last]) last--;
  return { col: first, text: b.slice(first, last + 1) };
}
