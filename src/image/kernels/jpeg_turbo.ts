/**
 * JPEG decoding with libjpeg-turbo 2.0 (wasm, from npm @cwasm/jpeg-turbo, embedded in
 * jpeg_turbo_wasm.ts) through its TurboJPEG API: straight to packed RGB, with DCT-domain
 * scaling (1/2, 1/4, 1/8) when asked. Measured faster than imagescript's decoder, most of all
 * when scaled (BENCHMARKS.md, "Image pipeline").
 *
 * One instance per thread, reused while it stays healthy: libjpeg's error exit longjmp()s, which
 * this build turns into a thrown JS exception that leaves the instance unusable, so any failure
 * drops it, and so does a decode that grew its memory past RETAIN_BYTES (a big image's pages are
 * not kept for the thread's lifetime). Reusing warm memory matters: fresh pages cost a page
 * fault each on first touch (~12 ms per 3 MB measured here).
 */
import { JPEG_TURBO_WASM_BASE64 } from "./jpeg_turbo_wasm.ts";
import { base64Bytes } from "./wasm.ts";

interface TurboExports {
  memory: WebAssembly.Memory;
  malloc(n: number): number;
  free(p: number): void;
  tjInitDecompress(): number;
  tjDestroy(h: number): number;
  tjDecompressHeader3(
    h: number,
    buf: number,
    size: number,
    w: number,
    hgt: number,
    subsamp: number,
    colorspace: number,
  ): number;
  tjDecompress2(
    h: number,
    buf: number,
    size: number,
    dst: number,
    width: number,
    pitch: number,
    height: number,
    pixelFormat: number,
    flags: number,
  ): number;
}

const TJPF_RGB = 0;
/** TurboJPEG 2.0's scaling factors (num/8), largest first, as tjDecompress2 tries them. */
const FACTORS_EIGHTHS = [16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1];

/**
 * The size tjDecompress2 decodes to when asked for `request` (TJSCALED with the first factor
 * whose result fits); full size without a request.
 */
export function scaledSize(
  w: number,
  h: number,
  request?: { width: number; height: number },
): { width: number; height: number } {
  if (!request) return { width: w, height: h };
  for (const n of FACTORS_EIGHTHS) {
    const sw = Math.ceil((w * n) / 8), sh = Math.ceil((h * n) / 8);
    if (sw <= request.width && sh <= request.height) return { width: sw, height: sh };
  }
  const n = FACTORS_EIGHTHS[FACTORS_EIGHTHS.length - 1]!;
  return { width: Math.ceil((w * n) / 8), height: Math.ceil((h * n) / 8) };
}
const TJCS_CMYK = 3, TJCS_YCCK = 4;

/** Memory an idle instance may keep (a 12 MP decode at 1/2 scale needs ~16 MB). */
const RETAIN_BYTES = 64 << 20;

let compiled: WebAssembly.Module | null = null;
let current: TurboExports | null = null;
function turboModule(): WebAssembly.Module {
  compiled ??= new WebAssembly.Module(
    base64Bytes(JPEG_TURBO_WASM_BASE64) as Uint8Array<ArrayBuffer>,
  );
  return compiled;
}

function fail(): never {
  throw new Error("libjpeg-turbo error exit");
}

function instantiate(): TurboExports {
  const wasi = {
    environ_sizes_get: () => 0,
    environ_get: fail,
    proc_exit: fail,
    fd_close: fail,
    fd_seek: fail,
    fd_write: fail,
  };
  const env = { setjmp: () => 0, longjmp: fail };
  return new WebAssembly.Instance(turboModule(), { env, wasi_snapshot_preview1: wasi })
    .exports as unknown as TurboExports;
}

export interface TurboRgb {
  width: number;
  height: number;
  data: Uint8Array;
}

/**
 * Decodes `bytes` to packed RGB, at full size or, with `request`, at the largest DCT scale
 * whose size fits inside request (ask for ceil(w / s) × ceil(h / s) to get scale 1/s).
 * Returns null where libjpeg-turbo cannot or would only partly decode (CMYK/YCCK, corrupt or
 * truncated data, warnings): callers fall back to another decoder for the verdict.
 */
export function decodeJpegTurbo(
  bytes: Uint8Array,
  request?: { width: number; height: number },
): TurboRgb | null {
  let ex: TurboExports;
  try {
    ex = current ?? instantiate();
  } catch {
    return null;
  }
  current = null; // held by this call; given back below only after a clean decode
  let input = 0, meta = 0, out = 0, h = 0;
  try {
    input = ex.malloc(bytes.length);
    meta = ex.malloc(16);
    if (input === 0 || meta === 0) return null;
    new Uint8Array(ex.memory.buffer, input, bytes.length).set(bytes);
    h = ex.tjInitDecompress();
    if (h === 0) return null;
    if (ex.tjDecompressHeader3(h, input, bytes.length, meta, meta + 4, meta + 8, meta + 12) !== 0) {
      return null;
    }
    const [fullW, fullH, , colorspace] = new Int32Array(ex.memory.buffer, meta, 4);
    if (!fullW || !fullH || colorspace === TJCS_CMYK || colorspace === TJCS_YCCK) return null;
    const { width, height } = scaledSize(fullW, fullH, request);
    out = ex.malloc(width * height * 3);
    if (out === 0) return null;
    if (
      ex.tjDecompress2(h, input, bytes.length, out, width, 0, height, TJPF_RGB, 0) !== 0
    ) return null;
    // slice(): an uninitialised allocation the allocator can recycle (no zeroed fresh pages).
    const data = new Uint8Array(ex.memory.buffer, out, width * height * 3).slice();
    ex.free(out);
    ex.free(meta);
    ex.free(input);
    ex.tjDestroy(h);
    if (ex.memory.buffer.byteLength <= RETAIN_BYTES) current = ex;
    return { width, height, data };
  } catch {
    return null; // the instance may be mid-longjmp: dropped
  }
}
