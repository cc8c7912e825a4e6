/** Shared helpers for the image tests. */
import { decodeImage, type RgbImage } from "../../src/image/codecs.ts";

export const OPENCV_DIR = new URL("../fixtures/opencv/", import.meta.url);
export const FIXTURES = new URL("../fixtures/image/", import.meta.url);

export function readFixture(name: string): Uint8Array {
  return Deno.readFileSync(new URL(name, FIXTURES));
}
export async function readOpenCv(name: string): Promise<RgbImage> {
  return await decodeImage(Deno.readFileSync(new URL(name, OPENCV_DIR)));
}

export function psnr(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} != ${b.length}`);
  let s = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i]! - b[i]!;
    s += d * d;
  }
  return s === 0 ? Infinity : 10 * Math.log10((255 * 255) / (s / a.length));
}

/** Solid-colour image. */
export function solid(width: number, height: number, rgb: [number, number, number]): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < data.length; i += 3) data.set(rgb, i);
  return { width, height, data };
}

/** Deterministic textured image (gradients + pseudo-random noise). */
export function textured(width: number, height: number, seed = 1): RgbImage {
  const data = new Uint8Array(width * height * 3);
  let s = seed >>> 0;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      const n = (s >>> 24) - 128;
      const p = (y * width + x) * 3;
      data[p] = clamp(128 + 90 * Math.sin(x / 7) + n / 2);
      data[p + 1] = clamp(128 + 90 * Math.cos(y / 5) + n / 3);
      data[p + 2] = clamp(((x ^ y) & 0xff) / 2 + 60);
    }
  }
  return { width, height, data };
}
function clamp(v: number): number {
  return v < 0 ? 0 : v > 255 ? 255 : Math.round(v);
}

export function pixel(img: RgbImage, x: number, y: number): [number, number, number] {
  const p = (y * img.width + x) * 3;
  return [img.data[p]!, img.data[p + 1]!, img.data[p + 2]!];
}

/** Minimal 24-bit bottom-up BMP writer (for tests). */
export function encodeBmp24(img: RgbImage): Uint8Array {
  const stride = Math.ceil((img.width * 3) / 4) * 4;
  const size = 54 + stride * img.height;
  const b = new Uint8Array(size);
  const dv = new DataView(b.buffer);
  b[0] = 0x42;
  b[1] = 0x4d;
  dv.setUint32(2, size, true);
  dv.setUint32(10, 54, true);
  dv.setUint32(14, 40, true);
  dv.setInt32(18, img.width, true);
  dv.setInt32(22, img.height, true);
  dv.setUint16(26, 1, true);
  dv.setUint16(28, 24, true);
  for (let y = 0; y < img.height; y++) {
    const row = 54 + (img.height - 1 - y) * stride;
    for (let x = 0; x < img.width; x++) {
      const p = (y * img.width + x) * 3;
      b[row + x * 3] = img.data[p + 2]!;
      b[row + x * 3 + 1] = img.data[p + 1]!;
      b[row + x * 3 + 2] = img.data[p]!;
    }
  }
  return b;
}

/** Inserts an EXIF APP1 segment with the given orientation right after a JPEG's SOI. */
export function withExifOrientation(
  jpeg: Uint8Array,
  orientation: number,
  littleEndian = true,
): Uint8Array {
  const tiff = new Uint8Array(26);
  const dv = new DataView(tiff.buffer);
  tiff.set(littleEndian ? [0x49, 0x49] : [0x4d, 0x4d], 0);
  dv.setUint16(2, 42, littleEndian);
  dv.setUint32(4, 8, littleEndian);
  dv.setUint16(8, 1, littleEndian); // one entry
  dv.setUint16(10, 0x0112, littleEndian);
  dv.setUint16(12, 3, littleEndian); // SHORT
  dv.setUint32(14, 1, littleEndian);
  dv.setUint16(18, orientation, littleEndian);
  dv.setUint32(22, 0, littleEndian); // next IFD
  const seg = new Uint8Array(2 + 2 + 6 + tiff.length);
  seg.set([0xff, 0xe1, (seg.length - 2) >> 8, (seg.length - 2) & 0xff], 0);
  seg.set([0x45, 0x78, 0x69, 0x66, 0, 0], 4);
  seg.set(tiff, 10);
  const out = new Uint8Array(jpeg.length + seg.length);
  out.set(jpeg.subarray(0, 2), 0);
  out.set(seg, 2);
  out.set(jpeg.subarray(2), 2 + seg.length);
  return out;
}
