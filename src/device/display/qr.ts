/**
 * QR codes for graphic displays: the URL -> module matrix (qrcode, loaded only when a QR
 * is actually drawn) -> a 1-bit bitmap scaled to a pixel box with its quiet zone -> `BMP`
 * bands that each fit one host line (docs/protocol.md "BMP").
 */

/** A 1-bit image: `stride` = ceil(width/8) bytes per row, MSB = leftmost pixel, 1 = dark. */
export interface Bitmap {
  width: number;
  height: number;
  stride: number;
  data: Uint8Array;
}

export interface QrOptions {
  /** Quiet zone in modules; the standard asks for 4, readers cope with 2 on small screens. */
  quietZone?: number;
  errorCorrectionLevel?: 'L' | 'M' | 'Q' | 'H';
  /** Pixels per module at most (the code is drawn smaller than the box allows beyond it). */
  maxScale?: number;
}

/** A host line is at most 128 bytes including its LF. */
export const MAX_HOST_LINE = 128;

export function createBitmap(width: number, height: number): Bitmap {
  const stride = Math.ceil(width / 8);
  return { width, height, stride, data: new Uint8Array(stride * height) };
}

export function getPixel(bm: Bitmap, x: number, y: number): boolean {
  return ((bm.data[y * bm.stride + (x >> 3)]! >> (7 - (x & 7))) & 1) === 1;
}

function setPixel(bm: Bitmap, x: number, y: number): void {
  const i = y * bm.stride + (x >> 3);
  bm.data[i] = bm.data[i]! | (0x80 >> (x & 7));
}

/** The QR module matrix of `text` (true = dark). */
export async function qrModules(text: string, ecc: QrOptions['errorCorrectionLevel'] = 'L'): Promise<boolean[][]> {
  const { default: QRCode } = await import('qrcode');
  const qr = QRCode.create(text, { errorCorrectionLevel: ecc });
  const size = qr.modules.size;
  const rows: boolean[][] = [];
  for (let r = 0; r < size; r++) {
    const row: boolean[] = [];
    for (let c = 0; c < size; c++) row.push(qr.modules.data[r * size + c] === 1);
    rows.push(row);
  }
  return rows;
}

/**
 * The QR code of `text` as the largest whole-pixel scaling that fits the box, with a quiet
 * zone (shrunk from 4 towards 2 modules only if that is what makes it fit). Null when it
 * cannot fit even at one pixel per module.
 */
export async function qrBitmap(text: string, box: { width: number; height: number }, opts: QrOptions = {}): Promise<Bitmap | null> {
  const modules = await qrModules(text, opts.errorCorrectionLevel ?? 'L');
  const size = modules.length;
  const side = Math.min(box.width, box.height);
  const wanted = opts.quietZone ?? 4;
  for (let quiet = wanted; quiet >= Math.min(2, wanted); quiet--) {
    const scale = Math.min(Math.floor(side / (size + 2 * quiet)), opts.maxScale ?? Infinity);
    if (scale < 1) continue;
    const px = (size + 2 * quiet) * scale;
    const bm = createBitmap(px, px);
    for (let r = 0; r < size; r++) {
      for (let c = 0; c < size; c++) {
        if (!modules[r]![c]) continue;
        for (let dy = 0; dy < scale; dy++) {
          for (let dx = 0; dx < scale; dx++) setPixel(bm, (c + quiet) * scale + dx, (r + quiet) * scale + dy);
        }
      }
    }
    return bm;
  }
  return null;
}

/**
 * `BMP x y w h <hex>` lines (without LF) drawing `bm` at (x, y), as many rows per band as
 * fit in one host line; each row's hex is separated by one space, as in the spec's example.
 */
export function bmpBands(bm: Bitmap, x: number, y: number, maxLine = MAX_HOST_LINE): string[] {
  const rowHex = (row: number): string =>
    Buffer.from(bm.data.subarray(row * bm.stride, (row + 1) * bm.stride)).toString('hex').toUpperCase();
  const lines: string[] = [];
  let row = 0;
  while (row < bm.height) {
    const head = `BMP ${x} ${y + row} ${bm.width} `;
    // Room for "<h> " plus rows of 2*stride hex and a separating space, within maxLine - 1 (LF).
    const room = maxLine - 1 - head.length - String(bm.height).length - 1;
    const perBand = Math.max(1, Math.min(bm.height - row, Math.floor((room + 1) / (2 * bm.stride + 1))));
    const hex: string[] = [];
    for (let i = 0; i < perBand; i++) hex.push(rowHex(row + i));
    lines.push(`${head}${perBand} ${hex.join(' ')}`);
    row += perBand;
  }
  return lines;
}
