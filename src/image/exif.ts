/**
 * EXIF orientation: read tag 0x0112 from JPEG APP1, PNG eXIf or WebP EXIF chunks, and apply
 * it to packed RGB so phone photos come out upright.
 */
import type { RgbImage } from "./codecs.ts";
import type { ImageFormat } from "./validate.ts";

/** Orientation 1..8 (1 when absent or unreadable; a broken EXIF block is never fatal). */
export function readOrientation(bytes: Uint8Array, format: ImageFormat): number {
  try {
    const tiff = findExifTiff(bytes, format);
    return tiff ? orientationFromTiff(bytes, tiff.start, tiff.end) : 1;
  } catch {
    return 1;
  }
}

function findExifTiff(b: Uint8Array, format: ImageFormat): { start: number; end: number } | null {
  if (format === "jpeg") {
    let o = 2;
    while (o + 4 <= b.length && b[o] === 0xff) {
      const m = b[o + 1]!;
      if (m === 0xda || m === 0xd9) return null;
      const len = (b[o + 2]! << 8) | b[o + 3]!;
      if (
        m === 0xe1 && len >= 8 && b[o + 4] === 0x45 && b[o + 5] === 0x78 && b[o + 6] === 0x69 &&
        b[o + 7] === 0x66 && b[o + 8] === 0 && b[o + 9] === 0
      ) return { start: o + 10, end: Math.min(b.length, o + 2 + len) };
      o += 2 + len;
    }
    return null;
  }
  if (format === "png") {
    let o = 8;
    while (o + 12 <= b.length) {
      const len = ((b[o]! << 24) >>> 0) + ((b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!);
      const type = String.fromCharCode(b[o + 4]!, b[o + 5]!, b[o + 6]!, b[o + 7]!);
      if (type === "eXIf") return { start: o + 8, end: Math.min(b.length, o + 8 + len) };
      if (type === "IDAT" || type === "IEND") return null;
      o += 12 + len;
    }
    return null;
  }
  if (format === "webp") {
    let o = 12;
    while (o + 8 <= b.length) {
      const type = String.fromCharCode(b[o]!, b[o + 1]!, b[o + 2]!, b[o + 3]!);
      const len = b[o + 4]! | (b[o + 5]! << 8) | (b[o + 6]! << 16) | (b[o + 7]! << 24);
      if (type === "EXIF") {
        let s = o + 8;
        // Some writers keep the "Exif\0\0" prefix.
        if (b[s] === 0x45 && b[s + 1] === 0x78 && b[s + 2] === 0x69 && b[s + 3] === 0x66) s += 6;
        return { start: s, end: Math.min(b.length, o + 8 + len) };
      }
      o += 8 + len + (len & 1);
    }
  }
  return null;
}

function orientationFromTiff(b: Uint8Array, start: number, end: number): number {
  if (end - start < 8) return 1;
  const le = b[start] === 0x49 && b[start + 1] === 0x49;
  const be = b[start] === 0x4d && b[start + 1] === 0x4d;
  if (!le && !be) return 1;
  const u16 = (o: number) => le ? b[o]! | (b[o + 1]! << 8) : (b[o]! << 8) | b[o + 1]!;
  const u32 = (o: number) =>
    le
      ? (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16)) + ((b[o + 3]! << 24) >>> 0)
      : ((b[o]! << 24) >>> 0) + ((b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!);
  const ifd = start + u32(start + 4);
  if (ifd + 2 > end) return 1;
  const n = u16(ifd);
  for (let i = 0; i < n; i++) {
    const e = ifd + 2 + i * 12;
    if (e + 12 > end) return 1;
    if (u16(e) === 0x0112) {
      const v = u16(e + 8);
      return v >= 1 && v <= 8 ? v : 1;
    }
  }
  return 1;
}

/** Applies EXIF orientation `o` (1..8); returns the input itself for 1. */
export function applyOrientation(img: RgbImage, o: number): RgbImage {
  if (o <= 1 || o > 8) return img;
  const { width: W, height: H, data: s } = img;
  const swap = o >= 5;
  const w = swap ? H : W, h = swap ? W : H;
  const d = new Uint8Array(s.length);
  // For output (x, y): source (sx, sy) = a·x + b·y + c style mapping per orientation.
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let sx: number, sy: number;
      switch (o) {
        case 2:
          sx = W - 1 - x, sy = y;
          break;
        case 3:
          sx = W - 1 - x, sy = H - 1 - y;
          break;
        case 4:
          sx = x, sy = H - 1 - y;
          break;
        case 5:
          sx = y, sy = x;
          break;
        case 6:
          sx = y, sy = H - 1 - x;
          break;
        case 7:
          sx = W - 1 - y, sy = H - 1 - x;
          break;
        default: // 8
          sx = W - 1 - y, sy = x;
      }
      const p = (sy * W + sx) * 3, q = (y * w + x) * 3;
      d[q] = s[p]!;
      d[q + 1] = s[p + 1]!;
      d[q + 2] = s[p + 2]!;
    }
  }
  return { width: w, height: h, data: d };
}
