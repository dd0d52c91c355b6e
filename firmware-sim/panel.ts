/**
 * What the PTY and TCP links, the TUI and the demo need of a simulated device: bytes in,
 * bytes out, a screen to read and keys to press. The pinpad simulator (device.ts) and the
 * models of off-the-shelf displays (matrix-orbital.ts, serlcd.ts) all have this shape.
 */
import type { EventEmitter } from 'node:events';

export interface SimPanelCommand {
  raw: string;
  name: string;
  error?: string;
}

export interface SimPanelEvents {
  output: [Buffer];
  screen: [string[]];
  command: [SimPanelCommand];
}

export interface SimPanel extends EventEmitter<SimPanelEvents> {
  readonly profile: string;
  readonly kind: 'lcd' | 'graphic' | 'text';
  readonly cols: number;
  readonly rows: number;
  /** What the status line reports: backlight, beep, led, cursor, bitmap. */
  readonly caps: readonly string[];
  /** 'keys': a key press goes out at once; 'line': keys are edited into a line; 'none': no keypad. */
  readonly keypadMode: 'keys' | 'line' | 'none';
  readonly backlight: boolean;
  readonly led: string;
  readonly beeps: readonly string[];
  readonly cursor: { col: number; row: number; visible: boolean };
  /** Bytes from the host, in any chunking. */
  feed(chunk: Buffer | Uint8Array | string): void;
  /** A power cycle. */
  reset(): void;
  /** The rows as shown, each exactly `cols` characters. */
  screenText(): string[];
  /** The framebuffer (empty unless kind is 'graphic'). */
  pixels(): { width: number; height: number; data: Uint8Array };
  pressKey(key: string): void;
  typeLine(text: string): void;
}
