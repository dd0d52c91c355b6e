/**
 * What the operator commands print. Everything they show came from outside at some point
 * (a provider's screen_name, a device's firmware name, an error text, a file path), so no
 * line reaches the terminal without going through src/untrusted.ts: text lines lose escape
 * sequences, control characters and bidi overrides; JSON keeps its data but carries those
 * characters as \u escapes, which JSON.stringify leaves raw for all but C0.
 */
import { replaceUnsafe, terminalSafe } from '../untrusted.js';

/** One line of text on stdout (or stderr), made safe for a terminal. */
export function printLine(line: string, stream: NodeJS.WriteStream = process.stdout): void {
  stream.write(`${terminalSafe(line)}\n`);
}

/** `value` as JSON on stdout, every character that could steer a terminal escaped. */
export function printJson(value: unknown, pretty = true): void {
  const text = JSON.stringify(value, null, pretty ? 2 : undefined);
  // JSON.stringify escapes C0 inside strings, so a raw newline is the layout's; every other
  // match is inside a string, where a \u escape is the same data.
  process.stdout.write(`${replaceUnsafe(text, (c) => (c === '\n' ? c : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`))}\n`);
}
