/** Render a 1-bit bitmap (from BMP bands or qr.ts) into RGBA for jsQR, with a white margin. */
import jsQRModule from 'jsqr';
import type { Bitmap } from '../../src/device/display/qr.js';
import { getPixel } from '../../src/device/display/qr.js';

export function toRgba(bm: Bitmap, margin = 8): { data: Uint8ClampedArray; width: number; height: number } {
  const width = bm.width + 2 * margin;
  const height = bm.height + 2 * margin;
  const data = new Uint8ClampedArray(width * height * 4).fill(255);
  for (let y = 0; y < bm.height; y++) {
    for (let x = 0; x < bm.width; x++) {
      if (!getPixel(bm, x, y)) continue;
      const i = ((y + margin) * width + (x + margin)) * 4;
      data[i] = data[i + 1] = data[i + 2] = 0;
    }
  }
  return { data, width, height };
}

/** Rebuild a bitmap from `BMP x y w h hex...` lines (spaces in the hex ignored). */
export function fromBmpLines(lines: string[]): Bitmap {
  const bands = lines.map((l) => {
    const [cmd, x, y, w, h, ...hex] = l.split(' ');
    if (cmd !== 'BMP') throw new Error(`not a BMP line: ${l}`);
    return { x: Number(x), y: Number(y), w: Number(w), h: Number(h), bytes: Buffer.from(hex.join(''), 'hex') };
  });
  const y0 = Math.min(...bands.map((b) => b.y));
  const width = bands[0]!.w;
  const height = Math.max(...bands.map((b) => b.y + b.h)) - y0;
  const stride = Math.ceil(width / 8);
  const data = new Uint8Array(stride * height);
  for (const b of bands) {
    if (b.bytes.length !== stride * b.h) throw new Error(`band at y=${b.y} has ${b.bytes.length} bytes, expected ${stride * b.h}`);
    data.set(b.bytes, (b.y - y0) * stride);
  }
  return { width, height, stride, data };
}

/** jsqr is CommonJS with an ESM-style `default` in its types: take whichever is the function. */
export const jsQR = ((jsQRModule as unknown as { default?: typeof jsQRModule }).default ?? jsQRModule) as unknown as (
  data: Uint8ClampedArray,
  width: number,
  height: number,
  options?: { inversionAttempts?: 'dontInvert' | 'onlyInvert' | 'attemptBoth' | 'invertFirst' },
) => { data: string } | null;
