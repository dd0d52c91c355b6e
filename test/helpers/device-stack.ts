/**
 * Extras for the device integration tests on top of test/helpers/stack.ts: a record of
 * every screen and every host command the simulator saw, URL paging helpers, a second
 * simulated port, and the daemon's resident memory.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { SimDevice, type SimCommand, type SimProfile } from '../../firmware-sim/device.js';
import { startPtySim, type PtySim } from '../../firmware-sim/pty.js';
import type { DaemonProcess, Stack } from './stack.js';

/** Every distinct screen the simulator showed, in order (a frame may be seen half-drawn). */
export class ScreenLog {
  readonly screens: string[] = [];
  readonly #on = (rows: string[]): void => {
    const s = rows.map((r) => r.trimEnd()).join('\n');
    if (this.screens[this.screens.length - 1] !== s) this.screens.push(s);
  };
  constructor(private readonly sim: SimDevice) {
    sim.on('screen', this.#on);
  }
  /** The first screen seen (from `from` on) that matches. */
  find(pred: (screen: string) => boolean, from = 0): string | undefined {
    return this.screens.slice(from).find(pred);
  }
  stop(): void {
    this.sim.off('screen', this.#on);
  }
}

/** Every host command the simulator parsed, with its size on the wire (line + LF). */
export class CommandLog {
  readonly commands: Array<SimCommand & { bytes: number }> = [];
  readonly #on = (c: SimCommand): void => {
    this.commands.push({ ...c, bytes: Buffer.byteLength(c.raw, 'latin1') + 1 });
  };
  constructor(private readonly sim: SimDevice) {
    sim.on('command', this.#on);
  }
  get mark(): number {
    return this.commands.length;
  }
  since(mark: number): Array<SimCommand & { bytes: number }> {
    return this.commands.slice(mark);
  }
  bytesSince(mark: number): number {
    return this.since(mark).reduce((n, c) => n + c.bytes, 0);
  }
  errors(): SimCommand[] {
    return this.commands.filter((c) => c.error !== undefined);
  }
  stop(): void {
    this.sim.off('command', this.#on);
  }
}

/** Press keys one after another (`'12*#'`), or named keys given as an array. */
export function press(sim: SimDevice, keys: string | string[]): void {
  for (const k of keys) sim.pressKey(k);
}

/** The page indicator `k/N` at the end of the title row, or null. */
export function pageIndicator(rows: string[]): { page: number; pages: number } | null {
  const m = /(\d+)\/(\d+)$/.exec(rows[0]!.trimEnd());
  return m ? { page: Number(m[1]), pages: Number(m[2]) } : null;
}

/** The 20x4 awaiting-PIN frame, complete: title, the first two URL chunks, the PIN row. */
export function awaitingPinFrame(url: string, entered: string): (rows: string[]) => boolean {
  const chunks = chunksOf(withoutScheme(url), 20);
  const pinRow = new RegExp(`^PIN: ${entered}_{${7 - entered.length}} \\d+[ms]$`);
  return (rows) =>
    rows[0]!.startsWith('Open link:') &&
    rows[1]!.trimEnd() === chunks[0] &&
    rows[2]!.trimEnd() === chunks[1] &&
    pinRow.test(rows[3]!.trimEnd());
}

/** The rows of an LCD page that carry URL text: row 1 on 2 rows; rows 1..rows-2 otherwise. */
export function urlRows(rows: string[]): string[] {
  const body = rows.length === 2 ? rows.slice(1, 2) : rows.slice(1, rows.length - 1);
  return body.map((r) => r.trimEnd()).filter((r) => r.length > 0);
}

/** The authorize URL as a character display shows it (no scheme). */
export function withoutScheme(url: string): string {
  return url.replace(/^[a-z][a-z0-9+.-]*:\/\//i, '');
}

/** The URL in fixed chunks of `cols`, as the pages must show them. */
export function chunksOf(text: string, cols: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < text.length; i += cols) out.push(text.slice(i, i + cols));
  return out;
}

/** The daemon's resident set size in kB, from /proc/<pid>/status. */
export async function rssKb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(status);
  if (!m) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]);
}

/** How many times the daemon logged exactly this message. */
export function countLogs(d: DaemonProcess, msg: string): number {
  return d.logs.filter((l) => l.msg === msg).length;
}

/** A second simulated device on its own PTY, in the stack's directory. */
export async function secondPtyDevice(
  stack: { dir: string } | string,
  opts: { profile: SimProfile; keypadMode: 'keys' | 'line' },
): Promise<{ sim: SimDevice; link: PtySim }> {
  const dir = typeof stack === 'string' ? stack : path.join(stack.dir, 'keypad');
  const sim = new SimDevice({ profile: opts.profile, keypadMode: opts.keypadMode, delimiter: 'LF' });
  const link = await startPtySim({ device: sim, dir });
  return { sim, link };
}

/** Wait until the stack's screen satisfies `pred`, with a short timeout (for per-key steps). */
export function screenAfterKey(s: Stack, pred: (rows: string[]) => boolean, what: string, timeoutMs = 5000): Promise<string[]> {
  return s.waitForScreen(pred, timeoutMs, what);
}
