/**
 * 7. What a hostile device sends (issue 11, item 3): any HELLO, through the real pinpad
 * driver (src/device/display/pinpad.ts), must leave every host line within the protocol's
 * 128 bytes and the work bounded, whatever the fields claim.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import pino from 'pino';
import { PinpadDisplay } from '../../src/device/display/pinpad.js';
import type { View } from '../../src/device/types.js';
import { SEED, ms, record } from './figures.js';

const SECTION = '7 hostile device';
const MAX_HOST_LINE = 128;
const logger = pino({ level: 'silent' });

interface Outcome {
  longest: number;
  bytes: number;
  /** A frame was drawn (a HELLO must never leave the screen blank). */
  drew: boolean;
}

/** Every host line the driver writes for one HELLO and a URL screen paged through. */
async function drive(hello: string, url: string): Promise<Outcome> {
  let longest = 0;
  let bytes = 0;
  let drew = false;
  const display = new PinpadDisplay({
    cols: 20,
    rows: 4,
    logger,
    now: () => 0,
    helloTimeoutMs: 60_000,
    write: async (data: string | Buffer) => {
      const text = data.toString('latin1');
      bytes += Buffer.byteLength(text);
      drew ||= text.includes('CLR\n');
      for (const line of text.split('\n').slice(0, -1)) longest = Math.max(longest, Buffer.byteLength(line) + 1);
    },
  });
  await display.hello();
  display.handleLine(hello);
  const view: View = { state: 'awaiting_pin', title: 'Open link:', lines: [], url, pin: { entered: '12', digits: 7 } };
  await display.show(view);
  for (let i = 0; i < 3; i++) await display.page(1);
  await display.redraw();
  return { longest, bytes, drew };
}

const URL = (token: string) => `https://api.x.com/oauth/authorize?oauth_token=${token}`;

describe('a device is not trusted: HELLO', () => {
  it('the reported HELLOs: px=40000x40000 and px=1000x1000 keep every host line within 128 bytes', async () => {
    const started = Date.now();
    const rssBefore = process.memoryUsage().rss;
    const huge = await drive('HELLO pinpad/1 kind=graphic cols=21 rows=8 px=40000x40000 caps=bitmap,cursor', URL('Z6eEdO8MOmk394WozF5oKyuAv855l4Mlqo7hhlSLik'));
    const big = await drive('HELLO pinpad/1 kind=graphic cols=21 rows=8 px=1000x1000 caps=bitmap,cursor', URL('Z6eEdO8MOmk394WozF5oKyuAv855l4Mlqo7hhlSLik'));
    // the largest screen the protocol allows, with a QR code of a long URL
    const largest = await drive('HELLO pinpad/1 kind=graphic cols=40 rows=8 px=480x320 caps=bitmap', URL('x'.repeat(300)));
    assert.ok(largest.longest <= MAX_HOST_LINE && largest.drew, `480x320: longest line ${largest.longest} bytes`);
    const rssGrowth = (process.memoryUsage().rss - rssBefore) / 2 ** 20;
    assert.ok(huge.longest <= MAX_HOST_LINE && big.longest <= MAX_HOST_LINE, `longest lines ${huge.longest} / ${big.longest} bytes`);
    assert.ok(huge.drew && big.drew, 'a screen was drawn');
    assert.ok(huge.bytes < 64 * 1024, `${huge.bytes} bytes written for one screen`);
    record(
      SECTION,
      'item 3: HELLO px=40000x40000 / px=1000x1000 (the reported lines)',
      `longest host line ${huge.longest} / ${big.longest} bytes (480x320 with a QR code: ${largest.longest}); written for the screen, 3 pages and a redraw: ${(huge.bytes / 1024).toFixed(1)} / ${(big.bytes / 1024).toFixed(1)} KiB; RSS +${rssGrowth.toFixed(1)} MiB; ${ms(Date.now() - started)}`,
      '<= 128 bytes a line',
    );
  });

  it('property: no host line exceeds 128 bytes for any HELLO (fast-check)', async () => {
    const number = fc.oneof(fc.integer({ min: 0, max: 100 }), fc.integer({ min: 100, max: 5000 }), fc.integer({ min: 0, max: 2 ** 31 }), fc.constantFrom(0, 1, 7, 8, 40, 41, 64, 128, 320, 321, 480, 481, 99999, 4294967296));
    const value = fc.oneof(number.map(String), fc.string({ maxLength: 40 }), fc.string({ unit: 'binary', maxLength: 40 }));
    const field = fc.oneof(
      fc.constantFrom('lcd', 'graphic', 'oled', '').map((v) => `kind=${v}`),
      value.map((v) => `cols=${v}`),
      value.map((v) => `rows=${v}`),
      fc.tuple(number, number).map(([w, h]) => `px=${w}x${h}`),
      fc.array(fc.oneof(fc.constantFrom('bitmap', 'cursor', 'beep', 'led', 'backlight'), fc.string({ maxLength: 12 })), { maxLength: 12 }).map((c) => `caps=${c.join(',')}`),
      value.map((v) => `fw=${v}`),
      value.map((v) => `keys=${v}`),
      fc.tuple(fc.string({ maxLength: 8 }), value).map(([k, v]) => `${k}=${v}`),
    );
    const hello = fc.oneof(
      { weight: 4, arbitrary: fc.tuple(fc.constantFrom('kind=graphic', 'kind=lcd'), fc.array(field, { maxLength: 10 })).map(([k, f]) => ['HELLO pinpad/1', k, ...f].join(' ')) },
      { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 200 }).map((s) => `HELLO pinpad/1 ${s}`) },
    );
    const token = fc.stringMatching(/^[A-Za-z0-9_-]{1,300}$/);
    let runs = 0;
    let longest = 0;
    let mostBytes = 0;
    const started = Date.now();
    await fc.assert(
      fc.asyncProperty(hello, token, async (h, t) => {
        const out = await drive(h, URL(t));
        runs++;
        longest = Math.max(longest, out.longest);
        mostBytes = Math.max(mostBytes, out.bytes);
        return out.longest <= MAX_HOST_LINE && out.drew;
      }),
      { numRuns: 400, seed: SEED },
    );
    assert.ok(longest <= MAX_HOST_LINE);
    record(SECTION, 'item 3: random HELLOs (fields of any value, binary junk) x URLs up to 340 characters', `${runs} runs: longest host line ${longest} bytes, most bytes for one screen ${(mostBytes / 1024).toFixed(1)} KiB; ${ms(Date.now() - started)}`, '<= 128 bytes a line');
  });
});
