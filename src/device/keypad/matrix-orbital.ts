/**
 * The keypad of a Matrix Orbital LK module, on the display's own serial line: with "auto
 * transmit key presses" on (FE 41, the power-up default) the module sends one byte per key
 * press, the code set for that row and column in the module (LK204-25 manual, "Keypad
 * Interface"). keypad.keymap says which key each code is. Pure: no I/O.
 */

/**
 * Sent when the line opens: auto transmit key presses on (FE 41), auto repeat off (FE 60: one
 * code per press, no key-up codes), then drop presses buffered from before (FE 45).
 */
export const LK_KEYPAD_SETUP = Buffer.from([0xfe, 0x41, 0xfe, 0x60, 0xfe, 0x45]);

export interface LkKeysOptions {
  /** Module key code (one printable ASCII character) -> keypad key (config keypad.keymap). */
  keymap: Readonly<Record<string, string>>;
  onKey: (key: string) => void;
  onNoise?: (reason: string) => void;
}

export class LkKeys {
  readonly #byCode = new Map<number, string>();
  readonly #onKey: (key: string) => void;
  readonly #onNoise: (reason: string) => void;

  constructor(opts: LkKeysOptions) {
    for (const [code, key] of Object.entries(opts.keymap)) this.#byCode.set(code.charCodeAt(0), key);
    this.#onKey = opts.onKey;
    this.#onNoise = opts.onNoise ?? (() => {});
  }

  push(chunk: Buffer): void {
    for (const byte of chunk) {
      const key = this.#byCode.get(byte);
      if (key !== undefined) this.#onKey(key);
      else this.#onNoise('key code not in keypad.keymap');
    }
  }

  end(): void {}
}
