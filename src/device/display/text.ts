/**
 * Plain text display: a serial text terminal, an LCD with a "print what you get" backpack,
 * or the console. Prints the whole frame, rows ended with CRLF, only when it changed.
 * No escape codes unless `ansi` is set (then the screen is cleared before each frame).
 */
import type { Logger } from 'pino';
import type { Display, DisplayInfo, View } from '../types.js';
import { layout } from './layout.js';

/** Sends text to the device; rejects when the device is gone. */
export type DeviceWriter = (data: string | Buffer) => Promise<void>;

export interface TextDisplayOptions {
  write: DeviceWriter;
  cols: number;
  rows: number;
  logger: Logger;
  /** Clear the screen with ANSI codes before each frame (a real terminal). Default false. */
  ansi?: boolean;
  /**
   * Re-print when only the countdown changed (the session re-shows a view with a countdown
   * every second). Default false: a scrolling terminal would fill with frames.
   */
  tick?: boolean;
  now?: () => number;
}

const CRLF = '\r\n';

export class TextDisplay implements Display {
  readonly info: DisplayInfo;
  readonly #write: DeviceWriter;
  readonly #logger: Logger;
  readonly #ansi: boolean;
  readonly #tick: boolean;
  readonly #now: () => number;
  #view: View | null = null;
  #page = 0;
  #printed: string | null = null;
  #queue: Promise<void> = Promise.resolve();

  constructor(opts: TextDisplayOptions) {
    this.info = { kind: 'text', cols: opts.cols, rows: opts.rows, qr: false, cursor: false, paging: true, backlight: false, beep: false };
    this.#write = opts.write;
    this.#logger = opts.logger;
    this.#ansi = opts.ansi ?? false;
    this.#tick = opts.tick ?? false;
    this.#now = opts.now ?? Date.now;
  }

  show(view: View): Promise<void> {
    const same = view === this.#view;
    if (!same && view.url !== this.#view?.url) this.#page = 0;
    this.#view = view;
    if (same && !this.#tick) return this.#queue;
    return this.#render();
  }

  page(delta: number): Promise<void> {
    if (!this.#view?.url) return this.#queue;
    this.#page += delta;
    return this.#render();
  }

  redraw(): Promise<void> {
    this.#printed = null;
    return this.#render();
  }

  attached(): void {
    void this.redraw();
  }

  detached(): void {
    this.#printed = null;
  }

  /** A text display has no protocol of its own: every line is keypad input. */
  handleLine(): boolean {
    return false;
  }

  #render(): Promise<void> {
    this.#queue = this.#queue.then(async () => {
      if (!this.#view) return;
      const frame = layout(this.#view, this.info, { page: this.#page, now: this.#now() });
      this.#page = frame.page;
      const text = frame.rows.map((r) => r + CRLF).join('');
      if (text === this.#printed) return;
      const prefix = this.#ansi ? '\x1b[2J\x1b[H' : this.#printed === null ? '' : CRLF;
      this.#printed = text;
      try {
        await this.#write(prefix + text);
      } catch (err) {
        this.#printed = null;
        this.#logger.debug({ err: (err as Error).message }, 'text display write failed');
      }
    });
    return this.#queue;
  }
}
