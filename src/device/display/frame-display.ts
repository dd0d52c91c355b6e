/**
 * What every driver that turns views into bytes for a device without a protocol of its own
 * shares (plain text, the console, byte-command LCDs): the current view and URL page, one
 * write at a time in order, and forgetting what the device shows whenever that becomes
 * unknown (reopened, unplugged, a failed write). A driver says only what to send for a view
 * given what it sent before.
 */
import type { Logger } from 'pino';
import type { Display, DisplayInfo, View } from '../types.js';

/** Sends bytes to the device; rejects when the device is gone. */
export type DeviceWriter = (data: string | Buffer) => Promise<void>;

export interface FrameDisplayOptions {
  write: DeviceWriter;
  logger: Logger;
  now?: () => number;
}

export abstract class FrameDisplay implements Display {
  abstract readonly info: DisplayInfo;
  protected view: View | null = null;
  /** The URL page shown; a driver clamps it to the pages its layout has. */
  protected pageNo = 0;
  /**
   * Render again when the same view is shown again. The session re-shows a view with a
   * countdown every second: an LCD updates the digits in place, a scrolling terminal would
   * fill with frames.
   */
  protected repaintSameView = true;
  readonly #write: DeviceWriter;
  readonly #logger: Logger;
  readonly #now: () => number;
  #queue: Promise<void> = Promise.resolve();

  constructor(opts: FrameDisplayOptions) {
    this.#write = opts.write;
    this.#logger = opts.logger;
    this.#now = opts.now ?? Date.now;
  }

  /**
   * What to send for `view` now, given what this driver last sent; null when the device
   * already shows it.
   */
  protected abstract nextWrite(view: View, now: number): string | Buffer | null;

  /**
   * Forget what the device shows. `reset`: the device itself may have been reset or
   * replaced (reopened, unplugged, a write failed), not only asked to redraw.
   */
  protected abstract forget(reset: boolean): void;

  show(view: View): Promise<void> {
    const same = view === this.view;
    if (!same && view.url !== this.view?.url) this.pageNo = 0;
    this.view = view;
    if (same && !this.repaintSameView) return this.#queue;
    return this.#render();
  }

  page(delta: number): Promise<void> {
    if (!this.info.paging || !this.view?.url) return this.#queue;
    this.pageNo += delta;
    return this.#render();
  }

  redraw(): Promise<void> {
    this.forget(false);
    return this.#render();
  }

  attached(): void {
    this.forget(true);
    void this.#render();
  }

  detached(): void {
    this.forget(true);
  }

  /** These devices send nothing of their own: every line from the port is keypad input. */
  handleLine(): boolean {
    return false;
  }

  #render(): Promise<void> {
    this.#queue = this.#queue.then(async () => {
      if (!this.view) return;
      const out = this.nextWrite(this.view, this.#now());
      if (out === null || out.length === 0) return;
      try {
        await this.#write(out);
      } catch (err) {
        // The device went away mid-frame: what it shows is unknown.
        this.forget(true);
        this.#logger.debug({ err: (err as Error).message, display: this.info.kind }, 'display write failed');
      }
    });
    return this.#queue;
  }
}
