import { test } from 'node:test';
import assert from 'node:assert/strict';
import QRCode from 'qrcode';
import { SimDevice, renderScreen } from '../../firmware-sim/index.js';
import { captureOutput, started } from '../helpers/sim-lines.js';
import { decodeQr } from '../helpers/sim-pixels.js';

async function oled() {
  const device = await started(new SimDevice({ profile: 'oled128x64' }));
  return { device, out: captureOutput(device), send: (t: string) => device.feed(Buffer.from(t, 'latin1')) };
}

/** The dark pixels as "x,y" strings, to compare patterns exactly. */
function darkPixels(device: SimDevice): string[] {
  const { width, data } = device.pixels();
  const dark: string[] = [];
  data.forEach((v, i) => v && dark.push(`${i % width},${Math.floor(i / width)}`));
  return dark;
}

test('the framebuffer is 128x64 and blank at start', async () => {
  const { device } = await oled();
  const px = device.pixels();
  assert.equal(px.width, 128);
  assert.equal(px.height, 64);
  assert.equal(px.data.length, 128 * 64);
  assert.equal(px.data.every((v) => v === 0), true);
});

test("BMP draws the spec's example band MSB first", async () => {
  const { device, out, send } = await oled();
  send('BMP 0 0 10 2 FFC0 8040\n');
  assert.equal(out.text(), '');
  const expected = [...Array.from({ length: 10 }, (_, x) => `${x},0`), '0,1', '9,1'];
  assert.deepEqual(darkPixels(device), expected);
});

test('BMP at an offset, lowercase hex, padding bits ignored, clear bits clear', async () => {
  const { device, send } = await oled();
  send('BMP 0 0 128 1 ' + 'ff'.repeat(16) + '\n');
  // 3 px wide: 0b101xxxxx; the x bits are padding and must not draw.
  send('BMP 100 0 3 2 bf 5f\n');
  const row0 = darkPixels(device).filter((p) => p.endsWith(',0')).map((p) => Number(p.split(',')[0]));
  assert.deepEqual(row0, Array.from({ length: 128 }, (_, x) => x).filter((x) => x !== 101));
  assert.deepEqual(darkPixels(device).filter((p) => p.endsWith(',1')), ['101,1']);
});

test('BMP in the bottom-right corner fits; one pixel beyond is out of range', async () => {
  const { device, out, send } = await oled();
  send('BMP 120 56 8 8 ' + '80'.repeat(8) + '\n');
  assert.equal(out.text(), '');
  assert.equal(darkPixels(device).length, 8);
  send('BMP 121 56 8 8 ' + '80'.repeat(8) + '\n');
  send('BMP 120 57 8 8 ' + '80'.repeat(8) + '\n');
  send('BMP 128 0 1 1 80\n');
  assert.equal(out.text(), 'ERR out of range\nERR out of range\nERR x out of range\n');
  assert.equal(darkPixels(device).length, 8);
});

test('BMP with the wrong amount of data or bad hex is refused', async () => {
  const { device, out, send } = await oled();
  send('BMP 0 0 10 2 FFC0\nBMP 0 0 8 1 FFFF\nBMP 0 0 8 1 GG\nBMP 0 0 8 1 F\nBMP 0 0 0 1\nBMP 0 0 8\n');
  assert.equal(
    out.text(),
    'ERR bad bitmap\nERR bad bitmap\nERR bad bitmap\nERR bad bitmap\nERR out of range\nERR bad h\n',
  );
  assert.equal(darkPixels(device).length, 0);
});

test('CLR clears the pixels too', async () => {
  const { device, send } = await oled();
  send('BMP 0 0 8 1 FF\nCLR\n');
  assert.equal(darkPixels(device).length, 0);
});

test('text shares the framebuffer: ROW wipes its 8-pixel band, AT wipes its cells', async () => {
  const { device, out, send } = await oled();
  for (let y = 0; y < 16; y += 2) send(`BMP 0 ${y} 128 2 ${'ff'.repeat(32)}\n`);
  assert.equal(out.text(), '');
  assert.equal(darkPixels(device).length, 128 * 16);
  send('ROW 0 hi\n');
  assert.equal(darkPixels(device).filter((p) => Number(p.split(',')[1]) < 8).length, 0);
  assert.equal(darkPixels(device).length, 128 * 8);
  send('AT 2 1 ab\n');
  const band1 = darkPixels(device).map((p) => p.split(',').map(Number) as [number, number]);
  assert.equal(band1.some(([x, y]) => y >= 8 && x >= 12 && x < 24), false);
  assert.equal(band1.length, 128 * 8 - 12 * 8);
  assert.equal(device.screenText()[1], '  ab'.padEnd(21));
});

test('a QR code drawn in BMP bands decodes with jsqr', async () => {
  const { device, out, send } = await oled();
  const text = 'PIN 1234';
  const qr = QRCode.create(text, { errorCorrectionLevel: 'L' });
  const size = qr.modules.size;
  const scale = 2;
  const quiet = 4;
  const side = (size + 2 * quiet) * scale;
  assert.ok(side <= 64, `QR too big: ${side}`);
  const dark = (x: number, y: number) => {
    const mx = Math.floor(x / scale) - quiet;
    const my = Math.floor(y / scale) - quiet;
    return mx >= 0 && my >= 0 && mx < size && my < size && qr.modules.get(my, mx) === 1;
  };
  const bytesPerRow = Math.ceil(side / 8);
  const bandRows = 4;
  for (let y0 = 0; y0 < side; y0 += bandRows) {
    const h = Math.min(bandRows, side - y0);
    let hex = '';
    for (let y = y0; y < y0 + h; y++) {
      for (let b = 0; b < bytesPerRow; b++) {
        let byte = 0;
        for (let bit = 0; bit < 8; bit++) if (dark(b * 8 + bit, y)) byte |= 0x80 >> bit;
        hex += byte.toString(16).padStart(2, '0');
      }
    }
    const line = `BMP 0 ${y0} ${side} ${h} ${hex}`;
    assert.ok(line.length < 128);
    send(line + '\n');
  }
  assert.equal(out.text(), '');
  assert.equal(decodeQr(device.pixels()), text);

  // The TUI's half-block drawing, read back as pixels (light glyph parts = light), scans too.
  const art = renderScreen(device).split('\n').slice(0, 34);
  const width = [...art[0]!].length;
  const data = new Uint8Array(width * art.length * 2);
  art.forEach((line, row) =>
    [...line].forEach((ch, x) => {
      data[row * 2 * width + x] = ch === '▄' || ch === ' ' ? 1 : 0;
      data[(row * 2 + 1) * width + x] = ch === '▀' || ch === ' ' ? 1 : 0;
    }),
  );
  assert.equal(decodeQr({ width, height: art.length * 2, data }), text);

  send('CLR\n');
  assert.equal(decodeQr(device.pixels()), null);
});
