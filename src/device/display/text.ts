/**
 * Plain text display: a serial text terminal, an LCD with a "print what you get" backpack,
 * or the console. Prints the whole frame, rows ended with CRLF, only when it changed.
 * No escape codes unless `ansi` is set (then the screen is cleared before each frame).
 */
import type { DisplayInfo, View } from '../types.js';
import { FrameDisplay, type FrameDisplayOptions } from './frame-display.js';
import { layout } from './layout.js';

export interface TextDisplayOptions extends FrameDisplayOptions {
  cols: number;
  rows: number;
  /** Clear the screen with ANSI codes before each frame (a real terminal). Default false. */
  ansi?: boolean;
  /**
   * Re-print when only the countdown changed (the session re-shows a view with a countdown
   * every second). Default false: a scrolling terminal would fill with frames.
   */
  tick?: boolean;
}

const CRLF = '\r\n';

export class TextDisplay extends FrameDisplay {
  readonly info: DisplayInfo;
  readonly #ansi: boolean;
  #printed: string | null = null;

  constructor(opts: TextDisplayOptions) {
    super(opts);
    this.info = { kind: 'text', cols: opts.cols, rows: opts.rows, qr: false, cursor: false, paging: true, backlight: false, beep: false };
    this.#ansi = opts.ansi ?? false;
    this.repaintSameView = opts.tick ?? false;
  }

  protected nextWrite(view: View, now: number): string | null {
    const frame = layout(view, this.info, { page: this.pageNo, now });
    this.pageNo = frame.page;
    const text = frame.rows.map((r) => r + CRLF).join('');
    if (text === this.#printed) return null;
    const prefix = this.#ansi ? '\x1b[2J\x1b[H' : this.#printed === null ? '' : CRLF;
    this.#printed = text;
    return prefix + text;
  }

  protected forget(): void {
    this.#printed = null;
  }
}
