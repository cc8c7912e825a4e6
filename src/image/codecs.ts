/**
 * Image codecs without FFI: libjpeg-turbo in wasm (kernels/jpeg_turbo.ts, the faster JPEG
 * decoder, with DCT scaling) and imagescript 1.3.1's WebAssembly decoders (JPEG fallback for
 * what libjpeg-turbo refuses, such as CMYK; PNG, GIF) loaded by hand (its `wasm/node/*.js` glue
 * reads process.env, which would need --allow-env), its pure-JS PNG encoder, @cwasm/webp (libwebp
 * in wasm) for WebP, and our own BMP decoder and JPEG encoder (faster than mozjpeg's wasm build
 * at the same quality: BENCHMARKS.md). Everything returns packed RGB; alpha is composited on white.
 */
import pngJs from "imagescript/png/node.js";
import { ImageDecodeError, ImageError } from "./errors.ts";
import { encodeJpegRgb } from "./jpeg_encode.ts";
import { decodeJpegTurbo } from "./kernels/jpeg_turbo.ts";
import { imagescriptWasm, webpWasm } from "./wasm_modules.js";
import {
  DEFAULT_LIMITS,
  type ImageFormat,
  type ImageLimits,
  probeImage,
  readBmpInfo,
} from "./validate.ts";

/** Packed RGB, 3 bytes per pixel, row-major, no padding. */
export interface RgbImage {
  width: number;
  height: number;
  data: Uint8Array;
}

export interface DecodeOptions {
  /** Declared MIME type (e.g. from a data URL or Content-Type); a mismatch is an error. */
  declaredMime?: string;
  limits?: Partial<ImageLimits>;
  /**
   * JPEG only: the decoder may use DCT scaling (1/2, 1/4, 1/8) as long as the result stays at
   * least this large. Omit for a full-size decode.
   */
  minSize?: { width: number; height: number };
}

function wasmModule(name: keyof typeof imagescriptWasm): WebAssembly.Module {
  return imagescriptWasm[name];
}

// deno-lint-ignore no-explicit-any
type WasmExports = any;

/** Composites RGBA on white into packed RGB. */
export function rgbaToRgb(rgba: ArrayLike<number>, width: number, height: number): Uint8Array {
  const n = width * height;
  const out = new Uint8Array(n * 3);
  for (let i = 0, j = 0, k = 0; i < n; i++, j += 4, k += 3) {
    const a = rgba[j + 3]!;
    if (a === 255) {
      out[k] = rgba[j]!;
      out[k + 1] = rgba[j + 1]!;
      out[k + 2] = rgba[j + 2]!;
    } else {
      const w = 255 * (255 - a) + 127;
      out[k] = ((rgba[j]! * a + w) / 255) | 0;
      out[k + 1] = ((rgba[j + 1]! * a + w) / 255) | 0;
      out[k + 2] = ((rgba[j + 2]! * a + w) / 255) | 0;
    }
  }
  return out;
}

function decodeJpeg(bytes: Uint8Array, minSize?: { width: number; height: number }): RgbImage {
  return decodeJpegTurbo(bytes, minSize) ?? decodeJpegImagescript(bytes, minSize);
}

/** imagescript's JPEG decoder: CMYK/YCCK and whatever libjpeg-turbo refuses (its verdict stands). */
export function decodeJpegImagescript(
  bytes: Uint8Array,
  minSize?: { width: number; height: number },
): RgbImage {
  const wasm: WasmExports = new WebAssembly.Instance(wasmModule("jpeg")).exports;
  const bptr = wasm.walloc(bytes.length);
  new Uint8Array(wasm.memory.buffer, bptr, bytes.length).set(bytes);
  const ptr = wasm.decode(bptr, bytes.length, minSize?.width ?? 0, minSize?.height ?? 0);
  if (ptr === 0 || ptr === 1) throw new ImageDecodeError("JPEG data is corrupt or unsupported");
  const width: number = wasm.decode_width(ptr);
  const height: number = wasm.decode_height(ptr);
  const format: number = wasm.decode_format(ptr);
  const buf = new Uint8Array(wasm.memory.buffer, wasm.decode_buffer(ptr), wasm.wlen());
  const n = width * height;
  const out = new Uint8Array(n * 3);
  if (format === 1) {
    out.set(buf.subarray(0, n * 3));
  } else if (format === 0) {
    for (let i = 0, k = 0; i < n; i++, k += 3) out[k] = out[k + 1] = out[k + 2] = buf[i]!;
  } else if (format === 2) {
    // CMYK (Adobe, stored inverted): channel × K / 255.
    for (let i = 0, j = 0, k = 0; i < n; i++, j += 4, k += 3) {
      const kk = buf[j + 3]!;
      out[k] = (kk * buf[j]! / 255) | 0;
      out[k + 1] = (kk * buf[j + 1]! / 255) | 0;
      out[k + 2] = (kk * buf[j + 2]! / 255) | 0;
    }
  } else {
    throw new ImageDecodeError(`JPEG pixel format ${format} is not supported`);
  }
  wasm.decode_free(ptr);
  return { width, height, data: out };
}

function decodePng(bytes: Uint8Array): RgbImage {
  let u8: Uint8Array;
  const inst = new WebAssembly.Instance(wasmModule("png"), {
    env: {
      emscripten_notify_memory_growth() {
        u8 = new Uint8Array(wasm.memory.buffer);
      },
    },
  });
  const wasm: WasmExports = inst.exports;
  u8 = new Uint8Array(wasm.memory.buffer);
  const ptr = wasm.walloc(bytes.length);
  u8.set(bytes, ptr);
  const status: number = wasm.decode(ptr, bytes.length);
  wasm.wfree(ptr);
  if (status < 0) throw new ImageDecodeError(`PNG data is corrupt (decoder status ${status})`);
  const width: number = wasm.width(), height: number = wasm.height();
  u8 = new Uint8Array(wasm.memory.buffer);
  const rgb = rgbaToRgb(u8.subarray(status, status + 4 * width * height), width, height);
  wasm.wfree(status);
  return { width, height, data: rgb };
}

function decodeGif(bytes: Uint8Array): RgbImage {
  const wasm: WasmExports = new WebAssembly.Instance(wasmModule("gif"), {
    env: { push_to_stream() {} },
  }).exports;
  const bptr = wasm.walloc(bytes.length);
  new Uint8Array(wasm.memory.buffer, bptr, bytes.length).set(bytes);
  const dec = wasm.decoder_new(bptr, bytes.length, 0);
  if (dec === 0) throw new ImageDecodeError("GIF header is corrupt");
  try {
    const width: number = wasm.decoder_width(dec), height: number = wasm.decoder_height(dec);
    const fp = wasm.decoder_frame(dec);
    if (fp === 0 || fp === 1) throw new ImageDecodeError("GIF first frame is corrupt or missing");
    const fx: number = wasm.decoder_frame_x(fp), fy: number = wasm.decoder_frame_y(fp);
    const fw: number = wasm.decoder_frame_width(fp), fh: number = wasm.decoder_frame_height(fp);
    const fb = new Uint8Array(wasm.memory.buffer, wasm.decoder_frame_buffer(fp), wasm.wlen());
    const frame = rgbaToRgb(fb, fw, fh);
    wasm.decoder_frame_free(fp);
    if (fx === 0 && fy === 0 && fw === width && fh === height) {
      return { width, height, data: frame };
    }
    const out = new Uint8Array(width * height * 3).fill(255);
    for (let y = 0; y < fh; y++) {
      const ty = fy + y;
      if (ty >= height) break;
      const cols = Math.max(0, Math.min(fw, width - fx));
      out.set(frame.subarray(y * fw * 3, (y * fw + cols) * 3), (ty * width + fx) * 3);
    }
    return { width, height, data: out };
  } finally {
    wasm.decoder_free(dec);
  }
}

/** libwebp's RGBA decoder (@cwasm/webp's wasm with our own glue: its glue reads the file). */
function decodeWebp(bytes: Uint8Array): RgbImage {
  const stub = (name: string) => () => {
    throw new Error(`syscall ${name} is not implemented`);
  };
  // A fresh instance per image: wasm memory never shrinks, so a large image's pages go with it.
  const inst = new WebAssembly.Instance(webpWasm, {
    wasi_snapshot_preview1: {
      fd_close: stub("fd_close"),
      fd_seek: stub("fd_seek"),
      fd_write: stub("fd_write"),
    },
  });
  const w = inst.exports as WasmExports;
  const input = w.malloc(bytes.byteLength);
  new Uint8Array(w.memory.buffer, input, bytes.byteLength).set(bytes);
  const meta = w.malloc(8);
  const out = w.WebPDecodeRGBA(input, bytes.byteLength, meta, meta + 4);
  w.free(input);
  if (out === 0) throw new ImageDecodeError("WebP data is corrupt or unsupported");
  const [width, height] = new Uint32Array(w.memory.buffer, meta, 2);
  const rgba = new Uint8Array(w.memory.buffer, out, width! * height! * 4);
  return { width: width!, height: height!, data: rgbaToRgb(rgba, width!, height!) };
}

function decodeBmp(b: Uint8Array): RgbImage {
  const h = readBmpInfo(b);
  const { width, height, bpp } = h;
  if (h.compression !== 0 && h.compression !== 3) {
    throw new ImageDecodeError(`BMP compression ${h.compression} (RLE/embedded) is not supported`);
  }
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const stride = Math.floor((width * bpp + 31) / 32) * 4;
  const out = new Uint8Array(width * height * 3);
  // Palette (for <= 8 bpp): BGRx quads after the info header (BGR triples for core headers).
  const palEntry = h.headerSize === 12 ? 3 : 4;
  const palOff = 14 + h.headerSize + (h.compression === 3 && h.headerSize === 40 ? 12 : 0);
  // Bit masks for 16/32-bit.
  let masks = bpp === 16 ? [0x7c00, 0x03e0, 0x001f] : [0xff0000, 0x00ff00, 0x0000ff];
  if (h.compression === 3) {
    if (b.length < 14 + 40 + 12) throw new ImageDecodeError("BMP bit masks are missing");
    masks = [dv.getUint32(54, true), dv.getUint32(58, true), dv.getUint32(62, true)];
  }
  const shifts = masks.map((m) => (m === 0 ? 0 : 31 - Math.clz32(m & -m)));
  const maxes = masks.map((m, i) => (m >>> shifts[i]!) || 1);
  if (![1, 4, 8, 16, 24, 32].includes(bpp)) {
    throw new ImageDecodeError(`BMP with ${bpp} bpp is not supported`);
  }
  for (let y = 0; y < height; y++) {
    const row = h.dataOffset + (h.topDown ? y : height - 1 - y) * stride;
    let o = y * width * 3;
    for (let x = 0; x < width; x++, o += 3) {
      if (bpp === 24) {
        const p = row + x * 3;
        out[o] = b[p + 2]!;
        out[o + 1] = b[p + 1]!;
        out[o + 2] = b[p]!;
      } else if (bpp === 32 || bpp === 16) {
        const v = bpp === 32 ? dv.getUint32(row + x * 4, true) : dv.getUint16(row + x * 2, true);
        for (let c = 0; c < 3; c++) {
          out[o + c] = Math.round((((v & masks[c]!) >>> shifts[c]!) * 255) / maxes[c]!);
        }
      } else {
        const bit = x * bpp;
        const byte = b[row + (bit >> 3)]!;
        const idx = (byte >> (8 - bpp - (bit & 7))) & ((1 << bpp) - 1);
        const p = palOff + idx * palEntry;
        if (p + 2 >= b.length) throw new ImageDecodeError("BMP palette index out of range");
        out[o] = b[p + 2]!;
        out[o + 1] = b[p + 1]!;
        out[o + 2] = b[p]!;
      }
    }
  }
  return { width, height, data: out };
}

/** Decodes already-probed bytes of a known format. Errors are ImageError, never raw. */
export async function decodeFormat(
  bytes: Uint8Array,
  format: ImageFormat,
  minSize?: { width: number; height: number },
): Promise<RgbImage> {
  try {
    switch (format) {
      case "jpeg":
        return decodeJpeg(bytes, minSize);
      case "png":
        return decodePng(bytes);
      case "gif":
        return decodeGif(bytes);
      case "webp":
        return await decodeWebp(bytes);
      case "bmp":
        return decodeBmp(bytes);
    }
  } catch (e) {
    if (e instanceof ImageError) throw e;
    throw new ImageDecodeError(`${format.toUpperCase()} data could not be decoded`, { cause: e });
  }
}

/**
 * Decodes PNG, JPEG, GIF (first frame), WebP or BMP to packed RGB (alpha composited on white).
 * Validates first (magic bytes, declared MIME, header dimensions, limits, truncation), so a
 * decompression bomb is refused before any pixel is decoded. Throws ImageError subclasses.
 * EXIF orientation is NOT applied here (see exif.ts / pipeline.ts).
 */
export async function decodeImage(bytes: Uint8Array, opts: DecodeOptions = {}): Promise<RgbImage> {
  const probe = probeImage(bytes, {
    declaredMime: opts.declaredMime,
    limits: { ...DEFAULT_LIMITS, ...opts.limits },
  });
  let request: { width: number; height: number } | undefined;
  if (opts.minSize && probe.format === "jpeg") {
    let s = 8;
    while (
      s > 1 &&
      (Math.ceil(probe.width / s) < opts.minSize.width ||
        Math.ceil(probe.height / s) < opts.minSize.height)
    ) s >>= 1;
    if (s > 1) request = { width: Math.ceil(probe.width / s), height: Math.ceil(probe.height / s) };
  }
  let img = await decodeFormat(bytes, probe.format, request);
  if (
    request &&
    (img.width < opts.minSize!.width || img.height < opts.minSize!.height)
  ) img = await decodeFormat(bytes, probe.format);
  if (!request && (img.width !== probe.width || img.height !== probe.height)) {
    throw new ImageDecodeError(
      `${probe.format} decoded to ${img.width}x${img.height} but its header says ${probe.width}x${probe.height}`,
    );
  }
  return img;
}

/** Encodes packed RGB as PNG (imagescript's pure-JS encoder, zlib level 6 by default). */
export function encodePng(img: RgbImage, level = 6): Promise<Uint8Array> {
  return Promise.resolve(
    pngJs.encode(img.data, {
      width: img.width,
      height: img.height,
      channels: 3,
      level,
    }) as Uint8Array,
  );
}

/** Encodes packed RGB as baseline JPEG (4:2:0) with optimized Huffman tables unless told not to. */
export function encodeJpeg(img: RgbImage, quality: number, optimize = true): Promise<Uint8Array> {
  return Promise.resolve(encodeJpegRgb(img.data, img.width, img.height, { quality, optimize }));
}
