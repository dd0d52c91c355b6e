/**
 * The evdev keypad decoder against recorded event streams (test/fixtures/evdev-recordings.ts,
 * built from the kernel's documented struct layout): 24-byte (64-bit) and 16-byte (32-bit)
 * events, any split across reads, NumLock wrapping, NumLock-off navigation keys, repeats.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { EvdevKeys, inputEventSize } from '../../src/device/keypad/evdev.js';
import { encode, K, keyEvents, NAV_DIGIT, numLockWrapped, pinThenEnter, tap, type Ev } from '../fixtures/evdev-recordings.js';

function decode(stream: Buffer, size: 16 | 24, chunks: number[] = [stream.length]): { keys: string; noise: string[] } {
  const keys: string[] = [];
  const noise: string[] = [];
  const d = new EvdevKeys({ eventSize: size, endianness: 'LE', onKey: (k) => keys.push(k), onNoise: (r) => noise.push(r) });
  let at = 0;
  for (const n of chunks) {
    d.push(stream.subarray(at, at + n));
    at += n;
  }
  if (at < stream.length) d.push(stream.subarray(at));
  return { keys: keys.join(''), noise };
}

for (const size of [24, 16] as const) {
  test(`${size}-byte events: a PIN on the keypad digits and Enter`, () => {
    assert.deepEqual(decode(encode(pinThenEnter('1234567'), size), size), { keys: '1234567#', noise: [] });
  });

  test(`${size}-byte events: top-row digits, Backspace, *, -, +, ., Esc`, () => {
    const ev: Ev[] = [K.ONE, K.ZERO, K.BACKSPACE, K.KPASTERISK, K.KPMINUS, K.KPPLUS, K.KPDOT, K.ESC, K.ENTER].flatMap(tap);
    assert.deepEqual(decode(encode(ev, size), size), { keys: '10**ABCC#', noise: [] });
  });

  test(`${size}-byte events: NumLock wrapped around every key is ignored`, () => {
    const ev = [K.KP4, K.KP2, K.KPENTER].flatMap(numLockWrapped);
    assert.deepEqual(decode(encode(ev, size), size), { keys: '42#', noise: [] });
  });

  test(`${size}-byte events: NumLock off, the digits come as navigation keys`, () => {
    const ev = [...'0123456789'].flatMap((d) => tap(NAV_DIGIT[Number(d)]!));
    assert.deepEqual(decode(encode(ev, size), size), { keys: '0123456789', noise: [] });
  });

  test(`${size}-byte events: a held key auto-repeats (value 2) but counts once`, () => {
    const ev = [...keyEvents(K.KP8, 1), ...keyEvents(K.KP8, 2), ...keyEvents(K.KP8, 2), ...keyEvents(K.KP8, 0)];
    assert.deepEqual(decode(encode(ev, size), size), { keys: '8', noise: [] });
  });

  test(`${size}-byte events: a letter key is noise, not a key`, () => {
    assert.deepEqual(decode(encode(tap(K.A), size), size), { keys: '', noise: ['key not used on the keypad'] });
  });
}

test('events split at every byte boundary decode the same', () => {
  const stream = encode(pinThenEnter('905'), 24);
  for (let cut = 0; cut <= stream.length; cut++) assert.equal(decode(stream, 24, [cut]).keys, '905#', `cut at ${cut}`);
});

test('property: any chunking of a recorded stream gives the same keys, in either layout', () => {
  fc.assert(
    fc.property(fc.stringMatching(/^[0-9]{1,12}$/), fc.constantFrom(16 as const, 24 as const), fc.array(fc.integer({ min: 1, max: 40 }), { maxLength: 30 }), (pin, size, chunks) => {
      assert.equal(decode(encode(pinThenEnter(pin), size), size, chunks).keys, `${pin}#`);
    }),
  );
});

test('a partial event at the end is reported, never half-used', () => {
  const keys: string[] = [];
  const noise: string[] = [];
  const d = new EvdevKeys({ eventSize: 24, endianness: 'LE', onKey: (k) => keys.push(k), onNoise: (r) => noise.push(r) });
  d.push(encode(tap(K.KP1), 24).subarray(0, 30));
  d.end();
  assert.deepEqual(keys, []);
  assert.deepEqual(noise, ['partial input event at close']);
});

test('the event size follows the Node binary: 24 bytes on 64-bit, 16 on 32-bit (arm = armhf)', () => {
  assert.equal(inputEventSize('x64'), 24);
  assert.equal(inputEventSize('arm64'), 24);
  assert.equal(inputEventSize('arm'), 16);
  assert.equal(inputEventSize('ia32'), 16);
});
