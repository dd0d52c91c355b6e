/**
 * The device as the daemon sees it: one display and one keypad, on one port or two, that
 * stay usable across unplugs. The session owns reconnecting (serialport has none): when a
 * port vanishes or is missing at start it keeps the last view, logs the actionable error
 * once per outage, reopens with capped exponential backoff and redraws everything.
 */
import { EventEmitter } from 'node:events';
import { markStartup } from '../startup-trace.js';
import type { Logger } from 'pino';
import type { DisplayConfig, KeypadConfig, PinFormat, SerialSettings } from '../config/types.js';
import { PinauthError, toPinauthError } from '../errors.js';
import { createTransport } from '../transport/index.js';
import type { Transport } from '../transport/types.js';
import { createDisplay } from './display/index.js';
import type { DeviceWriter } from './display/frame-display.js';
import { msUntilCountdownChanges } from './display/layout.js';
import { EvdevKeys } from './keypad/evdev.js';
import { createKeypad } from './keypad/keys.js';
import { LineSplitter } from './keypad/lines.js';
import { LK_KEYPAD_SETUP, LkKeys } from './keypad/matrix-orbital.js';
import type { Display, DisplayInfo, Keypad, KeypadContext, KeypadEvent, View } from './types.js';

/** What a port's bytes go through: lines, an LK's key bytes, or input events. */
interface PortInput {
  push(chunk: Buffer): void;
  end(): void;
}

export interface DeviceSessionEvents {
  key: [KeypadEvent];
  /** Every port is open (at start and after each reconnect). */
  connected: [];
  /** A port is gone or could not be opened; once per outage. Carries a PinauthError. */
  disconnected: [Error];
  /** The keypad's input ended for good (the console's stdin): no key will come any more. */
  input_closed: [];
  noise: [{ count: number; reason: string }];
}

export interface DeviceSessionOptions {
  display: DisplayConfig;
  keypad: KeypadConfig;
  pin: PinFormat;
  logger: Logger;
  /** serialport binding for device paths (MockBinding in tests). */
  binding?: unknown;
  /** Opens a port; `kind` 'input' is the evdev keypad's event device. */
  transportFactory?: (port: string, serial: SerialSettings, kind: 'serial' | 'input') => Transport;
  /** DaemonConfig.reconnect. */
  reconnect?: { initialMs: number; maxMs: number };
  /** Re-show a view with a countdown this often (ms). Default 1000. */
  tickMs?: number;
}

/** One port and what rides on it. */
interface Link {
  name: 'display' | 'keypad' | 'device';
  port: string;
  serial: SerialSettings;
  carriesDisplay: boolean;
  carriesKeypad: boolean;
  transport: Transport | null;
  input: PortInput | null;
  connected: boolean;
  attempt: number;
  inOutage: boolean;
  lastErrorCode: string | null;
  timer: NodeJS.Timeout | null;
}

export class DeviceSession extends EventEmitter<DeviceSessionEvents> {
  readonly display: Display;
  readonly keypad: Keypad;
  readonly #opts: DeviceSessionOptions;
  readonly #logger: Logger;
  readonly #links: Link[];
  readonly #factory: NonNullable<DeviceSessionOptions['transportFactory']>;
  readonly #reconnect: { initialMs: number; maxMs: number };
  #view: View | null = null;
  #ticker: NodeJS.Timeout | null = null;
  #started = false;
  #stopped = false;
  #wasConnected = false;
  /** Ignored input since the last summary in the log, by reason. */
  readonly #noise = new Map<string, number>();
  #noiseTimer: NodeJS.Timeout | null = null;
  #noiseLoggedAt = 0;

  constructor(opts: DeviceSessionOptions) {
    super();
    this.#opts = opts;
    this.#logger = opts.logger;
    this.#reconnect = opts.reconnect ?? { initialMs: 500, maxMs: 30_000 };
    this.#factory =
      opts.transportFactory ??
      ((port, serial, kind) => createTransport(port, serial, { logger: opts.logger, binding: opts.binding, ...(kind === 'input' ? { input: { grab: opts.keypad.grab } } : {}) }));

    const samePort = opts.keypad.port === null || opts.keypad.port === opts.display.port;
    const link = (name: Link['name'], port: string, serial: SerialSettings, display: boolean, keypad: boolean): Link => ({
      name, port, serial, carriesDisplay: display, carriesKeypad: keypad,
      transport: null, input: null, connected: false, attempt: 0, inOutage: false, lastErrorCode: null, timer: null,
    });
    this.#links = samePort
      ? [link('device', opts.display.port, opts.display.serial, true, true)]
      : [
          link('display', opts.display.port, opts.display.serial, true, false),
          link('keypad', opts.keypad.port!, opts.keypad.serial, false, true),
        ];
    const displayLink = this.#links.find((l) => l.carriesDisplay)!;
    const write: DeviceWriter = (data) => {
      const t = displayLink.transport;
      if (!t || !displayLink.connected) {
        return Promise.reject(new PinauthError('DEVICE_DISCONNECTED', `${displayLink.port} is not connected`));
      }
      return t.write(data);
    };
    this.display = createDisplay(opts.display, write, opts.logger.child({ module: 'display' }));

    this.keypad = createKeypad({ mode: opts.keypad.mode, pin: opts.pin, autoSubmit: opts.keypad.autoSubmit });
    this.keypad.on('key', (e) => this.emit('key', e));
    this.keypad.on('noise', (n) => this.emit('noise', n));
    this.on('noise', (n) => this.#countNoise(n.reason, n.count));
  }

  /**
   * Ignored keypad input is summed up in one warning (a wrong baud rate or delimiter shows
   * as a stream of it): the first a second after it starts, then at most once a minute.
   */
  #countNoise(reason: string, count: number): void {
    this.#noise.set(reason, (this.#noise.get(reason) ?? 0) + count);
    if (this.#noiseTimer || this.#stopped) return;
    const sinceLast = Date.now() - this.#noiseLoggedAt;
    this.#noiseTimer = setTimeout(() => this.#flushNoise(), sinceLast < 60_000 ? 60_000 - sinceLast : 1000);
    this.#noiseTimer.unref();
  }

  #flushNoise(): void {
    this.#noiseTimer = null;
    if (this.#noise.size === 0) return;
    const reasons = Object.fromEntries(this.#noise);
    const total = [...this.#noise.values()].reduce((a, b) => a + b, 0);
    this.#noise.clear();
    this.#noiseLoggedAt = Date.now();
    this.#logger.warn({ ignored: total, reasons }, 'keypad input ignored (wrong baud rate or delimiter if it keeps coming)');
  }

  /** Every port open. */
  get connected(): boolean {
    return this.#links.every((l) => l.connected);
  }

  get info(): DisplayInfo {
    return this.display.info;
  }

  /** Open the ports. Never throws for a missing device: it keeps retrying in the background. */
  async start(): Promise<void> {
    if (this.#started) return;
    this.#started = true;
    this.#logger.info({ display: { driver: this.#opts.display.driver, ...this.display.info }, keypad: this.#opts.keypad.driver }, 'device layer');
    await Promise.all(this.#links.map((l) => this.#open(l)));
  }

  show(view: View): Promise<void> {
    markStartup(view.url ? `show ${view.state} with the URL` : `show ${view.state}`);
    const again = view.countdown?.until === this.#view?.countdown?.until;
    this.#view = view;
    // A new deadline re-arms the timer; the same one (a digit typed) keeps it.
    if (!again || !this.#ticker) this.#setTicker(view);
    return this.display.show(view);
  }

  page(delta: number): Promise<void> {
    return this.display.page(delta);
  }

  setKeypadContext(ctx: KeypadContext): void {
    this.keypad.setContext(ctx);
  }

  /** Idempotent: stops retrying and closes every port. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#setTicker(null);
    if (this.#noiseTimer) clearTimeout(this.#noiseTimer);
    this.#noiseTimer = null;
    await Promise.all(
      this.#links.map(async (l) => {
        if (l.timer) clearTimeout(l.timer);
        l.timer = null;
        l.input?.end();
        l.input = null;
        const t = l.transport;
        l.transport = null;
        l.connected = false;
        if (t) await t.close().catch(() => {});
      }),
    );
  }

  /**
   * Redraw a view with a countdown when its text next changes (once a minute for most of a
   * wait, each second in the last minute); the display sends only what changed.
   */
  #setTicker(view: View | null): void {
    if (this.#ticker) clearTimeout(this.#ticker);
    this.#ticker = null;
    const countdown = view?.countdown;
    if (!countdown || this.#stopped) return;
    const delay = this.#opts.tickMs ?? msUntilCountdownChanges(countdown.until, Date.now());
    this.#ticker = setTimeout(() => {
      this.#ticker = null;
      const current = this.#view;
      if (!current?.countdown) return;
      void this.display.show(current);
      this.#setTicker(current);
    }, delay);
    this.#ticker.unref();
  }

  async #open(link: Link): Promise<void> {
    if (this.#stopped) return;
    let transport: Transport;
    const kind = link.carriesKeypad && !link.carriesDisplay && this.#opts.keypad.driver === 'evdev' ? 'input' : 'serial';
    try {
      transport = this.#factory(link.port, link.serial, kind);
      await transport.open();
    } catch (err) {
      this.#outage(link, toPinauthError(err));
      return;
    }
    if (this.#stopped) {
      await transport.close().catch(() => {});
      return;
    }
    const input = this.#inputFor(link);
    link.transport = transport;
    link.input = input;
    link.connected = true;
    link.attempt = 0;
    transport.on('data', (chunk) => input.push(chunk));
    let ended = false;
    const onEnded = (): void => {
      if (ended) return;
      ended = true;
      // A partial last line is counted as noise, never taken as a PIN.
      input.end();
      if (!link.carriesKeypad || this.#stopped) return;
      this.#logger.info({ port: transport.description }, 'keypad input ended');
      this.emit('input_closed');
    };
    transport.once('ended', onEnded);
    // Known at open (stdin at /dev/null): said now, before the daemon asks the provider for a
    // code nobody can type, not after a first read.
    if (transport.endedAtOpen) onEnded();
    transport.once('close', (err) => {
      input.end();
      if (link.transport !== transport) return;
      link.transport = null;
      link.input = null;
      link.connected = false;
      if (link.carriesDisplay) this.display.detached();
      if (this.#stopped || err === null) return;
      this.#outage(link, toPinauthError(err));
    });
    if (link.inOutage) this.#logger.info({ port: transport.description }, `${link.name} reconnected`);
    else this.#logger.info({ port: transport.description }, `${link.name} open`);
    link.inOutage = false;
    link.lastErrorCode = null;
    // A half-typed entry does not survive an outage (the keypad may have been power-cycled
    // with the display); reset() clears the echo too, so the screen shows what is held.
    if (link.carriesKeypad) {
      if (this.#opts.keypad.driver === 'matrix-orbital') void transport.write(LK_KEYPAD_SETUP).catch(() => {});
      this.keypad.reset();
    }
    // The device may have been reset or replaced: it is set up and sent the whole frame.
    if (link.carriesDisplay) this.display.attached();
    if (this.connected) {
      this.#wasConnected = true;
      this.emit('connected');
    }
  }

  /** How this port's bytes are read: by what rides on it. */
  #inputFor(link: Link): PortInput {
    const onNoise = (reason: string): void => void this.emit('noise', { count: 1, reason });
    const onKey = (key: string): void => this.keypad.press(key);
    const k = this.#opts.keypad;
    if (link.carriesKeypad && k.driver === 'evdev') return new EvdevKeys({ onKey, onNoise });
    if (link.carriesKeypad && k.driver === 'matrix-orbital') return new LkKeys({ keymap: k.keymap, onKey, onNoise });
    return new LineSplitter({
      delimiter: k.delimiter,
      maxLineBytes: k.maxLineBytes,
      onLine: (line) => this.#line(link, line),
      onNoise,
    });
  }

  #line(link: Link, line: string): void {
    if (link.carriesDisplay && this.display.handleLine(line)) return;
    if (link.carriesKeypad) this.keypad.line(line);
    else this.emit('noise', { count: 1, reason: 'unexpected line from the display port' });
  }

  #outage(link: Link, err: PinauthError): void {
    if (this.#stopped) return;
    // Once per outage; a changed cause while retrying (unplugged -> not found) is only debug.
    if (!link.inOutage) {
      link.inOutage = true;
      link.lastErrorCode = err.code;
      this.#logger.error({ port: link.port, ...err.toLog() }, `${link.name} unavailable; retrying`);
      this.emit('disconnected', err);
    } else if (link.lastErrorCode !== err.code) {
      link.lastErrorCode = err.code;
      this.#logger.debug({ port: link.port, ...err.toLog() }, `${link.name} still unavailable`);
    }
    const delay = Math.min(this.#reconnect.maxMs, this.#reconnect.initialMs * 2 ** Math.min(link.attempt, 30));
    link.attempt++;
    link.timer = setTimeout(() => {
      link.timer = null;
      void this.#open(link);
    }, delay);
  }

  /** For tests and diagnostics: whether every port has been open at least once. */
  get everConnected(): boolean {
    return this.#wasConnected;
  }
}
