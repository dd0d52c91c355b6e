/** Turn the simulator's framebuffer into what jsqr reads (RGBA, dark = black). */
import jsQRModule from 'jsqr';

// jsqr is CommonJS with an ESM-style `default` in its types: take whichever is the function.
const jsQR = ((jsQRModule as unknown as { default?: typeof jsQRModule }).default ?? jsQRModule) as unknown as (
  data: Uint8ClampedArray,
  width: number,
  height: number,
  options?: { inversionAttempts?: 'dontInvert' | 'onlyInvert' | 'attemptBoth' | 'invertFirst' },
) => { data: string } | null;

export function pixelsToRgba(px: { width: number; height: number; data: Uint8Array }): Uint8ClampedArray {
  const rgba = new Uint8ClampedArray(px.width * px.height * 4);
  for (let i = 0; i < px.data.length; i++) {
    const v = px.data[i] ? 0 : 255;
    rgba[i * 4] = v;
    rgba[i * 4 + 1] = v;
    rgba[i * 4 + 2] = v;
    rgba[i * 4 + 3] = 255;
  }
  return rgba;
}

/** The text of the QR code on the framebuffer (dark modules on light only), or null. */
export function decodeQr(px: { width: number; height: number; data: Uint8Array }): string | null {
  return jsQR(pixelsToRgba(px), px.width, px.height, { inversionAttempts: 'dontInvert' })?.data ?? null;
}
