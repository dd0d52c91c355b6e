/**
 * The terminal as a display (`pinauthd login --console`): a person reads it in a scrolling
 * terminal, so it prints one short block per change of screen, with the whole clickable URL
 * (scheme included), and stays quiet on countdown ticks and digit echoes (the terminal
 * echoes what is typed).
 */
import type { DisplayInfo, View } from '../types.js';
import { FrameDisplay, type FrameDisplayOptions } from './frame-display.js';
import { formatCountdown, toPrintable } from './layout.js';

export interface ConsoleDisplayOptions extends FrameDisplayOptions {
  cols: number;
}

export class ConsoleDisplay extends FrameDisplay {
  readonly info: DisplayInfo;
  #printed: string | null = null;

  constructor(opts: ConsoleDisplayOptions) {
    super(opts);
    this.info = { kind: 'text', cols: opts.cols, rows: 0, qr: false, cursor: false, paging: false, backlight: false, beep: false };
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
      // An error's short lines are a reason and what to do ("App key rejected - check
      // key+secret"); other screens read as one phrase ("Authorized as @name").
      out.push(head.join(view.tone === 'error' ? ' - ' : ' '));
      if (view.countdown) out.push(`(${view.countdown.label} ${formatCountdown(view.countdown.until - now)})`);
    }
    return out.join('\n') + '\n';
  }

  protected nextWrite(view: View, now: number): string | null {
    // Keyed on what the screen says, so countdown ticks, digit echoes and a state that says
    // the same as the one before (the PIN checked, then the token being stored) print nothing.
    const key = JSON.stringify([view.title, view.lines, view.url ?? null, view.countdown?.until ?? null]);
    if (key === this.#printed) return null;
    this.#printed = key;
    return ConsoleDisplay.text(view, now);
  }

  protected forget(): void {
    this.#printed = null;
  }
}
