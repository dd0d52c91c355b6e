/**
 * A USB numeric keypad through Linux input events (/dev/input/by-id/*-event-kbd): bytes from
 * the event device in, keypad keys ('0'-'9', '*', '#', 'A'-'D') out. Pure: no I/O.
 *
 * Each read of an event device returns whole `struct input_event`s (linux/input.h):
 *
 *     struct timeval time;  (or __kernel_ulong_t __sec, __usec)
 *     __u16 type; __u16 code; __s32 value;
 *
 * Its size follows the reading process's `long`: 24 bytes for a 64-bit process, 16 for a
 * 32-bit one. A 32-bit program built with a 64-bit time_t does not change that: for it the
 * header swaps `struct timeval` for two `__kernel_ulong_t` fields (still 32 bits each), so
 * the kernel's 16-byte layout stays. The size is therefore a property of the Node binary
 * (process.arch), and the type/code/value fields are always the last 8 bytes.
 */
import os from 'node:os';

export const EV_SYN = 0x00;
export const EV_KEY = 0x01;
export const EV_MSC = 0x04;

/** Key codes from linux/input-event-codes.h that a numeric keypad sends. */
export const KEY = {
  ESC: 1,
  '1': 2, '2': 3, '3': 4, '4': 5, '5': 6, '6': 7, '7': 8, '8': 9, '9': 10, '0': 11,
  BACKSPACE: 14,
  ENTER: 28,
  KPASTERISK: 55,
  NUMLOCK: 69,
  KP7: 71, KP8: 72, KP9: 73, KPMINUS: 74, KP4: 75, KP5: 76, KP6: 77, KPPLUS: 78,
  KP1: 79, KP2: 80, KP3: 81, KP0: 82, KPDOT: 83,
  KPENTER: 96,
  KPSLASH: 98,
  HOME: 102, UP: 103, PAGEUP: 104, LEFT: 105, RIGHT: 106, END: 107, DOWN: 108, PAGEDOWN: 109,
  INSERT: 110, DELETE: 111,
} as const;

/**
 * What each key means on pinauthd's keypad (keys-mode meaning, docs/hardware.md). The
 * navigation keys are what many keypads send for their digits while their own NumLock is off.
 */
export const EVDEV_KEYMAP: ReadonlyMap<number, string> = new Map<number, string>([
  [KEY.KP0, '0'], [KEY.KP1, '1'], [KEY.KP2, '2'], [KEY.KP3, '3'], [KEY.KP4, '4'],
  [KEY.KP5, '5'], [KEY.KP6, '6'], [KEY.KP7, '7'], [KEY.KP8, '8'], [KEY.KP9, '9'],
  [KEY['0'], '0'], [KEY['1'], '1'], [KEY['2'], '2'], [KEY['3'], '3'], [KEY['4'], '4'],
  [KEY['5'], '5'], [KEY['6'], '6'], [KEY['7'], '7'], [KEY['8'], '8'], [KEY['9'], '9'],
  [KEY.INSERT, '0'], [KEY.END, '1'], [KEY.DOWN, '2'], [KEY.PAGEDOWN, '3'], [KEY.LEFT, '4'],
  [KEY.RIGHT, '6'], [KEY.HOME, '7'], [KEY.UP, '8'], [KEY.PAGEUP, '9'],
  // Enter submits, like '#'
  [KEY.KPENTER, '#'], [KEY.ENTER, '#'],
  // '*' and Backspace delete the last digit (or page back when there is none)
  [KEY.KPASTERISK, '*'], [KEY.BACKSPACE, '*'],
  // '-' and '+' page through the URL
  [KEY.KPMINUS, 'A'], [KEY.KPPLUS, 'B'],
  // '.' (Del with NumLock off) and Esc clear the entry
  [KEY.KPDOT, 'C'], [KEY.DELETE, 'C'], [KEY.ESC, 'C'],
]);

/** The `struct input_event` size for this Node binary: 24 on a 64-bit, 16 on a 32-bit one. */
export function inputEventSize(arch: string = process.arch): 16 | 24 {
  return ['arm', 'ia32', 'mips', 'mipsel', 'ppc'].includes(arch) ? 16 : 24;
}

export interface InputEvent {
  type: number;
  code: number;
  value: number;
}

export interface EvdevKeysOptions {
  onKey: (key: string) => void;
  onNoise?: (reason: string) => void;
  /** Default: inputEventSize(). */
  eventSize?: 16 | 24;
  /** Default: this machine's (event devices use the CPU's byte order). */
  endianness?: 'LE' | 'BE';
}

/** Input events in, keypad keys out. Build one per open of the device. */
export class EvdevKeys {
  readonly #size: number;
  readonly #le: boolean;
  readonly #onKey: (key: string) => void;
  readonly #onNoise: (reason: string) => void;
  /** The head of an event split across reads (a pipe standing in for the device can split). */
  #partial: Buffer = Buffer.alloc(0);

  constructor(opts: EvdevKeysOptions) {
    this.#size = opts.eventSize ?? inputEventSize();
    this.#le = (opts.endianness ?? os.endianness()) === 'LE';
    this.#onKey = opts.onKey;
    this.#onNoise = opts.onNoise ?? (() => {});
  }

  push(chunk: Buffer): void {
    const data = this.#partial.length > 0 ? Buffer.concat([this.#partial, chunk]) : chunk;
    const whole = data.length - (data.length % this.#size);
    for (let at = 0; at < whole; at += this.#size) this.#event(this.#decode(data, at));
    // Less than one event: kept, and never more than that.
    this.#partial = Buffer.from(data.subarray(whole));
  }

  end(): void {
    if (this.#partial.length > 0) this.#onNoise('partial input event at close');
    this.#partial = Buffer.alloc(0);
  }

  #decode(data: Buffer, at: number): InputEvent {
    const tail = at + this.#size - 8;
    return this.#le
      ? { type: data.readUInt16LE(tail), code: data.readUInt16LE(tail + 2), value: data.readInt32LE(tail + 4) }
      : { type: data.readUInt16BE(tail), code: data.readUInt16BE(tail + 2), value: data.readInt32BE(tail + 4) };
  }

  #event(e: InputEvent): void {
    // EV_SYN, EV_MSC (the scan code before each key), EV_LED: bookkeeping, not keys.
    if (e.type !== EV_KEY) return;
    // 1 press, 2 auto-repeat, 0 release: a PIN digit counts once however long it is held.
    if (e.value !== 1) return;
    // Some keypads wrap every key in NumLock presses to force their own NumLock on.
    if (e.code === KEY.NUMLOCK) return;
    const key = EVDEV_KEYMAP.get(e.code);
    if (key === undefined) this.#onNoise('key not used on the keypad');
    else this.#onKey(key);
  }
}
