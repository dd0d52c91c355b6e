/**
 * The device layer's contract with the daemon: the daemon says *what* to show (a View)
 * and hears *what the person did* (KeypadEvents); the drivers decide how that looks on a
 * 16x2 LCD, a 20x4, a 128x64 OLED or a terminal, and what bytes go on the wire.
 */
import type { EventEmitter } from 'node:events';

export type Tone = 'info' | 'ok' | 'error';

export interface View {
  /** Daemon state name, for logs and tests (e.g. 'connecting', 'awaiting_pin'). */
  state: string;
  /** Short heading, e.g. 'Authorize device'. */
  title: string;
  /** Body text; the driver wraps and truncates it to the screen. */
  lines: string[];
  /** The authorize URL: paged on character displays, drawn as a QR code where possible. */
  url?: string;
  /** PIN entry echo: the digits typed so far and how many are expected. */
  pin?: { entered: string; digits: number };
  /** A deadline to count down to, with a label ('expires', 'retry in'). ms since epoch. */
  countdown?: { until: number; label: string };
  /** Feedback: beep/LED where the device has them. */
  tone?: Tone;
}

/**
 * What a display can do, as its driver declares it (a pinpad device after its HELLO). The
 * session and the daemon go by this, never by which driver it is.
 */
export interface DisplayInfo {
  /** 'lcd' (character), 'graphic' (pixels + text grid), 'text' (terminal/serial text). */
  kind: 'lcd' | 'graphic' | 'text';
  /** The text grid; rows 0 for a scrolling terminal. */
  cols: number;
  rows: number;
  /** Pixel size for graphic displays. */
  pixels?: { width: number; height: number };
  /** Whether a QR code can be drawn. */
  qr: boolean;
  /** A cursor can mark where the next PIN digit goes. */
  cursor: boolean;
  /** The URL is shown a page at a time (keys move through the pages). */
  paging: boolean;
  /** The driver switches the backlight on when it draws. */
  backlight: boolean;
  /** The device can beep (and show an LED) for a screen's tone. */
  beep: boolean;
  /** Firmware identity from the handshake, if any. */
  firmware?: string;
}

export interface Display {
  readonly info: DisplayInfo;
  /**
   * The display's port just opened (at start and after every reconnect): the device may
   * have been reset or replaced, so set it up and send the whole frame.
   */
  attached(): void;
  /** The display's port closed: what the device shows is unknown until attached() again. */
  detached(): void;
  /**
   * A line that came from the display's port. True when it belonged to the display's own
   * protocol (a pinpad's HELLO or ERR); false for anything else (keypad input, noise).
   */
  handleLine(line: string): boolean;
  /** Show a view; sends only what changed since the last frame. */
  show(view: View): Promise<void>;
  /** Move through the URL pages (keypad keys); no-op when the view has no URL. */
  page(delta: number): Promise<void>;
  /** Forget what the device shows and send the whole frame again (after reconnect/reset). */
  redraw(): Promise<void>;
}

export type KeypadEvent =
  /** The digits entered so far changed (keys mode echo). */
  | { type: 'entry'; entered: string }
  /** A complete PIN, validated against the provider's format (digits only, right length). */
  | { type: 'pin'; pin: string }
  /** An entry that cannot be a PIN: the wrong number of digits, or not digits at all (letters). */
  | { type: 'invalid'; reason: string; mistake: 'length' | 'not_digits' }
  /** Move through URL pages. */
  | { type: 'page'; delta: number }
  /** Ask for a fresh request token / URL. */
  | { type: 'fresh' }
  /** Re-authorize on purpose (forget the account and start the PIN flow). */
  | { type: 'reauth' }
  /** Confirm/cancel a question on screen. */
  | { type: 'confirm'; yes: boolean };

/** What the keypad is being used for right now. */
export type KeypadContext =
  | { kind: 'idle' }
  | { kind: 'pin'; digits: number }
  | { kind: 'authorized' }
  | { kind: 'confirm' };

export interface KeypadEvents {
  key: [KeypadEvent];
  /** Input that was ignored (non-digits, control bytes, invalid UTF-8, overlong lines). */
  noise: [{ count: number; reason: string }];
}

export interface Keypad extends EventEmitter<KeypadEvents> {
  /**
   * Feed one complete line from the device (already split by the capped readline parser
   * and stripped of its delimiter). Lines that belong to the display protocol never get here.
   */
  line(text: string): void;
  /**
   * One key press from a keypad that sends keys, not lines (an LK module's key byte, a USB
   * keypad's key): '0'-'9', '*', '#', 'A'-'D', with keys-mode meaning whatever the mode.
   */
  press(key: string): void;
  /** The daemon's state decides what keys mean (paging, PIN entry, reauth confirm). */
  setContext(context: KeypadContext): void;
  /**
   * Drop any partial entry (after a reconnect). While a PIN is being entered, an 'entry'
   * event with '' follows, so the echo on the display matches what the keypad holds.
   */
  reset(): void;
  /** Total noise seen. */
  readonly noiseCount: number;
}
