import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { LineSplitter } from '../../src/device/keypad/lines.js';
import type { Delimiter } from '../../src/config/types.js';

function collect(delimiter: Delimiter, maxLineBytes = 64) {
  const lines: string[] = [];
  const noise: string[] = [];
  const splitter = new LineSplitter({ delimiter, maxLineBytes, onLine: (l) => lines.push(l), onNoise: (r) => noise.push(r) });
  return { splitter, lines, noise };
}

const DELIMS: Record<Delimiter, string> = { LF: '\n', CR: '\r', CRLF: '\r\n' };

for (const delimiter of ['LF', 'CR', 'CRLF'] as const) {
  test(`${delimiter}: splits lines and strips the delimiter`, () => {
    const d = DELIMS[delimiter];
    const { splitter, lines } = collect(delimiter);
    splitter.push(Buffer.from(`1${d}23${d}${d}HELLO pinpad/1 cols=16${d}`));
    assert.deepEqual(lines, ['1', '23', '', 'HELLO pinpad/1 cols=16']);
  });

  test(`${delimiter}: a chunk split at every byte boundary gives the same lines`, () => {
    const d = DELIMS[delimiter];
    const input = Buffer.from(`12${d}#${d}ERR bad row${d}*${d}`);
    for (let cut = 0; cut <= input.length; cut++) {
      const { splitter, lines } = collect(delimiter);
      splitter.push(input.subarray(0, cut));
      splitter.push(input.subarray(cut));
      assert.deepEqual(lines, ['12', '#', 'ERR bad row', '*'], `cut at ${cut}`);
    }
  });
}

test('LF mode trims the stray CR of a CRLF device', () => {
  const { splitter, lines } = collect('LF');
  splitter.push(Buffer.from('123\r\n#\r\n'));
  assert.deepEqual(lines, ['123', '#']);
});

test('CR mode trims the stray LF of a CRLF device', () => {
  const { splitter, lines } = collect('CR');
  splitter.push(Buffer.from('123\r\n#\r\n'));
  assert.deepEqual(lines, ['123', '#']);
});

test('a partial line at close is never emitted', () => {
  const { splitter, lines, noise } = collect('LF');
  splitter.push(Buffer.from('1\n1234567'));
  splitter.end();
  splitter.push(Buffer.from('\n'));
  assert.deepEqual(lines, ['1']);
  assert.ok(noise.includes('partial line at close'));
});

test('an overlong line is dropped as noise and the next line is read', () => {
  const { splitter, lines, noise } = collect('LF', 8);
  splitter.push(Buffer.from('12345'));
  splitter.push(Buffer.from('6789012345'));
  splitter.push(Buffer.from('678\nok\n'));
  assert.deepEqual(lines, ['ok']);
  assert.deepEqual(noise, ['overlong line']);
});

test('a line of exactly maxLineBytes is kept (also with CRLF)', () => {
  const { splitter, lines } = collect('CRLF', 8);
  splitter.push(Buffer.from('12345678\r\n123456789\r\n'));
  assert.deepEqual(lines, ['12345678']);
});

test('1 MB without a delimiter stays bounded and resyncs', () => {
  const { splitter, lines, noise } = collect('LF', 64);
  const before = process.memoryUsage().arrayBuffers;
  const chunk = Buffer.alloc(4096, 0x35);
  for (let i = 0; i < 256; i++) splitter.push(chunk);
  const grown = process.memoryUsage().arrayBuffers - before;
  splitter.push(Buffer.from('\n1234567\n'));
  assert.deepEqual(lines, ['1234567']);
  assert.equal(noise.filter((n) => n === 'overlong line').length, 1);
  // Nothing near the megabyte fed is retained (a generous bound, not a timing check).
  assert.ok(grown < 512 * 1024, `grew ${grown} bytes`);
});

test('invalid UTF-8 and control bytes are noise, not lines', () => {
  const { splitter, lines, noise } = collect('LF');
  splitter.push(Buffer.from([0x31, 0xff, 0x32, 0x0a]));
  splitter.push(Buffer.from([0xe2, 0x0a, 0x33, 0x0a]));
  splitter.push(Buffer.from('1\x002\n4\x1b\n5\n'));
  assert.deepEqual(lines, ['3', '5']);
  assert.deepEqual(noise, ['invalid UTF-8', 'invalid UTF-8', 'control bytes', 'control bytes']);
});

test('property: any chunking of any input yields the same lines as one push', () => {
  fc.assert(
    fc.property(
      fc.constantFrom<Delimiter>('LF', 'CR', 'CRLF'),
      fc.array(fc.oneof(fc.constantFrom('\n', '\r', '\r\n', '1', '#', 'HELLO', '\xff'), fc.string({ maxLength: 20 })), { maxLength: 30 }),
      fc.array(fc.nat(200), { maxLength: 10 }),
      (delimiter, parts, cuts) => {
        const input = Buffer.from(parts.join(''), 'latin1');
        const whole = collect(delimiter, 16);
        whole.splitter.push(input);
        const pieces = collect(delimiter, 16);
        const points = [...new Set(cuts.map((c) => c % (input.length + 1)))].sort((a, b) => a - b);
        let prev = 0;
        for (const p of points) {
          pieces.splitter.push(input.subarray(prev, p));
          prev = p;
        }
        pieces.splitter.push(input.subarray(prev));
        assert.deepEqual(pieces.lines, whole.lines);
        for (const line of whole.lines) {
          assert.ok(Buffer.byteLength(line) <= 16);
          assert.ok(!/[\r\n]/.test(line));
        }
      },
    ),
  );
});

test('a line one byte over the cap without a stray CR is still dropped', () => {
  const { splitter, lines, noise } = collect('CR', 16);
  splitter.push(Buffer.from(' '.repeat(17) + '\r' + 'ok\r'));
  assert.deepEqual(lines, ['ok']);
  assert.deepEqual(noise, ['overlong line']);
});
