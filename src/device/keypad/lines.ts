/**
 * Device lines: bytes from a port in, complete lines out. The splitting is done by
 * @serialport/parser-readline, but that parser has no buffer cap, keeps the CR of CRLF and
 * pushes a partial last line when it ends, so a gate in front of it caps every line
 * BEFORE its bytes reach the parser, and only lines that ended with a real delimiter are
 * ever emitted. Build a new LineSplitter per connection.
 */
import { ReadlineParser } from '@serialport/parser-readline';
import type { Delimiter } from '../../config/types.js';

export interface LineSplitterOptions {
  delimiter: Delimiter;
  /** Longest line accepted (without its delimiter); longer lines are dropped as noise. */
  maxLineBytes: number;
  onLine: (line: string) => void;
  onNoise?: (reason: string) => void;
}

const LF = 0x0a;
const CR = 0x0d;
const utf8 = new TextDecoder('utf-8', { fatal: true });

export class LineSplitter {
  readonly #parser: ReadlineParser;
  readonly #delimiterByte: number;
  readonly #limit: number;
  readonly #maxLineBytes: number;
  readonly #onLine: (line: string) => void;
  readonly #onNoise: (reason: string) => void;
  /**
   * One entry per delimiter handed to the parser, in order: keep the line, drop it (the
   * head of an overlong line), or it is an empty line (the parser never emits empty
   * chunks, so an empty line goes in as a placeholder byte and comes out as '').
   */
  readonly #pending: Array<'keep' | 'drop' | 'empty'> = [];
  /** Bytes of the current line already handed to the parser. */
  #lineBytes = 0;
  /** Inside an overlong line: drop bytes until the next delimiter. */
  #discarding = false;
  #ended = false;

  constructor(opts: LineSplitterOptions) {
    // CRLF splits at LF and trims the CR, so a device that sends bare LF still works.
    this.#delimiterByte = opts.delimiter === 'CR' ? CR : LF;
    // One extra byte for the stray CR (or LF) trimmed off afterwards.
    this.#limit = opts.maxLineBytes + 1;
    this.#maxLineBytes = opts.maxLineBytes;
    this.#onLine = opts.onLine;
    this.#onNoise = opts.onNoise ?? (() => {});
    // encoding undefined: lines come out as Buffers and are decoded strictly below (the
    // parser's own decoder would replace invalid bytes and carry partial sequences over).
    this.#parser = new ReadlineParser({ delimiter: [this.#delimiterByte], encoding: undefined });
    this.#parser.on('data', (chunk: Buffer) => this.#emit(chunk));
  }

  /** Feed bytes from the device. Ignored after end(). */
  push(chunk: Buffer): void {
    if (this.#ended || chunk.length === 0) return;
    let pos = 0;
    while (pos < chunk.length) {
      const idx = chunk.indexOf(this.#delimiterByte, pos);
      const end = idx === -1 ? chunk.length : idx;
      const segment = end - pos;
      if (this.#discarding) {
        if (idx !== -1) this.#discarding = false;
      } else if (this.#lineBytes + segment > this.#limit) {
        this.#startDiscarding();
        if (idx !== -1) this.#discarding = false;
      } else if (idx === -1) {
        this.#parser.write(chunk.subarray(pos, end));
        this.#lineBytes += segment;
      } else if (this.#lineBytes + segment === 0) {
        this.#pending.push('empty');
        this.#parser.write(Buffer.from([0x20, this.#delimiterByte]));
      } else {
        this.#pending.push('keep');
        this.#parser.write(chunk.subarray(pos, end + 1));
        this.#lineBytes = 0;
      }
      pos = idx === -1 ? chunk.length : idx + 1;
    }
  }

  /** Close/end of the connection: a partial line is dropped, never emitted. */
  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    if (this.#lineBytes > 0 || this.#discarding) this.#onNoise('partial line at close');
    this.#parser.destroy();
  }

  #startDiscarding(): void {
    // Make the parser let go of what it holds of this line; that line is then dropped.
    if (this.#lineBytes > 0) {
      this.#pending.push('drop');
      this.#parser.write(Buffer.from([this.#delimiterByte]));
      this.#lineBytes = 0;
    }
    this.#discarding = true;
    this.#onNoise('overlong line');
  }

  #emit(raw: Buffer): void {
    const disposition = this.#pending.shift();
    if (disposition === undefined) return; // a flushed partial line: never a line
    if (disposition === 'drop') return; // the head of an overlong line, already reported
    if (disposition === 'empty') return this.#onLine('');
    let bytes = raw;
    if (bytes.length > 0 && bytes[bytes.length - 1] === CR) bytes = bytes.subarray(0, -1);
    if (bytes.length > 0 && bytes[0] === LF) bytes = bytes.subarray(1);
    if (bytes.length > this.#maxLineBytes) {
      // One byte over, with no stray CR/LF to account for it.
      this.#onNoise('overlong line');
      return;
    }
    let text: string;
    try {
      text = utf8.decode(bytes);
    } catch {
      this.#onNoise('invalid UTF-8');
      return;
    }
    // eslint-disable-next-line no-control-regex
    if (/[\u0000-\u001f\u007f]/.test(text)) {
      this.#onNoise('control bytes');
      return;
    }
    this.#onLine(text);
  }
}
