import { test } from 'node:test';
import assert from 'node:assert/strict';
import { jsQR } from '../helpers/device-bitmap.js';
import { bmpBands, qrBitmap } from '../../src/device/display/qr.js';
import { fromBmpLines, toRgba } from '../helpers/device-bitmap.js';

const URL_88 = 'https://api.x.com/oauth/authorize?oauth_token=Z6eEdO8MOmk394WozF5oKyuAv855l4Mlqo7hhlSLik';

function decode(bm: Parameters<typeof toRgba>[0]): string | null {
  const { data, width, height } = toRgba(bm);
  return jsQR(data, width, height)?.data ?? null;
}

test('a QR bitmap for a 128x64 display decodes back to the exact URL', async () => {
  const bm = await qrBitmap(URL_88, { width: 64, height: 64 });
  assert.ok(bm);
  assert.ok(bm.width <= 64 && bm.height <= 64);
  assert.equal(decode(bm), URL_88);
});

test('a larger box scales the modules up and still decodes', async () => {
  const small = await qrBitmap(URL_88, { width: 64, height: 64 });
  const big = await qrBitmap(URL_88, { width: 200, height: 160 });
  assert.ok(small && big);
  assert.ok(big.width >= 2 * small.width - 8);
  assert.ok(big.width <= 160);
  assert.equal(decode(big), URL_88);
});

test('too small a box gives null instead of an unreadable code', async () => {
  assert.equal(await qrBitmap(URL_88, { width: 30, height: 30 }), null);
});

test('BMP bands fit a 128-byte host line and rebuild the same bitmap that decodes', async () => {
  const bm = await qrBitmap(URL_88, { width: 64, height: 64 });
  assert.ok(bm);
  const lines = bmpBands(bm, 0, 9);
  assert.ok(lines.length > 1);
  for (const l of lines) {
    assert.ok(Buffer.byteLength(l + '\n') <= 128, `${l.length + 1} bytes`);
    assert.match(l, /^BMP 0 \d+ \d+ \d+( [0-9A-F]+)+$/);
  }
  const rebuilt = fromBmpLines(lines);
  assert.deepEqual(Buffer.from(rebuilt.data), Buffer.from(bm.data));
  assert.equal(decode(rebuilt), URL_88);
});

test('the spec example: a 10x2 band', () => {
  const data = new Uint8Array([0xff, 0xc0, 0x80, 0x40]);
  assert.deepEqual(bmpBands({ width: 10, height: 2, stride: 2, data }, 0, 0), ['BMP 0 0 10 2 FFC0 8040']);
});
