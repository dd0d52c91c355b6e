/**
 * 4. Keypad fuzz: the real LineSplitter + keypad (src/device/lines.ts, keypad.ts) under
 * fast-check properties and seeded random byte streams. Nothing but a well-formed PIN may
 * ever come out as one.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { LineSplitter } from '../../src/device/keypad/lines.js';
import { createKeypad } from '../../src/device/keypad/keys.js';
import type { Delimiter, KeypadMode } from '../../src/config/types.js';
import type { KeypadContext, KeypadEvent } from '../../src/device/types.js';
import { SEED, ms, record, rng } from './figures.js';

const SECTION = '4 keypad fuzz';
const DIGITS = 7;
const PIN = /^[0-9]{7}$/;
const ENTRY = /^[0-9]{0,7}$/;
const CONTEXTS: KeypadContext[] = [{ kind: 'pin', digits: DIGITS }, { kind: 'idle' }, { kind: 'authorized' }, { kind: 'confirm' }];

interface Rig {
  push(b: Uint8Array): void;
  end(): void;
  lines: string[];
  events: KeypadEvent[];
  bad: string[];
}

function rig(mode: KeypadMode, delimiter: Delimiter, context: KeypadContext, maxLineBytes = 128): Rig {
  const keypad = createKeypad({ mode, pin: { digits: DIGITS }, autoSubmit: true });
  keypad.setContext(context);
  const r: Rig = { lines: [], events: [], bad: [], push: () => {}, end: () => {} };
  keypad.on('key', (e) => {
    r.events.push(e);
    if (e.type === 'pin' && !PIN.test(e.pin)) r.bad.push(`pin ${JSON.stringify(e.pin)}`);
    if (e.type === 'entry' && !ENTRY.test(e.entered)) r.bad.push(`entry ${JSON.stringify(e.entered)}`);
  });
  const splitter = new LineSplitter({
    delimiter,
    maxLineBytes,
    onLine: (l) => {
      if (Buffer.byteLength(l) > maxLineBytes) r.bad.push(`line of ${Buffer.byteLength(l)} bytes`);
      r.lines.push(l);
      keypad.line(l);
    },
  });
  r.push = (b) => splitter.push(Buffer.from(b));
  r.end = () => splitter.end();
  return r;
}

const NASTY: Uint8Array[] = [
  Buffer.from([0xc0, 0xaf]), // overlong '/'
  Buffer.from([0xe0, 0x80, 0xaf]), // overlong
  Buffer.from([0xed, 0xa0, 0x80]), // surrogate
  Buffer.from([0xf8, 0x88, 0x80, 0x80, 0x80]),
  Buffer.from([0xff, 0xfe]),
  Buffer.from([0xe2, 0x82]), // truncated
  Buffer.from('\u0661\u0662\u0663\u0664\u0665\u0666\u0667'), // Arabic-Indic digits
  Buffer.from('\uff11\uff12\uff13\uff14\uff15\uff16\uff17'), // full-width digits
  Buffer.from('1\u200b234567'),
  Buffer.from([0x00, 0x31, 0x32]),
  Buffer.from('\x1b[2J'),
  Buffer.from('12345678901234567890'),
  Buffer.from('1234567'),
  Buffer.from('123-4567'),
  Buffer.from('12 34 567#'),
  Buffer.from('0000'),
  Buffer.from('*#ABCD'),
  Buffer.from('\r\n'),
  Buffer.from('\r'),
  Buffer.from('\n'),
];

const chunkArb = fc.oneof(
  fc.uint8Array({ maxLength: 40 }),
  fc.constantFrom(...NASTY),
  fc.stringMatching(/^[0-9*#A-D\r\n -]{0,12}$/).map((s) => Buffer.from(s)),
  fc.integer({ min: 129, max: 3000 }).map((n) => Buffer.alloc(n, 0x37)), // overlong digit lines
);

describe('keypad fuzz', () => {
  let inputs = 0;
  let bytes = 0;
  let pins = 0;
  const started = Date.now();

  it('fast-check: no crash, no malformed PIN or entry, no line over the cap; splitting anywhere changes nothing', () => {
    fc.assert(
      fc.property(
        fc.array(chunkArb, { maxLength: 12 }),
        fc.constantFrom<KeypadMode>('keys', 'line'),
        fc.constantFrom<Delimiter>('LF', 'CR', 'CRLF'),
        fc.constantFrom(...CONTEXTS),
        fc.array(fc.nat(), { maxLength: 6 }),
        (chunks, mode, delimiter, context, cuts) => {
          inputs++;
          const all = Buffer.concat(chunks);
          bytes += all.length;
          const whole = rig(mode, delimiter, context);
          whole.push(all);
          whole.end();
          // the same bytes cut at arbitrary points
          const points = [...new Set(cuts.map((c) => (all.length ? c % all.length : 0)))].sort((a, b) => a - b);
          const split = rig(mode, delimiter, context);
          let prev = 0;
          for (const p of [...points, all.length]) {
            split.push(all.subarray(prev, p));
            prev = p;
          }
          split.end();
          pins += whole.events.filter((e) => e.type === 'pin').length;
          assert.deepEqual(whole.bad, []);
          assert.deepEqual(split.bad, []);
          assert.deepEqual(split.lines, whole.lines);
          assert.deepEqual(split.events, whole.events);
        },
      ),
      { numRuns: 30_000, seed: SEED },
    );
  });

  it('a real PIN still gets through after any noise', () => {
    fc.assert(
      fc.property(fc.array(chunkArb, { maxLength: 6 }), fc.stringMatching(/^[0-9]{7}$/), (noise, pin) => {
        inputs++;
        const r = rig('line', 'LF', { kind: 'pin', digits: DIGITS });
        r.push(Buffer.concat(noise));
        r.push(Buffer.from(`\n${pin}\n`));
        const last = r.events.filter((e) => e.type === 'pin').at(-1);
        assert.deepEqual(last, { type: 'pin', pin });
      }),
      { numRuns: 5_000, seed: SEED + 1 },
    );
  });

  it('seeded random byte streams: bounded memory, nothing but 7-digit PINs', () => {
    const random = rng(SEED + 2);
    const N = 70_000;
    for (let i = 0; i < N; i++) {
      const mode: KeypadMode = random() < 0.5 ? 'keys' : 'line';
      const delimiter: Delimiter = (['LF', 'CR', 'CRLF'] as const)[Math.floor(random() * 3)]!;
      const r = rig(mode, delimiter, CONTEXTS[Math.floor(random() * CONTEXTS.length)]!, 32 + Math.floor(random() * 200));
      const parts = 1 + Math.floor(random() * 8);
      for (let p = 0; p < parts; p++) {
        const kind = random();
        let chunk: Buffer;
        if (kind < 0.5) chunk = Buffer.from(Array.from({ length: Math.floor(random() * 64) }, () => Math.floor(random() * 256)));
        else if (kind < 0.8) chunk = Buffer.from(Array.from({ length: Math.floor(random() * 16) }, () => '0123456789\n\r#*'.charCodeAt(Math.floor(random() * 15))));
        else if (kind < 0.95) chunk = Buffer.from(NASTY[Math.floor(random() * NASTY.length)]!);
        else chunk = Buffer.alloc(1000 + Math.floor(random() * 20_000), 0x31); // overlong, no delimiter
        bytes += chunk.length;
        r.push(chunk);
      }
      r.end();
      inputs++;
      pins += r.events.filter((e) => e.type === 'pin').length;
      assert.deepEqual(r.bad, [], `seed ${SEED + 2}, stream ${i}`);
    }
    // one long-lived splitter fed 64 MiB without a delimiter: the cap keeps it flat
    const long = rig('line', 'LF', { kind: 'pin', digits: DIGITS });
    const mib = Buffer.alloc(1 << 20, 0x35);
    const h0 = process.memoryUsage().heapUsed;
    for (let i = 0; i < 64; i++) long.push(mib);
    long.push(Buffer.from('\n1234567\n'));
    const growth = process.memoryUsage().heapUsed - h0;
    bytes += 64 << 20;
    assert.deepEqual(long.events.filter((e) => e.type === 'pin'), [{ type: 'pin', pin: '1234567' }]);
    assert.ok(growth < 16 << 20, `heap grew ${growth} bytes over 64 MiB without a delimiter`);
    record(SECTION, 'inputs (byte streams, each split and fed through splitter + keypad)', inputs, '>= 100,000');
    record(SECTION, 'bytes fed', `${(bytes / (1 << 20)).toFixed(0)} MiB`);
    record(SECTION, 'crashes / malformed PINs or entries / lines over the cap', '0 / 0 / 0', '0');
    record(SECTION, 'well-formed PINs emitted (random digits that happened to form one)', pins);
    record(SECTION, 'heap growth over 64 MiB with no delimiter', `${(growth / (1 << 20)).toFixed(1)} MiB`, '< 16 MiB');
    record(SECTION, 'fuzz time', ms(Date.now() - started));
    assert.ok(inputs >= 100_000, `${inputs} inputs`);
  });
});
