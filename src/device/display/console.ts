/**
 * The terminal as a display (`pinauthd login --console`): a person reads it in a scrolling
 * terminal, so it prints one short block per change of screen, with the whole clickable URL
 * (scheme included), and stays quiet on countdown ticks and digit echoes (the terminal
 * echoes what is typed).
 */
import type { Logger } from 'pino';
import type { Display, DisplayInfo, View } from '../types.js';
import { formatCountdown, toPrintable } from './layout.js';
import type { DeviceWriter } from './text.js';

export interface ConsoleDisplayOptions {
  write: DeviceWriter;
  cols: number;
  logger: Logger;
  now?: () => number;
}

export class ConsoleDisplay implements Display {
  readonly info: DisplayInfo;
  readonly #write: DeviceWriter;
  readonly #logger: Logger;
  readonly #now: () => number;
  #view: View | null = null;
  #printed: string | null = null;
  #queue: Promise<void> = Promise.resolve();

  constructor(opts: ConsoleDisplayOptions) {
    this.info = { kind: 'text', cols: opts.cols, rows: 0, qr: false, cursor: false, paging: false, backlight: false, beep: false };
    this.#write = opts.write;
    this.#logger = opts.logger;
    this.#now = opts.now ?? Date.now;
  }

  /** The block for a view: what it says, not how long is left or what was typed so far. */
  static text(view: View, now: number): string {
    const out: string[] = [];
    const head = [view.title, ...view.lines].map(toPrintable).filter((l) => l.length > 0);
    if (view.url) {
      // A URL view's lines are its notice: why it is shown again and what to do.
      if (view.lines.length > 0) out.push(view.lines.map(toPrintable).join(' - '));
      out.push('Open this URL in a browser, approve the app, and type the PIN it shows:', '', `  ${toPrintable(view.url)}`, '');
      if (view.countdown) out.push(`The link ${view.countdown.label} in ${formatCountdown(view.countdown.until - now)}.`);
      if (view.pin) out.push(`PIN (${view.pin.digits} digits), then Enter (00 for a fresh link):`);
    } else {
      out.push(head.join(' '));
      if (view.countdown) out.push(`(${view.countdown.label} ${formatCountdown(view.countdown.until - now)})`);
    }
    return out.join('\n') + '\n';
  }

  show(view: View): Promise<void> {
    this.#view = view;
    return this.#render();
  }

  page(): Promise<void> {
    return this.#queue;
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

  handleLine(): boolean {
    return false;
  }

  #render(): Promise<void> {
    this.#queue = this.#queue.then(async () => {
      const view = this.#view;
      if (!view) return;
      // Keyed on what the screen says, so countdown ticks and digit echoes print nothing.
      const key = JSON.stringify([view.state, view.title, view.lines, view.url ?? null, view.countdown?.until ?? null]);
      if (key === this.#printed) return;
      this.#printed = key;
      try {
        await this.#write(ConsoleDisplay.text(view, this.#now()));
      } catch (e) {
        this.#logger.debug({ err: (e as Error).message }, 'console write failed');
      }
    });
    return this.#queue;
  }
}
