/**
 * LAB colour balance matching OpenCV's FLOAT path (fixture lab_boost_f32.png):
 *   f = rgb / 255; lab = cvtColor(f, RGB2Lab)   (sRGB gamma, D65, L in 0..100)
 *   L = clip(L × l_boost, 0, 100); a ×= ab_boost; b ×= ab_boost
 *   rgb = cvtColor(lab, Lab2RGB); out = rint(clip(rgb, 0, 1) × 255)
 * OpenCV's constants are used (sRGB→XYZ D65 matrix, white point, 7.787/16/116 linear segment,
 * 903.3). Gamma decoding is a 256-entry table (inputs are 8-bit); gamma encoding + rounding
 * to 8 bits is exact: a 4096-bucket table gives the candidate level, one comparison with the
 * exact decision threshold fixes it.
 * `labBalancePixels` runs the wasm SIMD kernel (float32, Newton cube roots, the same tables);
 * `labBalancePixelsScalar` is the plain TypeScript (float64) reference the tests compare it with.
 */
import { kernels } from "./kernels/wasm.ts";

export interface LabParams {
  lBoost: number;
  abBoost: number;
}

const WX = 0.950456, WZ = 1.088754;
// sRGB → XYZ (D65), rows divided by the white point as OpenCV does.
const M = [
  0.412453 / WX,
  0.35758 / WX,
  0.180423 / WX,
  0.212671,
  0.71516,
  0.072169,
  0.019334 / WZ,
  0.119193 / WZ,
  0.950227 / WZ,
];
// XYZ → sRGB, columns multiplied by the white point.
const MI = [
  3.240479 * WX,
  -1.53715,
  -0.498535 * WZ,
  -0.969256 * WX,
  1.875991,
  0.041556 * WZ,
  0.055648 * WX,
  -0.204043,
  1.057311 * WZ,
];
const T = 0.008856;
const K = 7.787;
const F16 = 16 / 116;
const L_THRESH = 0.008856 * 903.3;
const F_THRESH = 7.787 * 0.008856 + 16 / 116;

let tables:
  | { lin: Float64Array; bucket: Uint8Array; thr: Float64Array; cbrt: Float64Array }
  | null = null;
const BUCKETS = 4096;
const CBRT_N = 8192;

/** Cube root on [0, 1.0625] by linear interpolation (error < 1e-5 above the 0.008856 knee). */
function cbrtLut(v: number, tab: Float64Array): number {
  const f = v * CBRT_N;
  const i = f | 0;
  if (i >= tab.length - 1) return Math.cbrt(v);
  const a = tab[i]!;
  return a + (tab[i + 1]! - a) * (f - i);
}

function srgbEncode(x: number): number {
  return x <= 0.0031308 ? 12.92 * x : 1.055 * Math.pow(x, 1 / 2.4) - 0.055;
}
function srgbDecode(v: number): number {
  return v <= 0.04045 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
}

function getTables() {
  if (tables) return tables;
  const lin = new Float64Array(256);
  for (let i = 0; i < 256; i++) lin[i] = srgbDecode(i / 255);
  // thr[k]: linear value where the 8-bit output switches from k to k + 1.
  const thr = new Float64Array(256);
  for (let k = 0; k < 255; k++) {
    const target = (k + 0.5) / 255;
    let lo = 0, hi = 1;
    for (let it = 0; it < 60; it++) {
      const mid = (lo + hi) / 2;
      if (srgbEncode(mid) < target) lo = mid;
      else hi = mid;
    }
    thr[k] = hi;
  }
  thr[255] = Infinity;
  const bucket = new Uint8Array(BUCKETS + 1);
  let k = 0;
  for (let i = 0; i <= BUCKETS; i++) {
    const x = i / BUCKETS;
    while (x >= thr[k]!) k++;
    bucket[i] = k;
  }
  const cbrt = new Float64Array(CBRT_N + CBRT_N / 16 + 2);
  for (let i = 0; i < cbrt.length; i++) cbrt[i] = Math.cbrt(i / CBRT_N);
  tables = { lin, bucket, thr, cbrt };
  return tables;
}

/** Pixels per wasm call (bounds the kernel's memory). */
const CHUNK_PIXELS = 1 << 16;

/** Applies the LAB boost to pixels [p0, p1) of packed RGB `src`, writing `dst` (wasm kernel). */
export function labBalancePixels(
  src: Uint8Array,
  dst: Uint8Array,
  p0: number,
  p1: number,
  params: LabParams,
): void {
  if (p1 <= p0) return;
  const { lin, bucket, thr } = getTables();
  const chunk = Math.min(CHUNK_PIXELS, p1 - p0);
  const kx = kernels();
  const lay = kx.layout();
  const linPtr = lay.take(256 * 4), bucketPtr = lay.take(BUCKETS + 1), thrPtr = lay.take(256 * 4);
  // 4-pixel steps read up to 3 pixels past the end and store 16 bytes per 12.
  const inPtr = lay.take(chunk * 3 + 12), outPtr = lay.take(chunk * 3 + 16);
  const mem = kx.reserve(lay.size);
  new Float32Array(mem.buffer, linPtr, 256).set(lin);
  mem.set(bucket, bucketPtr);
  new Float32Array(mem.buffer, thrPtr, 256).set(thr);
  for (let a = p0; a < p1; a += chunk) {
    const n = Math.min(chunk, p1 - a);
    mem.set(src.subarray(a * 3, (a + n) * 3), inPtr);
    kx.exports.labBalance(
      inPtr,
      outPtr,
      n,
      linPtr,
      bucketPtr,
      thrPtr,
      params.lBoost,
      params.abBoost,
    );
    dst.set(mem.subarray(outPtr, outPtr + n * 3), a * 3);
  }
}

/** The scalar TypeScript reference of `labBalancePixels` (float64). */
export function labBalancePixelsScalar(
  src: Uint8Array,
  dst: Uint8Array,
  p0: number,
  p1: number,
  params: LabParams,
): void {
  const { lin, bucket, thr, cbrt } = getTables();
  const lb = params.lBoost, ab = params.abBoost;
  const m0 = M[0]!, m1 = M[1]!, m2 = M[2]!, m3 = M[3]!, m4 = M[4]!, m5 = M[5]!;
  const m6 = M[6]!, m7 = M[7]!, m8 = M[8]!;
  const i0 = MI[0]!, i1 = MI[1]!, i2 = MI[2]!, i3 = MI[3]!, i4 = MI[4]!, i5 = MI[5]!;
  const i6 = MI[6]!, i7 = MI[7]!, i8 = MI[8]!;
  for (let p = p0 * 3, end = p1 * 3; p < end; p += 3) {
    const r = lin[src[p]!]!, g = lin[src[p + 1]!]!, b = lin[src[p + 2]!]!;
    const X = m0 * r + m1 * g + m2 * b;
    const Y = m3 * r + m4 * g + m5 * b;
    const Z = m6 * r + m7 * g + m8 * b;
    const fx = X > T ? cbrtLut(X, cbrt) : K * X + F16;
    const fy = Y > T ? cbrtLut(Y, cbrt) : K * Y + F16;
    const fz = Z > T ? cbrtLut(Z, cbrt) : K * Z + F16;
    let L = Y > T ? 116 * fy - 16 : 903.3 * Y;
    const A = 500 * (fx - fy) * ab;
    const B = 200 * (fy - fz) * ab;
    L *= lb;
    if (L > 100) L = 100;
    else if (L < 0) L = 0;
    // Lab → XYZ (OpenCV Lab2RGB_f).
    let y: number, gy: number;
    if (L <= L_THRESH) {
      y = L / 903.3;
      gy = K * y + F16;
    } else {
      gy = (L + 16) / 116;
      y = gy * gy * gy;
    }
    let x = gy + A / 500;
    let z = gy - B / 200;
    x = x <= F_THRESH ? (x - F16) / K : x * x * x;
    z = z <= F_THRESH ? (z - F16) / K : z * z * z;
    dst[p] = encode8(i0 * x + i1 * y + i2 * z, bucket, thr);
    dst[p + 1] = encode8(i3 * x + i4 * y + i5 * z, bucket, thr);
    dst[p + 2] = encode8(i6 * x + i7 * y + i8 * z, bucket, thr);
  }
}

function encode8(v: number, bucket: Uint8Array, thr: Float64Array): number {
  if (!(v > 0)) return 0;
  if (v >= 1) return 255;
  const k = bucket[(v * BUCKETS) | 0]!;
  return v >= thr[k]! ? k + 1 : k;
}

/** Whole-image single-thread LAB balance (wasm kernel). */
export function labBalance(src: Uint8Array, params: LabParams): Uint8Array {
  const dst = new Uint8Array(src.length);
  labBalancePixels(src, dst, 0, src.length / 3, params);
  return dst;
}
