import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createKeypad } from '../../src/device/keypad/keys.js';
import type { KeypadContext, KeypadEvent } from '../../src/device/types.js';
import type { KeypadMode } from '../../src/config/types.js';

function pad(mode: KeypadMode, ctx: KeypadContext = { kind: 'pin', digits: 7 }, autoSubmit = true, digits = 7) {
  const keypad = createKeypad({ mode, pin: { digits }, autoSubmit });
  const events: KeypadEvent[] = [];
  const noise: string[] = [];
  keypad.on('key', (e) => events.push(e));
  keypad.on('noise', (n) => noise.push(n.reason));
  keypad.setContext(ctx);
  const feed = (...lines: string[]) => lines.forEach((l) => keypad.line(l));
  return { keypad, events, noise, feed };
}

test('keys: digits echo and auto-submit at full length', () => {
  const { events, feed } = pad('keys');
  feed('1', '2', '3', '4', '5', '6', '7');
  assert.deepEqual(events.at(-2), { type: 'entry', entered: '1234567' });
  assert.deepEqual(events.at(-1), { type: 'pin', pin: '1234567' });
  assert.equal(events.filter((e) => e.type === 'entry').length, 7);
});

test('keys: without autoSubmit # submits, and the entry never grows past the digits', () => {
  const { events, noise, feed } = pad('keys', { kind: 'pin', digits: 7 }, false);
  feed('1', '2', '3', '4', '5', '6', '7', '8', '9');
  assert.deepEqual(events.at(-1), { type: 'entry', entered: '1234567' });
  assert.equal(noise.length, 2);
  feed('#');
  assert.deepEqual(events.at(-1), { type: 'pin', pin: '1234567' });
});

test('keys: * deletes, then pages back when empty; # pages forward when empty', () => {
  const { events, feed } = pad('keys');
  feed('1', '2', '*');
  assert.deepEqual(events.at(-1), { type: 'entry', entered: '1' });
  feed('*');
  assert.deepEqual(events.at(-1), { type: 'entry', entered: '' });
  feed('*');
  assert.deepEqual(events.at(-1), { type: 'page', delta: -1 });
  feed('#');
  assert.deepEqual(events.at(-1), { type: 'page', delta: 1 });
});

test('keys: A/B page, C clears, D asks for a fresh code', () => {
  const { events, feed } = pad('keys');
  feed('A');
  assert.deepEqual(events.at(-1), { type: 'page', delta: -1 });
  feed('B');
  assert.deepEqual(events.at(-1), { type: 'page', delta: 1 });
  feed('4', '2', 'C');
  assert.deepEqual(events.at(-1), { type: 'entry', entered: '' });
  feed('D');
  assert.deepEqual(events.at(-1), { type: 'fresh' });
});

test('keys: a short entry submitted with # is invalid, not a PIN', () => {
  const { events, feed } = pad('keys');
  feed('1', '2', '3', '#');
  assert.equal(events.at(-1)?.type, 'invalid');
  assert.ok(!events.some((e) => e.type === 'pin'));
});

test('keys: 00# asks for a fresh code while waiting for a PIN', () => {
  const { events, feed } = pad('keys');
  feed('0', '0', '#');
  assert.deepEqual(events.at(-1), { type: 'fresh' });
});

test('keys: 0000# re-authorizes when authorized, D too; other digits are noise', () => {
  const { events, noise, feed } = pad('keys', { kind: 'authorized' });
  feed('0', '0', '0', '0', '#');
  assert.deepEqual(events.at(-1), { type: 'reauth' });
  feed('D');
  assert.deepEqual(events.at(-1), { type: 'reauth' });
  const before = events.length;
  feed('1', '2', '#');
  assert.equal(events.length, before);
  assert.ok(noise.length >= 1);
});

test('keys: confirm context: # is yes, * is no, digits are noise', () => {
  const { events, noise, feed } = pad('keys', { kind: 'confirm' });
  feed('#');
  assert.deepEqual(events.at(-1), { type: 'confirm', yes: true });
  feed('*');
  assert.deepEqual(events.at(-1), { type: 'confirm', yes: false });
  feed('5');
  assert.equal(events.length, 2);
  assert.equal(noise.length, 1);
});

test('keys: idle context ignores digits, still pages', () => {
  const { events, noise, feed } = pad('keys', { kind: 'idle' });
  feed('1', '#');
  assert.deepEqual(events, [{ type: 'page', delta: 1 }]);
  assert.equal(noise.length, 1);
});

test('keys: unknown keys, letters and multi-char lines are noise', () => {
  const { keypad, events, feed } = pad('keys');
  feed('x', 'E', '12', '', '1\u00e9');
  assert.deepEqual(events, []);
  assert.equal(keypad.noiseCount, 5);
});

test('setContext and reset drop a partial entry', () => {
  const { keypad, events, feed } = pad('keys');
  feed('1', '2', '3');
  keypad.reset();
  feed('4', '5', '6', '7', '8', '9', '0');
  assert.deepEqual(events.at(-1), { type: 'pin', pin: '4567890' });
  feed('1');
  keypad.setContext({ kind: 'pin', digits: 7 });
  feed('#');
  assert.deepEqual(events.at(-1), { type: 'page', delta: 1 });
});

test('line: a whole PIN, with spaces or dashes, submits', () => {
  const { events, feed } = pad('line', { kind: 'pin', digits: 9 }, true, 9);
  feed('123456789', '123-456-789', ' 123 456 789 ', '123456789#');
  assert.deepEqual(events, Array(4).fill({ type: 'pin', pin: '123456789' }));
});

test('line: wrong length is invalid; letters where the PIN goes are "digits only"; other junk is noise', () => {
  const { events, keypad, feed } = pad('line');
  feed('123456');
  assert.equal(events.at(-1)?.type, 'invalid');
  feed('12345678');
  assert.deepEqual(events.at(-1), { type: 'invalid', reason: 'the PIN has 7 digits, got 8', mistake: 'length' });
  feed('12a4567', 'hello');
  assert.deepEqual(events.slice(-2).map((e) => e.type === 'invalid' && e.mistake), ['not_digits', 'not_digits']);
  feed('1--2', '-1234567', '\x01\x02');
  assert.equal(events.length, 4);
  assert.equal(keypad.noiseCount, 3);
  // Outside PIN entry, letters are noise as before.
  keypad.setContext({ kind: 'idle' });
  feed('hello');
  assert.equal(events.length, 4);
  assert.equal(keypad.noiseCount, 4);
});

test('line: empty or # pages forward, * back; 00 fresh; 0000 reauth when authorized', () => {
  const { keypad, events, feed } = pad('line');
  feed('', '#', '*', '00');
  assert.deepEqual(events, [
    { type: 'page', delta: 1 },
    { type: 'page', delta: 1 },
    { type: 'page', delta: -1 },
    { type: 'fresh' },
  ]);
  keypad.setContext({ kind: 'authorized' });
  feed('0000');
  assert.deepEqual(events.at(-1), { type: 'reauth' });
  keypad.setContext({ kind: 'confirm' });
  feed('#', '*', '');
  assert.deepEqual(events.slice(-2), [
    { type: 'confirm', yes: true },
    { type: 'confirm', yes: false },
  ]);
});

for (const mode of ['keys', 'line'] as const) {
  test(`property (${mode}): no line sequence ever yields a PIN that is not exactly the digits`, () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10 }),
        fc.boolean(),
        fc.array(
          fc.oneof(
            fc.string({ maxLength: 12 }),
            fc.constantFrom('0', '1', '9', '#', '*', 'A', 'B', 'C', 'D', '00', '0000', '1234567', '１', '٣', '\u00b2', '1\u0000'),
          ),
          { maxLength: 40 },
        ),
        (digits, autoSubmit, lines) => {
          const keypad = createKeypad({ mode, pin: { digits }, autoSubmit });
          keypad.setContext({ kind: 'pin', digits });
          keypad.on('key', (e) => {
            if (e.type === 'pin') assert.match(e.pin, new RegExp(`^[0-9]{${digits}}$`));
            if (e.type === 'entry') assert.match(e.entered, new RegExp(`^[0-9]{0,${digits}}$`));
          });
          for (const l of lines) keypad.line(l);
        },
      ),
    );
  });
}
