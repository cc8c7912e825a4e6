/**
 * Input validation that runs before any pixel is decoded: data-URL parsing, format detection
 * from magic bytes, declared-MIME check, header dimensions, structural truncation checks and
 * byte / megapixel limits (decompression-bomb guard).
 */
import {
  DataUrlError,
  ImageDecodeError,
  ImageDimensionsError,
  ImageTooLargeError,
  ImageTypeMismatchError,
  UnsupportedImageTypeError,
} from "./errors.ts";
import {
  advance,
  ascii,
  ByteRangeError,
  hasAscii,
  i32le,
  u16be,
  u16le,
  u24le,
  u32be,
  u32le,
  u8,
} from "./bytes.ts";

export type ImageFormat = "jpeg" | "png" | "gif" | "webp" | "bmp";

export const MIME_BY_FORMAT: Readonly<Record<ImageFormat, string>> = {
  jpeg: "image/jpeg",
  png: "image/png",
  gif: "image/gif",
  webp: "image/webp",
  bmp: "image/bmp",
};

const FORMAT_BY_MIME: Readonly<Record<string, ImageFormat>> = {
  "image/jpeg": "jpeg",
  "image/jpg": "jpeg",
  "image/pjpeg": "jpeg",
  "image/png": "png",
  "image/x-png": "png",
  "image/gif": "gif",
  "image/webp": "webp",
  "image/bmp": "bmp",
  "image/x-bmp": "bmp",
  "image/x-ms-bmp": "bmp",
};

/** MIME types that carry no claim about the format, so they are never a mismatch. */
const NEUTRAL_MIME = new Set(["", "application/octet-stream", "binary/octet-stream"]);

export interface ImageLimits {
  /** Largest accepted encoded size in bytes. */
  maxBytes: number;
  /** Largest accepted width × height, in megapixels (10^6 pixels). */
  maxMegapixels: number;
  /** Largest accepted width or height in pixels. */
  maxSide: number;
}

export const DEFAULT_LIMITS: Readonly<ImageLimits> = {
  maxBytes: 20 * 1024 * 1024,
  maxMegapixels: 40,
  maxSide: 16384,
};

export interface ImageProbe {
  format: ImageFormat;
  mime: string;
  width: number;
  height: number;
  byteLength: number;
}

/** Returns the format named by the magic bytes, or null. */
export function detectFormat(b: Uint8Array): ImageFormat | null {
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return "jpeg";
  if (
    b.length >= 8 && b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47 &&
    b[4] === 0x0d && b[5] === 0x0a && b[6] === 0x1a && b[7] === 0x0a
  ) return "png";
  if (hasAscii(b, 0, "GIF87a") || hasAscii(b, 0, "GIF89a")) return "gif";
  if (hasAscii(b, 0, "RIFF") && hasAscii(b, 8, "WEBP")) return "webp";
  if (b.length >= 2 && b[0] === 0x42 && b[1] === 0x4d) return "bmp";
  return null;
}

/** Maps a declared MIME type (parameters ignored, case-insensitive) to a format. */
export function formatFromMime(mime: string): ImageFormat | null {
  const base = mime.split(";")[0]!.trim().toLowerCase();
  return FORMAT_BY_MIME[base] ?? null;
}

export interface ParsedDataUrl {
  mime: string;
  bytes: Uint8Array;
}

/** Parses `data:[<mime>][;params][;base64],<payload>`. Throws DataUrlError. */
export function parseDataUrl(url: string): ParsedDataUrl {
  if (!/^data:/i.test(url)) throw new DataUrlError("image URL is not a data: URL");
  const comma = url.indexOf(",");
  if (comma < 0) throw new DataUrlError("data URL has no ',' before its payload");
  const meta = url.slice(5, comma).split(";").map((s) => s.trim());
  const mime = (meta[0] ?? "").toLowerCase();
  const isBase64 = meta.slice(1).some((p) => p.toLowerCase() === "base64");
  const payload = url.slice(comma + 1);
  if (!isBase64) {
    try {
      const text = decodeURIComponent(payload);
      const out = new Uint8Array(text.length);
      for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i) & 0xff;
      return { mime, bytes: out };
    } catch {
      throw new DataUrlError("data URL payload is not valid percent-encoding");
    }
  }
  return { mime, bytes: decodeBase64(payload) };
}

type FromBase64 = (s: string, opts: { alphabet: string; lastChunkHandling: string }) => Uint8Array;
/** V8's native decoder: about 8x faster than atob + a copy loop (15 MB: ~13 ms vs ~110 ms). */
const fromBase64 = (Uint8Array as unknown as { fromBase64?: FromBase64 }).fromBase64;

function decodeBase64(s: string): Uint8Array {
  if (fromBase64) {
    const opts = { alphabet: "base64", lastChunkHandling: "loose" };
    try {
      return fromBase64(s, opts);
    } catch {
      // URL-safe or mixed alphabets are accepted too, as before.
      if (/[-_]/.test(s)) {
        try {
          return fromBase64(s.replace(/-/g, "+").replace(/_/g, "/"), opts);
        } catch { /* reported below */ }
      }
      throw new DataUrlError("data URL payload is not valid base64");
    }
  }
  return decodeBase64Slow(s);
}

function decodeBase64Slow(s: string): Uint8Array {
  const clean = s.replace(/[\s]/g, "").replace(/-/g, "+").replace(/_/g, "/");
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(clean)) {
    throw new DataUrlError("data URL payload is not valid base64");
  }
  const padded = clean.length % 4 === 0 ? clean : clean + "=".repeat(4 - (clean.length % 4));
  if (padded.length % 4 !== 0 || clean.length % 4 === 1) {
    throw new DataUrlError("data URL payload is not valid base64 (bad length)");
  }
  let bin: string;
  try {
    bin = atob(padded);
  } catch {
    throw new DataUrlError("data URL payload is not valid base64");
  }
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/**
 * Detects the format, checks a declared MIME type against it, reads the dimensions from the
 * header, checks the file is structurally complete and enforces the limits. Decodes nothing.
 */
export function probeImage(
  bytes: Uint8Array,
  opts: { declaredMime?: string; limits?: Partial<ImageLimits> } = {},
): ImageProbe {
  const limits = { ...DEFAULT_LIMITS, ...opts.limits };
  if (bytes.length === 0) throw new ImageDecodeError("image data is empty");
  if (bytes.length > limits.maxBytes) {
    throw new ImageTooLargeError(
      `image is ${bytes.length} bytes; the limit is ${limits.maxBytes} bytes`,
    );
  }
  const format = detectFormat(bytes);
  const declared = (opts.declaredMime ?? "").split(";")[0]!.trim().toLowerCase();
  if (format === null) {
    const what = declared && !NEUTRAL_MIME.has(declared) ? ` (declared ${declared})` : "";
    throw new UnsupportedImageTypeError(
      `unsupported image type${what}: the data is not JPEG, PNG, GIF, WebP or BMP`,
    );
  }
  if (declared && !NEUTRAL_MIME.has(declared)) {
    const declaredFormat = formatFromMime(declared);
    if (declaredFormat === null) {
      throw new UnsupportedImageTypeError(
        `unsupported image type ${declared}; supported: JPEG, PNG, GIF, WebP, BMP`,
      );
    }
    if (declaredFormat !== format) {
      throw new ImageTypeMismatchError(declared, MIME_BY_FORMAT[format]);
    }
  }
  const { width, height } = HEADER_READERS[format](bytes);
  if (width <= 0 || height <= 0) {
    throw new ImageDimensionsError(`${format} header declares a ${width}x${height} image`);
  }
  if (width > limits.maxSide || height > limits.maxSide) {
    throw new ImageTooLargeError(
      `image is ${width}x${height}; the limit is ${limits.maxSide} px per side`,
    );
  }
  const mp = (width * height) / 1e6;
  if (mp > limits.maxMegapixels) {
    throw new ImageTooLargeError(
      `image is ${width}x${height} (${mp.toFixed(1)} MP); the limit is ${limits.maxMegapixels} MP`,
    );
  }
  return { format, mime: MIME_BY_FORMAT[format], width, height, byteLength: bytes.length };
}

// ---------------------------------------------------------------------------------------------
// Header readers: each returns the dimensions and throws ImageDecodeError when the file is
// truncated or structurally broken. Every read goes through bytes.ts (bounds-checked, unsigned)
// and every loop steps with advance(), so no input can make a walk stall or go backwards.

type Dims = { width: number; height: number };

function truncated(format: string, detail = ""): ImageDecodeError {
  return new ImageDecodeError(
    `${format} data is truncated or corrupt${detail ? ` (${detail})` : ""}`,
  );
}

/** Runs a header reader; a read past the end becomes that format's "truncated" error. */
function withFormat<T>(format: string, read: () => T): T {
  try {
    return read();
  } catch (e) {
    if (e instanceof ByteRangeError) throw truncated(format, "a field runs past the end");
    throw e;
  }
}

const HEADER_READERS: Record<ImageFormat, (b: Uint8Array) => Dims> = {
  jpeg: (b) => withFormat("JPEG", () => readJpegHeader(b)),
  png: (b) => withFormat("PNG", () => readPngHeader(b)),
  gif: (b) => withFormat("GIF", () => readGifHeader(b)),
  webp: (b) => withFormat("WebP", () => readWebpHeader(b)),
  bmp: (b) => withFormat("BMP", () => readBmpHeader(b)),
};

function isSof(m: number): boolean {
  return m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc;
}

function readJpegHeader(b: Uint8Array): Dims {
  let o = 2;
  let dims: Dims | null = null;
  while (true) {
    // Skip fill bytes.
    while (o + 1 < b.length && b[o] === 0xff && b[o + 1] === 0xff) o++;
    if (o + 4 > b.length) throw truncated("JPEG", "ends before the image data");
    if (u8(b, o) !== 0xff) throw truncated("JPEG", `no marker at offset ${o}`);
    const marker = u8(b, o + 1);
    if (marker === 0xd9) throw truncated("JPEG", "ends before the image data");
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      o = advance(o, o + 2, "JPEG marker walk");
      continue;
    }
    const len = u16be(b, o + 2);
    if (len < 2 || o + 2 + len > b.length) throw truncated("JPEG", "segment runs past the end");
    if (isSof(marker)) {
      if (len < 8) throw truncated("JPEG", "short frame header");
      dims = { height: u16be(b, o + 5), width: u16be(b, o + 7) };
    }
    if (marker === 0xda) {
      if (dims === null) throw truncated("JPEG", "scan before frame header");
      // The entropy-coded data stuffs 0xFF as FF 00, so a real EOI must follow the first scan.
      const start = o + 2 + len;
      let found = false;
      for (let i = b.length - 2; i >= start; i--) {
        if (b[i] === 0xff && b[i + 1] === 0xd9) {
          found = true;
          break;
        }
      }
      if (!found) throw truncated("JPEG", "no end-of-image marker");
      return dims;
    }
    o = advance(o, o + 2 + len, "JPEG segment walk");
  }
}

function readPngHeader(b: Uint8Array): Dims {
  if (b.length < 33 || !hasAscii(b, 12, "IHDR")) throw truncated("PNG", "no IHDR");
  const dims = { width: u32be(b, 16), height: u32be(b, 20) };
  let o = 8;
  let sawIdat = false;
  while (true) {
    if (o + 12 > b.length) throw truncated("PNG", "no IEND chunk");
    const len = u32be(b, o);
    const type = ascii(b, o + 4, 4);
    if (o + 12 + len > b.length) throw truncated("PNG", `${type} chunk runs past the end`);
    if (type === "IDAT") sawIdat = true;
    if (type === "IEND") break;
    o = advance(o, o + 12 + len, "PNG chunk walk");
  }
  if (!sawIdat) throw truncated("PNG", "no image data");
  return dims;
}

function skipGifSubBlocks(b: Uint8Array, o: number): number {
  while (true) {
    if (o >= b.length) throw truncated("GIF", "data block runs past the end");
    const n = u8(b, o);
    o = advance(o, o + 1 + n, "GIF sub-block walk");
    if (n === 0) return o;
  }
}

function readGifHeader(b: Uint8Array): Dims {
  if (b.length < 13) throw truncated("GIF", "short header");
  const dims = { width: u16le(b, 6), height: u16le(b, 8) };
  let o = 13;
  const flags = u8(b, 10);
  if (flags & 0x80) o += 3 * (1 << ((flags & 7) + 1));
  // Walk to the end of the first frame's image data.
  while (true) {
    if (o >= b.length) throw truncated("GIF", "no image data");
    const tag = u8(b, o);
    if (tag === 0x21) {
      o = advance(o, skipGifSubBlocks(b, o + 2), "GIF block walk");
    } else if (tag === 0x2c) {
      if (o + 10 > b.length) throw truncated("GIF", "short image descriptor");
      const lf = u8(b, o + 9);
      o += 10;
      if (lf & 0x80) o += 3 * (1 << ((lf & 7) + 1));
      o += 1; // LZW minimum code size
      skipGifSubBlocks(b, o);
      return dims;
    } else if (tag === 0x3b) {
      throw truncated("GIF", "no image data");
    } else {
      throw truncated("GIF", `unknown block 0x${tag.toString(16)}`);
    }
  }
}

function readWebpHeader(b: Uint8Array): Dims {
  if (b.length < 30) throw truncated("WebP", "short header");
  const riffSize = u32le(b, 4);
  if (riffSize + 8 > b.length) throw truncated("WebP", "RIFF size exceeds the data");
  const chunk = ascii(b, 12, 4);
  const chunkSize = u32le(b, 16);
  if (20 + chunkSize > b.length) throw truncated("WebP", `${chunk.trim()} chunk runs past the end`);
  // Every chunk inside the RIFF size must fit in it: decoders and the EXIF reader walk them.
  const riffEnd = riffSize + 8;
  for (let o = 12; o + 8 <= riffEnd;) {
    const size = u32le(b, o + 4);
    const next = o + 8 + size + (size % 2);
    if (o + 8 + size > riffEnd) {
      throw truncated("WebP", `${ascii(b, o, 4).trim()} chunk runs past the RIFF end`);
    }
    o = advance(o, next, "WebP chunk walk");
  }
  if (chunk === "VP8X") return { width: 1 + u24le(b, 24), height: 1 + u24le(b, 27) };
  if (chunk === "VP8 ") {
    if (u8(b, 23) !== 0x9d || u8(b, 24) !== 0x01 || u8(b, 25) !== 0x2a) {
      throw truncated("WebP", "bad VP8 start code");
    }
    return { width: u16le(b, 26) & 0x3fff, height: u16le(b, 28) & 0x3fff };
  }
  if (chunk === "VP8L") {
    if (u8(b, 20) !== 0x2f) throw truncated("WebP", "bad VP8L signature");
    const bits = u32le(b, 21);
    return { width: 1 + (bits & 0x3fff), height: 1 + ((bits >>> 14) & 0x3fff) };
  }
  throw truncated("WebP", `unknown chunk ${JSON.stringify(chunk)}`);
}

export interface BmpHeader extends Dims {
  dataOffset: number;
  headerSize: number;
  bpp: number;
  compression: number;
  topDown: boolean;
  colorsUsed: number;
}

/** BITMAPINFOHEADER and its known successors (V2, V3, OS/2 v2, V4, V5). */
const BMP_INFO_HEADER_SIZES = new Set([40, 52, 56, 64, 108, 124]);

export function readBmpInfo(b: Uint8Array): BmpHeader {
  return withFormat("BMP", () => readBmpInfoFields(b));
}

function readBmpInfoFields(b: Uint8Array): BmpHeader {
  if (b.length < 26) throw truncated("BMP", "short header");
  const dataOffset = u32le(b, 10);
  const headerSize = u32le(b, 14);
  let width: number, height: number, bpp: number, compression = 0, colorsUsed = 0;
  if (headerSize === 12) {
    width = u16le(b, 18);
    height = u16le(b, 20);
    bpp = u16le(b, 24);
  } else if (BMP_INFO_HEADER_SIZES.has(headerSize)) {
    if (b.length < 14 + headerSize) throw truncated("BMP", "short info header");
    width = i32le(b, 18);
    height = i32le(b, 22);
    bpp = u16le(b, 28);
    compression = u32le(b, 30);
    colorsUsed = u32le(b, 46);
  } else {
    throw truncated("BMP", `unknown info header size ${headerSize}`);
  }
  const topDown = height < 0;
  height = Math.abs(height);
  return { width, height, dataOffset, headerSize, bpp, compression, topDown, colorsUsed };
}

function readBmpHeader(b: Uint8Array): Dims {
  const h = readBmpInfoFields(b);
  if (h.width < 0) throw new ImageDimensionsError(`BMP header declares a negative width`);
  if (h.compression === 0 || h.compression === 3) {
    const stride = Math.floor((h.width * h.bpp + 31) / 32) * 4;
    if (h.dataOffset + stride * h.height > b.length) {
      throw truncated("BMP", "pixel data runs past the end");
    }
  } else if (h.dataOffset >= b.length) {
    throw truncated("BMP", "no pixel data");
  }
  return { width: h.width, height: h.height };
}
