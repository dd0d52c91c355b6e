/**
 * Keypad input -> KeypadEvents, as docs/protocol.md "Keypad input" describes. Pure state
 * machine: no I/O, fed one line at a time (a pinpad or a serial keypad) or one key at a time
 * (an LK module's key bytes, a USB keypad's events, decoded beside this file). A 'pin' event only ever carries exactly
 * pin.digits ASCII digits, and the entry never grows past that.
 */
import { EventEmitter } from 'node:events';
import type { KeypadMode, PinFormat } from '../../config/types.js';
import type { Keypad, KeypadContext, KeypadEvent, KeypadEvents } from '../types.js';

export interface KeypadOptions {
  mode: KeypadMode;
  pin: PinFormat;
  autoSubmit: boolean;
}

/** Typed, then '#' (or as a line): a fresh code while waiting for a PIN. */
export const FRESH_SEQUENCE = '00';
/** Typed, then '#' (or as a line): re-authorize while authorized. */
export const REAUTH_SEQUENCE = '0000';

const DIGITS_ONLY = /^[0-9]+$/;
/** A line-mode entry: digits, optionally separated by single spaces or dashes. */
const DIGITS_WITH_SEPARATORS = /^[0-9]+(?:[ -][0-9]+)*$/;

class KeypadImpl extends EventEmitter<KeypadEvents> implements Keypad {
  readonly #mode: KeypadMode;
  readonly #digits: number;
  readonly #autoSubmit: boolean;
  #context: KeypadContext = { kind: 'idle' };
  #entry = '';
  #noise = 0;

  constructor(opts: KeypadOptions) {
    super();
    if (!Number.isInteger(opts.pin.digits) || opts.pin.digits < 1) {
      throw new RangeError('pin.digits must be a positive integer');
    }
    this.#mode = opts.mode;
    this.#digits = opts.pin.digits;
    this.#autoSubmit = opts.autoSubmit;
  }

  get noiseCount(): number {
    return this.#noise;
  }

  setContext(context: KeypadContext): void {
    this.#context = context;
    this.#entry = '';
  }

  reset(): void {
    const had = this.#entry.length > 0;
    this.#entry = '';
    if (had && this.#context.kind === 'pin') this.#emitKey({ type: 'entry', entered: '' });
  }

  line(text: string): void {
    if (this.#mode === 'keys') this.#key(text.trim());
    else this.#wholeLine(text.trim());
  }

  press(key: string): void {
    this.#key(key);
  }

  #emitKey(event: KeypadEvent): void {
    this.emit('key', event);
  }

  #noiseSeen(reason: string): void {
    this.#noise++;
    this.emit('noise', { count: 1, reason });
  }

  /** Longest entry that means something in the current context. */
  #entryCap(): number {
    switch (this.#context.kind) {
      case 'pin':
        return this.#digits;
      case 'authorized':
        return REAUTH_SEQUENCE.length;
      default:
        return 0;
    }
  }

  #key(key: string): void {
    const ctx = this.#context.kind;
    if (ctx === 'confirm') {
      if (key === '#') this.#emitKey({ type: 'confirm', yes: true });
      else if (key === '*') this.#emitKey({ type: 'confirm', yes: false });
      else this.#noiseSeen('key not used while confirming');
      return;
    }
    if (key.length === 1 && key >= '0' && key <= '9') {
      if (this.#entry.length >= this.#entryCap()) {
        this.#noiseSeen(this.#entryCap() === 0 ? 'digit not expected now' : 'entry is full');
        return;
      }
      this.#entry += key;
      if (ctx === 'pin') {
        this.#emitKey({ type: 'entry', entered: this.#entry });
        if (this.#autoSubmit && this.#entry.length === this.#digits) this.#submit();
      }
      return;
    }
    switch (key.toUpperCase()) {
      case '*':
        if (this.#entry.length > 0) {
          this.#entry = this.#entry.slice(0, -1);
          if (ctx === 'pin') this.#emitKey({ type: 'entry', entered: this.#entry });
        } else {
          this.#emitKey({ type: 'page', delta: -1 });
        }
        return;
      case '#':
        if (this.#entry.length > 0) this.#submit();
        else this.#emitKey({ type: 'page', delta: 1 });
        return;
      case 'A':
        this.#emitKey({ type: 'page', delta: -1 });
        return;
      case 'B':
        this.#emitKey({ type: 'page', delta: 1 });
        return;
      case 'C':
        if (this.#entry.length > 0) {
          this.#entry = '';
          if (ctx === 'pin') this.#emitKey({ type: 'entry', entered: '' });
        }
        return;
      case 'D':
        if (ctx === 'pin') this.#emitKey({ type: 'fresh' });
        else if (ctx === 'authorized') this.#emitKey({ type: 'reauth' });
        else this.#noiseSeen('key not used now');
        this.#entry = '';
        return;
      default:
        this.#noiseSeen(key.length === 0 ? 'empty key line' : 'unknown key');
    }
  }

  /** Keys mode '#' (or autoSubmit): the entry is complete. */
  #submit(): void {
    const entry = this.#entry;
    this.#entry = '';
    if (this.#context.kind === 'pin' && entry.length < this.#digits) {
      // Clear the echo before reporting, so the display shows an empty entry again.
      this.#emitKey({ type: 'entry', entered: '' });
    }
    this.#digitsEntered(entry);
  }

  /** A complete entry of digits, from '#' in keys mode or a whole line in line mode. */
  #digitsEntered(entry: string): void {
    switch (this.#context.kind) {
      case 'pin':
        if (entry === FRESH_SEQUENCE) this.#emitKey({ type: 'fresh' });
        else if (entry.length === this.#digits && DIGITS_ONLY.test(entry)) this.#emitKey({ type: 'pin', pin: entry });
        else this.#emitKey({ type: 'invalid', reason: `the PIN has ${this.#digits} digits, got ${entry.length}`, mistake: 'length' });
        return;
      case 'authorized':
        if (entry === REAUTH_SEQUENCE) this.#emitKey({ type: 'reauth' });
        else this.#noiseSeen('digits not expected now');
        return;
      default:
        this.#noiseSeen('digits not expected now');
    }
  }

  #wholeLine(line: string): void {
    const ctx = this.#context.kind;
    if (ctx === 'confirm') {
      if (line === '#') this.#emitKey({ type: 'confirm', yes: true });
      else if (line === '*') this.#emitKey({ type: 'confirm', yes: false });
      else this.#noiseSeen('line not used while confirming');
      return;
    }
    if (line === '' || line === '#') return this.#emitKey({ type: 'page', delta: 1 });
    if (line === '*') return this.#emitKey({ type: 'page', delta: -1 });
    // A keypad that "types" an entry may end it with '#'.
    const body = line.length > 1 && line.endsWith('#') ? line.slice(0, -1).trimEnd() : line;
    if (DIGITS_WITH_SEPARATORS.test(body)) {
      const digits = body.replace(/[ -]/g, '');
      // Never let a long line reach the PIN path as anything but its length.
      this.#digitsEntered(digits.length > 64 ? digits.slice(0, 65) : digits);
      return;
    }
    if (body.length === 1) {
      const key = body.toUpperCase();
      if (key === 'A' || key === 'B' || key === 'D') return this.#key(key);
    }
    // A person typing letters where the PIN goes (a terminal, a keyboard keypad): tell them,
    // rather than count it as line noise. Control bytes and binary junk stay noise.
    if (ctx === 'pin' && /[A-Za-z]/.test(body) && /^[\x20-\x7e]+$/.test(body)) {
      return this.#emitKey({ type: 'invalid', reason: 'the PIN is digits only, got letters', mistake: 'not_digits' });
    }
    this.#noiseSeen('not a keypad entry');
  }
}

export function createKeypad(opts: KeypadOptions): Keypad {
  return new KeypadImpl(opts);
}
