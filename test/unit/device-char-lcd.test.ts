/**
 * The matrix-orbital and serlcd drivers against the models written from the vendors'
 * documents (firmware-sim/matrix-orbital.ts, firmware-sim/serlcd.ts): what the glass shows
 * after every frame must be exactly layout()'s rows, byte for byte on the wire, with nothing
 * the model does not know, nothing outside the grid, and only what changed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import pino from 'pino';
import { MatrixOrbitalSim, type MatrixOrbitalProfile } from '../../firmware-sim/matrix-orbital.js';
import { SerLcdSim, type SerLcdProfile } from '../../firmware-sim/serlcd.js';
import { CharLcdDisplay, changedSpan } from '../../src/device/display/char-lcd.js';
import { layout } from '../../src/device/display/layout.js';
import { matrixOrbitalCommands } from '../../src/device/display/matrix-orbital.js';
import { serLcdCommands } from '../../src/device/display/serlcd.js';
import type { View } from '../../src/device/types.js';

const logger = pino({ level: 'silent' });
const NOW = 1_700_000_000_000;
const hex = (b: Buffer): string => [...b].map((x) => x.toString(16).toUpperCase().padStart(2, '0')).join(' ');

function rig(kind: 'mo' | 'serlcd', profile: MatrixOrbitalProfile | SerLcdProfile) {
  const sim = kind === 'mo' ? new MatrixOrbitalSim({ profile: profile as MatrixOrbitalProfile }) : new SerLcdSim({ profile: profile as SerLcdProfile });
  const wire: Buffer[] = [];
  let failNext = false;
  const display = new CharLcdDisplay({
    write: async (data) => {
      if (failNext) {
        failNext = false;
        throw new Error('unplugged');
      }
      const b = typeof data === 'string' ? Buffer.from(data, 'latin1') : data;
      wire.push(b);
      sim.feed(b);
    },
    cols: sim.cols,
    rows: sim.rows,
    logger,
    commands: kind === 'mo' ? matrixOrbitalCommands({ setSize: profile !== 'lk204' }) : serLcdCommands(),
    now: () => NOW,
  });
  return { sim, display, wire, last: () => wire.at(-1)!, failWrite: () => (failNext = true) };
}

const pinView = (entered: string): View => ({
  state: 'awaiting_pin',
  title: 'Authorize device',
  lines: [],
  url: 'https://api.example.com/oauth/authorize?oauth_token=abcdefghijklmnop',
  pin: { entered, digits: 7 },
  countdown: { until: NOW + 14 * 60_000 + 5_000, label: 'expires' },
});

const expected = (view: View, cols: number, rows: number, page = 0) =>
  layout(view, { cols, rows }, { page, now: NOW }).rows.map((r) => r.padEnd(cols));

test('matrix-orbital on an Adafruit 20x4 backpack: the set-up bytes, then the frame; the glass shows layout() exactly', async () => {
  const { sim, display, wire } = rig('mo', 'adafruit-backpack-20x4');
  display.attached();
  await display.show(pinView(''));
  assert.equal(
    hex(wire[0]!).startsWith('FE D1 14 04 FE 52 FE 4B FE 54 FE 42 00 FE 58 FE 47 01 01 41 75 74 68'),
    true,
    'size 20x4, auto scroll off, cursors off, backlight on, clear, then row 1 from column 1',
  );
  assert.deepEqual(sim.screenText(), expected(pinView(''), 20, 4));
  assert.deepEqual(sim.errors(), []);
  const f = layout(pinView(''), { cols: 20, rows: 4 }, { now: NOW });
  assert.deepEqual(sim.cursor, { ...f.cursor!, visible: true }, 'the underline cursor where the next digit goes');
});

test('matrix-orbital: a digit typed sends only that digit and the cursor move', async () => {
  const { sim, display, last } = rig('mo', 'adafruit-backpack-20x4');
  display.attached();
  await display.show(pinView(''));
  await display.show(pinView('4'));
  // row 4 "PIN: _______ 15m": the digit at column 6 (1-based), then the cursor to column 7
  assert.equal(hex(last()), 'FE 47 06 04 34 FE 47 07 04');
  assert.deepEqual(sim.screenText(), expected(pinView('4'), 20, 4));
  await display.show(pinView('4'));
  assert.equal(hex(last()), 'FE 47 06 04 34 FE 47 07 04', 'the same frame again sends nothing');
});

test('matrix-orbital on a 16x2 backpack: paging the URL keeps the glass equal to the page laid out', async () => {
  const { sim, display } = rig('mo', 'adafruit-backpack');
  display.attached();
  const view = { ...pinView(''), pin: undefined, countdown: undefined };
  await display.show(view);
  for (let page = 1; page < 6; page++) {
    await display.page(1);
    assert.deepEqual(sim.screenText(), expected(view, 16, 2, page));
  }
  assert.deepEqual(sim.errors(), []);
});

test('an LK204-25 (no size command): nothing it does not know is sent', async () => {
  const { sim, display, wire } = rig('mo', 'lk204');
  display.attached();
  await display.show(pinView('12'));
  assert.ok(!hex(wire[0]!).includes('FE D1'));
  assert.deepEqual(sim.errors(), []);
  assert.deepEqual(sim.screenText(), expected(pinView('12'), 20, 4));
});

test('serlcd 20x4: clear is 7C 2D, positions are FE (0x80 + address) with rows at 0x00 0x40 0x14 0x54', async () => {
  const { sim, display, wire } = rig('serlcd', 'serlcd-20x4');
  display.attached();
  await display.show(pinView(''));
  assert.ok(hex(wire[0]!).startsWith('FE 0C 7C 2D FE 80 41 75 74 68'), hex(wire[0]!));
  assert.deepEqual(sim.screenText(), expected(pinView(''), 20, 4));
  await display.show(pinView('7'));
  // row 3 (0x54) column 5: 0x80 + 0x54 + 5 = 0xD9; then the cursor one further
  assert.equal(hex(wire.at(-1)!), 'FE D9 37 FE DA');
  assert.deepEqual(sim.errors(), [], 'no EEPROM setting, nothing unknown');
  assert.equal((sim as SerLcdSim).eepromWrites, 0);
});

test('serlcd: a "|" in the text is sent as "||" and shows as one', async () => {
  const { sim, display } = rig('serlcd', 'serlcd');
  display.attached();
  const view: View = { state: 'x', title: 'a|b', lines: ['pipe | here'] };
  await display.show(view);
  assert.deepEqual(sim.screenText(), expected(view, 16, 2));
});

test('a failed write: the next frame sets the device up again and sends everything', async () => {
  const { sim, display, wire, failWrite } = rig('mo', 'adafruit-backpack-20x4');
  display.attached();
  await display.show(pinView(''));
  failWrite();
  await display.show(pinView('1'));
  sim.reset();
  await display.show(pinView('12'));
  assert.ok(hex(wire.at(-1)!).startsWith('FE D1 14 04 FE 52'));
  assert.deepEqual(sim.screenText(), expected(pinView('12'), 20, 4));
});

test('changedSpan: the span from the first to the last change, blanks included; null when equal', () => {
  assert.equal(changedSpan('abc', 'abc', 8), null);
  assert.deepEqual(changedSpan('abcdef', 'abXdeY', 8), { col: 2, text: 'XdeY' });
  assert.deepEqual(changedSpan('abcdef', 'ab', 8), { col: 2, text: '    ' });
});

const printable = fc.string({ unit: fc.constantFrom(...'abcXYZ 0123|~!-_/:?=&#*'.split('')), maxLength: 50 });
const viewArb: fc.Arbitrary<View> = fc.record({
  state: fc.constant('s'),
  title: printable,
  lines: fc.array(printable, { maxLength: 3 }),
  url: fc.option(fc.string({ minLength: 1, maxLength: 120 }).map((s) => `https://x.example/a?t=${encodeURIComponent(s)}`), { nil: undefined }),
  pin: fc.option(fc.integer({ min: 0, max: 7 }).map((n) => ({ entered: '1234567'.slice(0, n), digits: 7 })), { nil: undefined }),
}) as fc.Arbitrary<View>;

for (const [kind, profile] of [['mo', 'adafruit-backpack'], ['mo', 'adafruit-backpack-20x4'], ['serlcd', 'serlcd'], ['serlcd', 'serlcd-20x4']] as const) {
  test(`property (${profile}): after any sequence of views and pages the glass shows layout(); every byte is known to the model`, async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(viewArb, fc.integer({ min: -2, max: 3 })), { minLength: 1, maxLength: 8 }), async (steps) => {
        const { sim, display } = rig(kind, profile);
        display.attached();
        let page = 0;
        let last: View | null = null;
        for (const [view, delta] of steps) {
          if (last?.url !== view.url) page = 0;
          last = view;
          await display.show(view);
          if (delta !== 0 && view.url) {
            page += delta;
            await display.page(delta);
          }
          const f = layout(view, { cols: sim.cols, rows: sim.rows }, { page, now: NOW });
          assert.deepEqual(sim.screenText(), f.rows.map((r) => r.padEnd(sim.cols)));
          assert.equal(sim.cursor.visible, !!f.cursor);
          if (f.cursor) assert.deepEqual({ col: sim.cursor.col, row: sim.cursor.row }, f.cursor);
        }
        assert.deepEqual(sim.errors(), []);
      }),
      { numRuns: 60 },
    );
  });
}
