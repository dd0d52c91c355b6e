/**
 * The pinpad protocol driver (docs/protocol.md): asks for HELLO, learns the screen, and
 * keeps a model of what the device shows so that only changed rows go on the wire (at
 * 9600 baud a full 20x4 redraw is ~100 ms; a QR code far more). All writes go through one
 * queue, in order. On a graphic display with `caps=bitmap` page 0 is the QR code of the
 * URL with the text beside it, and the following pages show the URL as text.
 */
import type { Logger } from 'pino';
import type { Display, DisplayInfo, Tone, View } from '../types.js';
import { layout, pageHeader, toPrintable, type Frame } from './layout.js';
import { bmpBands, qrBitmap, type Bitmap } from './qr.js';
import type { DeviceWriter } from './frame-display.js';
import { TextDisplay } from './text.js';

export type Capability = 'backlight' | 'beep' | 'led' | 'cursor' | 'bitmap';

/**
 * Pixels per QR module at most: 8 px modules are read from across a room already; more
 * would only cost bytes at 9600 baud (and a hostile size would cost memory).
 */
export const MAX_QR_SCALE = 8;

export interface Hello {
  version: number;
  kind: 'lcd' | 'graphic';
  cols: number;
  rows: number;
  pixels?: { width: number; height: number };
  caps: Set<string>;
  keys?: string;
  firmware?: string;
}

export interface PinpadDisplayOptions {
  write: DeviceWriter;
  /** The grid to assume until the device's HELLO says otherwise. */
  cols: number;
  rows: number;
  logger: Logger;
  now?: () => number;
  /**
   * After `?`, how long to wait for the HELLO before drawing with the assumed grid (a
   * device that never answers still gets a screen). Default 1000 ms.
   */
  helloTimeoutMs?: number;
}

/**
 * What a HELLO may claim (docs/protocol.md, "HELLO fields"): a device is not trusted, and its
 * pixel size sizes the QR bitmap and every BMP line, so each field is bounded where it enters.
 */
export const HELLO_BOUNDS = {
  cols: { min: 8, max: 40 },
  rows: { min: 1, max: 8 },
  /** Pixel width and height (a 480x320 TFT is the largest display the protocol serves). */
  pxWidth: { min: 8, max: 480 },
  pxHeight: { min: 8, max: 320 },
  /** `fw`: printable ASCII, for the log. */
  firmware: 32,
} as const;

const KNOWN_CAPS: ReadonlySet<string> = new Set<Capability>(['backlight', 'beep', 'led', 'cursor', 'bitmap']);

const within = (n: number, b: { min: number; max: number }) => n >= b.min && n <= b.max;

/** Parse a `HELLO pinpad/<n> k=v ...` line; null when it is not one. Out-of-range fields keep the defaults. */
export function parseHello(line: string, defaults: { cols: number; rows: number }, logger?: Logger): Hello | null {
  const words = line.trim().split(' ').filter((w) => w.length > 0);
  if (words[0] !== 'HELLO' || words.length < 2) return null;
  const m = /^pinpad\/(\d{1,3})(?:\.\d{1,3})*$/.exec(words[1]!);
  if (!m) return null;
  const hello: Hello = { version: Number(m[1]), kind: 'lcd', cols: defaults.cols, rows: defaults.rows, caps: new Set() };
  for (const word of words.slice(2)) {
    const eq = word.indexOf('=');
    if (eq <= 0) continue;
    const key = word.slice(0, eq);
    const value = word.slice(eq + 1);
    const int = /^\d{1,5}$/.test(value) ? Number(value) : NaN;
    switch (key) {
      case 'kind':
        if (value === 'lcd' || value === 'graphic') hello.kind = value;
        else logger?.warn({ kind: value }, 'HELLO: unknown display kind, assuming lcd');
        break;
      case 'cols':
        if (within(int, HELLO_BOUNDS.cols)) hello.cols = int;
        else logger?.warn({ cols: toPrintable(value.slice(0, 16)) }, 'HELLO: cols out of range (8-40), keeping the configured value');
        break;
      case 'rows':
        if (within(int, HELLO_BOUNDS.rows)) hello.rows = int;
        else logger?.warn({ rows: toPrintable(value.slice(0, 16)) }, 'HELLO: rows out of range (1-8), keeping the configured value');
        break;
      case 'px': {
        const px = /^(\d{1,5})x(\d{1,5})$/.exec(value);
        const width = Number(px?.[1]);
        const height = Number(px?.[2]);
        if (within(width, HELLO_BOUNDS.pxWidth) && within(height, HELLO_BOUNDS.pxHeight)) hello.pixels = { width, height };
        else logger?.warn({ px: toPrintable(value.slice(0, 16)) }, 'HELLO: px out of range (8-480 x 8-320), drawing no bitmap');
        break;
      }
      case 'caps':
        for (const cap of value.split(',')) if (KNOWN_CAPS.has(cap)) hello.caps.add(cap);
        break;
      case 'keys':
        if (value === 'keys' || value === 'line') hello.keys = value;
        break;
      case 'fw':
        if (value.length <= HELLO_BOUNDS.firmware && /^[\x21-\x7e]+$/.test(value)) hello.firmware = value;
        else logger?.warn({ fw: toPrintable(value.slice(0, HELLO_BOUNDS.firmware)) }, 'HELLO: fw longer than 32 characters or not printable ASCII, left out');
        break;
      default:
        break; // unknown keys are for later versions
    }
  }
  if (hello.kind === 'graphic' && !hello.pixels) hello.caps.delete('bitmap');
  return hello;
}

/** What the device shows, as far as we know. */
interface Model {
  /** 'text' (rows via ROW) or 'qr:<col>' (QR at the left, rows via AT from <col>). */
  layoutKey: string;
  rows: string[];
  qrKey: string | null;
  cursor: string;
}

interface Planned {
  layoutKey: string;
  rows: string[];
  textCol: number;
  textCols: number;
  qr: { key: string; bitmap: Bitmap; x: number; y: number } | null;
  cursor: string;
}

export class PinpadDisplay implements Display {
  #info: DisplayInfo;
  #caps = new Set<string>();
  readonly #write: DeviceWriter;
  readonly #logger: Logger;
  readonly #now: () => number;
  #fallback: TextDisplay | null = null;
  #view: View | null = null;
  #page = 0;
  #errCount = 0;
  #errLoggedAt = Number.NEGATIVE_INFINITY;
  #model: Model | null = null;
  /** What the last view with a tone looked like: the same screen again does not beep again. */
  #toneKey: string | null = null;
  #led: 'OK' | 'ERR' | 'OFF' | null = null;
  #queue: Promise<void> = Promise.resolve();
  /** Between `?` and the HELLO (or the timeout): nothing is drawn, the grid is not known yet. */
  #awaitingHello = false;
  #helloTimer: NodeJS.Timeout | null = null;
  readonly #helloTimeoutMs: number;
  /** A redraw is queued and has not started: another one adds nothing. */
  #redrawQueued = false;
  #qrCache: { key: string; bitmap: Bitmap | null } | null = null;

  constructor(opts: PinpadDisplayOptions) {
    // Until a HELLO says what the device has: plain text on the configured grid.
    this.#info = { kind: 'lcd', cols: opts.cols, rows: opts.rows, qr: false, cursor: false, paging: true, backlight: false, beep: false };
    this.#write = opts.write;
    this.#logger = opts.logger;
    this.#now = opts.now ?? Date.now;
    this.#helloTimeoutMs = opts.helloTimeoutMs ?? 1000;
  }

  get info(): DisplayInfo {
    return this.#fallback?.info ?? this.#info;
  }

  /**
   * Ask the device who it is (after every open). Until its HELLO arrives (or the timeout
   * passes) nothing is drawn: a frame laid out for the configured grid would be wrong on a
   * device with another one (rows it does not have, rows cut off), and would only be
   * cleared again by the redraw the HELLO brings.
   */
  hello(): Promise<void> {
    this.#awaitingHello = true;
    if (this.#helloTimer) clearTimeout(this.#helloTimer);
    this.#helloTimer = setTimeout(() => {
      this.#helloTimer = null;
      if (!this.#awaitingHello) return;
      this.#awaitingHello = false;
      this.#logger.warn(
        { cols: this.#info.cols, rows: this.#info.rows },
        'display did not answer ? with a HELLO: drawing for the configured grid',
      );
      void this.redraw();
    }, this.#helloTimeoutMs);
    this.#helloTimer.unref();
    return this.#enqueue(async () => this.#send(['?']));
  }

  attached(): void {
    void this.hello();
    // The device may have been reset or replaced: send the whole frame (once the HELLO is in).
    void this.redraw();
  }

  /** Stop waiting for a HELLO (the port closed). */
  #helloDone(): void {
    this.#awaitingHello = false;
    if (this.#helloTimer) clearTimeout(this.#helloTimer);
    this.#helloTimer = null;
  }

  /**
   * A line from the device. Returns true when it belonged to the display protocol
   * (HELLO, ERR) and false for anything else (keypad input).
   */
  handleLine(line: string): boolean {
    if (line.startsWith('ERR') && (line.length === 3 || line[3] === ' ')) {
      // A faulty device can send ERR lines as fast as the line carries them: log the first,
      // then at most one a minute with how many came meanwhile.
      const now = this.#now();
      this.#errCount++;
      if (now - this.#errLoggedAt >= 60_000) {
        this.#logger.warn({ device: toPrintable(line.slice(4, 124)), count: this.#errCount }, 'display reported an error');
        this.#errLoggedAt = now;
        this.#errCount = 0;
      }
      return true;
    }
    if (!line.startsWith('HELLO ') && line !== 'HELLO') return false;
    this.#helloDone();
    const hello = parseHello(line, { cols: this.#info.cols, rows: this.#info.rows }, this.#logger);
    if (!hello) {
      this.#logger.warn({ line: toPrintable(line.slice(0, 80)) }, 'unrecognized HELLO line');
      return true;
    }
    if (hello.version !== 1) {
      this.#logger.error(
        { version: hello.version },
        `display speaks pinpad/${hello.version}, this host speaks pinpad/1: treating it as a plain text display (update pinauthd or the firmware)`,
      );
      this.#fallback = new TextDisplay({ write: this.#write, cols: hello.cols, rows: hello.rows, logger: this.#logger, now: this.#now });
      if (this.#view) void this.#fallback.show(this.#view);
      return true;
    }
    this.#fallback = null;
    this.#caps = hello.caps;
    this.#info = {
      kind: hello.kind,
      cols: hello.cols,
      rows: hello.rows,
      qr: hello.kind === 'graphic' && hello.caps.has('bitmap') && !!hello.pixels,
      cursor: hello.caps.has('cursor'),
      paging: true,
      backlight: hello.caps.has('backlight'),
      beep: hello.caps.has('beep') || hello.caps.has('led'),
      ...(hello.pixels ? { pixels: hello.pixels } : {}),
      ...(hello.firmware ? { firmware: hello.firmware } : {}),
    };
    this.#logger.info({ display: { ...this.#info, caps: [...hello.caps] } }, 'display handshake');
    // A HELLO while running means the device was reset: it shows nothing we drew.
    void this.redraw();
    return true;
  }

  show(view: View): Promise<void> {
    if (view !== this.#view && view.url !== this.#view?.url) this.#page = 0;
    // Beep once per screen that asks for it, not on every re-render of the same screen
    // (the daemon builds a new View for each key echo and after each reconnect).
    const toneKey = view.tone ? [view.state, view.tone, view.title, ...view.lines].join('\n') : null;
    const beep = toneKey !== null && toneKey !== this.#toneKey ? view.tone! : null;
    this.#toneKey = toneKey;
    this.#view = view;
    if (this.#fallback) return this.#fallback.show(view);
    return this.#enqueue(async () => {
      const drawn = await this.#render();
      if (beep && drawn) await this.#sendBeep(beep);
    });
  }

  page(delta: number): Promise<void> {
    if (this.#fallback) return this.#fallback.page(delta);
    if (!this.#view?.url) return this.#queue;
    this.#page += delta;
    return this.#enqueue(() => this.#render());
  }

  redraw(): Promise<void> {
    if (this.#fallback) return this.#fallback.redraw();
    // What the device shows is unknown from now on, whether or not we may draw yet.
    this.#model = null;
    this.#led = null;
    if (this.#redrawQueued) return this.#queue;
    this.#redrawQueued = true;
    return this.#enqueue(async () => {
      this.#redrawQueued = false;
      this.#model = null;
      this.#led = null;
      await this.#render();
    });
  }

  /** The port closed: whatever comes next starts with a `?` again. */
  detached(): void {
    this.#helloDone();
    this.#model = null;
    this.#led = null;
  }

  #enqueue(task: () => Promise<unknown>): Promise<void> {
    this.#queue = this.#queue.then(async () => void (await task())).catch((err: unknown) => {
      // The device went away mid-frame: we no longer know what it shows.
      this.#model = null;
      this.#logger.debug({ err: (err as Error).message }, 'display write failed');
    });
    return this.#queue;
  }

  async #send(lines: string[]): Promise<void> {
    if (lines.length === 0) return;
    await this.#write(lines.map((l) => l + '\n').join(''));
  }

  async #sendBeep(tone: Tone): Promise<void> {
    if (tone !== 'info' && this.#caps.has('beep')) await this.#send([tone === 'ok' ? 'BEEP OK' : 'BEEP ERR']);
  }

  /** Page count in QR mode: page 0 is the QR code, the rest the URL as text. */
  async #plan(view: View): Promise<Planned> {
    const grid = { cols: this.#info.cols, rows: this.#info.rows };
    const now = this.#now();
    const textFrame = (page: number): Frame => layout(view, grid, { page, now });
    const cursorOf = (f: Frame, col0 = 0): string =>
      this.#caps.has('cursor') && f.cursor ? `${f.cursor.col + col0} ${f.cursor.row}` : 'OFF';

    const px = this.#info.pixels;
    if (this.#info.qr && px && view.url) {
      const textPages = textFrame(0).pages;
      const pages = 1 + textPages;
      this.#page = ((this.#page % pages) + pages) % pages;
      if (this.#page > 0) {
        const f = textFrame(this.#page - 1);
        const rows = f.rows.slice();
        // Counted with the QR page; a notice page keeps its own first row.
        if (!f.notice) rows[0] = pageHeader(view.title, grid.cols, this.#page, pages);
        return { layoutKey: 'text', rows, textCol: 0, textCols: grid.cols, qr: null, cursor: cursorOf(f) };
      }
      const bitmap = await this.#qrFor(view.url, px);
      if (bitmap) {
        const charWidth = Math.max(1, Math.floor(px.width / grid.cols));
        const textCol = Math.min(grid.cols, Math.ceil(bitmap.width / charWidth) + 1);
        const textCols = grid.cols - textCol;
        const side =
          textCols >= 6
            ? layout({ ...view, url: undefined, lines: view.lines }, { cols: textCols, rows: grid.rows }, { now })
            : { rows: new Array<string>(grid.rows).fill(''), cursor: undefined, page: 0, pages: 0 };
        if (textCols >= 6 && textPages > 0) {
          // Tell the person the URL can also be read as text.
          const hint = [`#=URL as text 1/${pages}`, `#=URL text 1/${pages}`, `#=text 1/${pages}`].find((h) => h.length <= textCols);
          const free = side.rows.lastIndexOf('');
          if (free > 0 && hint) side.rows[free] = hint;
        }
        const y = Math.max(0, Math.floor((px.height - bitmap.height) / 2));
        return {
          layoutKey: `qr:${textCol}`,
          rows: side.rows.map((r) => r.padEnd(textCols)),
          textCol,
          textCols,
          qr: { key: `${view.url}@0,${y}`, bitmap, x: 0, y },
          cursor: cursorOf(side as Frame, textCol),
        };
      }
    }
    const f = textFrame(this.#page);
    this.#page = f.page;
    return { layoutKey: 'text', rows: f.rows, textCol: 0, textCols: grid.cols, qr: null, cursor: cursorOf(f) };
  }

  async #qrFor(url: string, px: { width: number; height: number }): Promise<Bitmap | null> {
    const key = `${url}|${px.width}x${px.height}`;
    if (this.#qrCache?.key !== key) {
      const box = { width: Math.min(px.width, px.height), height: px.height };
      this.#qrCache = { key, bitmap: await qrBitmap(url, box, { maxScale: MAX_QR_SCALE }) };
      if (!this.#qrCache.bitmap) this.#logger.info({ px }, 'URL too long for a QR code on this display; showing text');
    }
    return this.#qrCache.bitmap;
  }

  /** Bring the device up to date with the current view; false when nothing may be drawn yet. */
  async #render(): Promise<boolean> {
    const view = this.#view;
    if (!view || this.#awaitingHello) return false;
    const plan = await this.#plan(view);
    const out: string[] = [];
    let model = this.#model;
    if (!model || model.layoutKey !== plan.layoutKey || model.rows.length !== plan.rows.length) {
      out.push('CLR');
      if (!this.#model && this.#caps.has('backlight')) out.push('BL ON');
      model = { layoutKey: plan.layoutKey, rows: plan.rows.map(() => (plan.textCol === 0 ? '' : ' '.repeat(plan.textCols))), qrKey: null, cursor: this.#caps.has('cursor') ? '?' : 'OFF' };
    }
    if (plan.qr && model.qrKey !== plan.qr.key) out.push(...bmpBands(plan.qr.bitmap, plan.qr.x, plan.qr.y));
    const shown = model.rows;
    const updates = plan.rows.flatMap((row, r) => (shown[r] === row ? [] : [rowUpdate(r, shown[r] ?? '', row, plan.textCol)]));
    // A screen that blanks most of what was there ("Checking PIN...") is cheaper as CLR and
    // its few rows than as a row-by-row update.
    const fresh = ['CLR', ...plan.rows.flatMap((row, r) => (row.length > 0 ? [`ROW ${r} ${row}`] : []))];
    const bytes = (cmds: string[]) => cmds.reduce((n, c) => n + c.length + 1, 0);
    if (plan.textCol === 0 && !plan.qr && !out.includes('CLR') && bytes(fresh) < bytes(updates)) {
      out.push(...fresh);
      // CLR sends the cursor home: a cursor position must be sent again.
      if (model.cursor !== 'OFF') model = { ...model, cursor: '?' };
    } else out.push(...updates);
    if (plan.cursor !== model.cursor) out.push(plan.cursor === 'OFF' ? 'CUR OFF' : `CUR ${plan.cursor}`);
    // The LED shows the current screen's tone: green, red, or off for a plain screen.
    if (this.#caps.has('led')) {
      const led = view.tone === 'ok' ? 'OK' : view.tone === 'error' ? 'ERR' : 'OFF';
      if (led !== this.#led) out.push(`LED ${led}`);
      this.#led = led;
    }
    // Update the model first: if the write fails, #enqueue forgets the model entirely.
    this.#model = { layoutKey: plan.layoutKey, rows: plan.rows.slice(), qrKey: plan.qr?.key ?? null, cursor: plan.cursor };
    await this.#send(out);
    return true;
  }
}

/**
 * The cheapest command that turns row `r` from `before` into `after`: the whole row (`ROW`,
 * or `AT` from the text column beside a QR code), or just the span of characters that
 * changed (`AT`), which is what a digit echo or a countdown tick needs at 9600 baud.
 */
export function rowUpdate(r: number, before: string, after: string, textCol: number): string {
  const whole = textCol === 0 ? (after.length > 0 ? `ROW ${r} ${after}` : `ROW ${r}`) : `AT ${textCol} ${r} ${after}`;
  const width = Math.max(before.length, after.length);
  const a = before.padEnd(width);
  const b = after.padEnd(width);
  let first = 0;
  while (first < width && a[first] === b[first]) first++;
  let last = width - 1;
  while (last > first && a[last] === b[last]) last--;
  const span = `AT ${textCol + first} ${r} ${b.slice(first, last + 1)}`;
  return span.length < whole.length ? span : whole;
}
