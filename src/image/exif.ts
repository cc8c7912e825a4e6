/**
 * EXIF orientation: read tag 0x0112 from JPEG APP1, PNG eXIf or WebP EXIF chunks, and apply
 * it to packed RGB so phone photos come out upright.
 */
import { advance, ascii, hasAscii, u16be, u16le, u32be, u32le, u8 } from "./bytes.ts";
import type { RgbImage } from "./codecs.ts";
import { ImageError } from "./errors.ts";
import type { ImageFormat } from "./validate.ts";

/**
 * Orientation 1..8 (1 when absent or unreadable; a broken EXIF block is never fatal).
 * Hand-written rather than an EXIF library: it needs one tag from three containers, and every
 * read goes through the bounds-checked helpers in bytes.ts with loops that always advance.
 */
export function readOrientation(bytes: Uint8Array, format: ImageFormat): number {
  try {
    const tiff = findExifTiff(bytes, format);
    return tiff ? orientationFromTiff(bytes, tiff.start, tiff.end) : 1;
  } catch (e) {
    if (e instanceof ImageError) return 1;
    throw e;
  }
}

type Span = { start: number; end: number };

function findExifTiff(b: Uint8Array, format: ImageFormat): Span | null {
  switch (format) {
    case "jpeg":
      return findJpegExif(b);
    case "png":
      return findPngExif(b);
    case "webp":
      return findWebpExif(b);
    default:
      return null;
  }
}

function findJpegExif(b: Uint8Array): Span | null {
  let o = 2;
  while (o + 4 <= b.length && b[o] === 0xff) {
    const m = u8(b, o + 1);
    if (m === 0xda || m === 0xd9) return null;
    const len = u16be(b, o + 2);
    if (m === 0xe1 && len >= 8 && hasAscii(b, o + 4, "Exif\0\0")) {
      return { start: o + 10, end: Math.min(b.length, o + 2 + len) };
    }
    o = advance(o, o + 2 + len, "JPEG segment walk");
  }
  return null;
}

function findPngExif(b: Uint8Array): Span | null {
  let o = 8;
  while (o + 12 <= b.length) {
    const len = u32be(b, o);
    const type = ascii(b, o + 4, 4);
    if (type === "eXIf") return { start: o + 8, end: Math.min(b.length, o + 8 + len) };
    if (type === "IDAT" || type === "IEND") return null;
    o = advance(o, o + 12 + len, "PNG chunk walk");
  }
  return null;
}

function findWebpExif(b: Uint8Array): Span | null {
  let o = 12;
  while (o + 8 <= b.length) {
    const type = ascii(b, o, 4);
    const len = u32le(b, o + 4);
    if (type === "EXIF") {
      // Some writers keep the "Exif\0\0" prefix.
      const s = hasAscii(b, o + 8, "Exif") ? o + 14 : o + 8;
      return { start: s, end: Math.min(b.length, o + 8 + len) };
    }
    o = advance(o, o + 8 + len + (len % 2), "WebP chunk walk");
  }
  return null;
}

function orientationFromTiff(b: Uint8Array, start: number, end: number): number {
  if (end - start < 8) return 1;
  const le = hasAscii(b, start, "II");
  if (!le && !hasAscii(b, start, "MM")) return 1;
  // Reads stay inside the EXIF block, not just inside the file.
  const tiff = b.subarray(start, end);
  const u16 = (o: number) => le ? u16le(tiff, o) : u16be(tiff, o);
  const u32 = (o: number) => le ? u32le(tiff, o) : u32be(tiff, o);
  const ifd = u32(4);
  const n = u16(ifd);
  for (let i = 0; i < n; i++) {
    const e = ifd + 2 + i * 12;
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
