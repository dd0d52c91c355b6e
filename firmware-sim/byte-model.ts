/**
 * What the models of byte-command displays (matrix-orbital.ts, serlcd.ts) share: bytes in one
 * at a time, a record of every command and text run with an error for what the model does not
 * know, and a screen event after each chunk. Each model decodes the bytes its way.
 */
import { EventEmitter } from 'node:events';
import type { SimPanelEvents } from './panel.js';

export abstract class ByteModel extends EventEmitter<SimPanelEvents> {
  readonly kind = 'lcd' as const;
  readonly caps: readonly string[] = ['backlight', 'cursor'];
  readonly beeps: readonly string[] = [];
  readonly led = 'off';
  /** Every command and text run, with an error for what the model does not know. */
  readonly log: Array<{ raw: string; error?: string }> = [];
  #text = '';

  abstract screenText(): string[];
  /** One byte from the host. */
  protected abstract byte(byte: number): void;

  feed(chunk: Buffer | Uint8Array | string): void {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'latin1') : chunk;
    for (const byte of bytes) this.byte(byte);
    this.flushText();
    this.emit('screen', this.screenText());
  }

  /** A printed character, for the record (text runs are logged whole). */
  protected printed(ch: string): void {
    this.#text += ch;
  }

  protected flushText(): void {
    if (this.#text.length === 0) return;
    const text = this.#text;
    this.#text = '';
    this.log.push({ raw: text });
    this.emit('command', { raw: text, name: 'text' });
  }

  protected dropText(): void {
    this.#text = '';
  }

  protected record(raw: string, error?: string): void {
    this.flushText();
    this.log.push(error === undefined ? { raw } : { raw, error });
    const name = raw.split(' ', 1)[0]!;
    this.emit('command', error === undefined ? { raw, name } : { raw, name, error });
  }

  /** Commands the model did not know or could not carry out. */
  errors(): Array<{ raw: string; error?: string }> {
    return this.log.filter((e) => e.error !== undefined);
  }

  pixels(): { width: number; height: number; data: Uint8Array } {
    return { width: 0, height: 0, data: new Uint8Array(0) };
  }
}

export function hex(byte: number): string {
  return byte.toString(16).toUpperCase().padStart(2, '0');
}
