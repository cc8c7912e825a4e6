/**
 * Bilateral filter with OpenCV's `bilateralFilter(src, d, sigmaColor, sigmaSpace)` semantics for
 * 8-bit, 3-channel images (see shared/fixtures/opencv/manifest.json):
 * - radius = d > 0 ? floor(d / 2) : round(1.5 * sigmaSpace), at least 1;
 * - taps: offsets with dx² + dy² ≤ radius², space weight exp(-(dx²+dy²) / (2 sigmaSpace²));
 * - colour weight exp(-L1² / (2 sigmaColor²)) with L1 = |dR| + |dG| + |dB| (a 766-entry LUT);
 * - border BORDER_REFLECT_101; float32 weights; result cvRound()ed to uint8.
 * `bilateralRows` filters a band of rows so workers can split one image: it runs the wasm SIMD
 * kernel (kernels/assembly/kernels.ts); `bilateralRowsScalar` is the plain TypeScript reference
 * the tests compare it with.
 */
import { kernels } from "./kernels/wasm.ts";

export interface BilateralParams {
  diameter: number;
  sigmaColor: number;
  sigmaSpace: number;
}

export interface BilateralKernel {
  radius: number;
  /** Tap offsets (dx, dy) pairs. */
  dx: Int32Array;
  dy: Int32Array;
  space: Float32Array;
  color: Float32Array;
}

export function bilateralKernel(p: BilateralParams): BilateralKernel {
  const sc = p.sigmaColor <= 0 ? 1 : p.sigmaColor;
  const ss = p.sigmaSpace <= 0 ? 1 : p.sigmaSpace;
  let radius = p.diameter <= 0 ? Math.round(ss * 1.5) : Math.floor(p.diameter / 2);
  radius = Math.max(radius, 1);
  const gc = -0.5 / (sc * sc);
  const gs = -0.5 / (ss * ss);
  const color = new Float32Array(256 * 3);
  for (let i = 0; i < color.length; i++) color[i] = Math.exp(i * i * gc);
  const dx: number[] = [], dy: number[] = [], sp: number[] = [];
  for (let i = -radius; i <= radius; i++) {
    for (let j = -radius; j <= radius; j++) {
      const r = Math.sqrt(i * i + j * j);
      if (r > radius) continue;
      dy.push(i);
      dx.push(j);
      sp.push(Math.fround(Math.exp(r * r * gs)));
    }
  }
  return {
    radius,
    dx: Int32Array.from(dx),
    dy: Int32Array.from(dy),
    space: Float32Array.from(sp),
    color,
  };
}

function reflect101(i: number, n: number): number {
  if (n === 1) return 0;
  while (i < 0 || i >= n) {
    if (i < 0) i = -i;
    if (i >= n) i = 2 * n - 2 - i;
  }
  return i;
}

/** Rows per wasm call: bounds the kernel's memory (f32 planes) and keeps them in cache. */
const CHUNK_PIXELS = 1 << 16;

/**
 * Filters rows [y0, y1) of `src` (packed RGB, width × height) into the same rows of `dst`.
 * Reads rows y0 - radius .. y1 + radius of src (with REFLECT_101 at the image edges); only
 * those rows are copied into this thread's wasm memory, a chunk at a time.
 */
export function bilateralRows(
  src: Uint8Array,
  dst: Uint8Array,
  width: number,
  height: number,
  y0: number,
  y1: number,
  p: BilateralParams,
): void {
  if (y1 <= y0) return;
  const k = bilateralKernel(p);
  const r = k.radius, n = k.space.length, w3 = width * 3;
  const pw = width + 2 * r;
  const chunk = Math.max(1, Math.min(y1 - y0, Math.floor(CHUNK_PIXELS / width)));
  const maxRows = chunk + 2 * r;
  // Each plane gets 16 pixels of slack: 8-pixel steps read past the last column.
  const planeStride = maxRows * pw + 16;
  const byteStride = (planeStride + 15) & ~15;
  const kx = kernels();
  const lay = kx.layout();
  const inPtr = lay.take(maxRows * w3);
  const planes = lay.take(3 * planeStride * 4);
  const bytes = lay.take(3 * byteStride);
  const taps = lay.take(n * 4), space = lay.take(n * 4), color = lay.take(768 * 4);
  const outPtr = lay.take(chunk * w3 + 16);
  const mem = kx.reserve(lay.size);
  const buf = mem.buffer;
  const tapOfs = new Int32Array(buf, taps, n);
  for (let i = 0; i < n; i++) tapOfs[i] = k.dy[i]! * pw + k.dx[i]!;
  new Float32Array(buf, space, n).set(k.space);
  new Float32Array(buf, color, 768).set(k.color);
  for (let c0 = y0; c0 < y1; c0 += chunk) {
    const c1 = Math.min(y1, c0 + chunk);
    const rows = c1 - c0 + 2 * r;
    for (let j = 0; j < rows; j++) {
      const sy = reflect101(c0 - r + j, height) * w3;
      mem.set(src.subarray(sy, sy + w3), inPtr + j * w3);
    }
    kx.exports.bilateralPlanes(inPtr, rows, width, r, planes, pw, planeStride, bytes, byteStride);
    kx.exports.bilateralRun(
      planes,
      planeStride,
      bytes,
      byteStride,
      pw,
      width,
      c1 - c0,
      r,
      taps,
      space,
      n,
      color,
      outPtr,
    );
    dst.set(mem.subarray(outPtr, outPtr + (c1 - c0) * w3), c0 * w3);
  }
}

/** The scalar TypeScript reference of `bilateralRows` (same contract, float64 sums). */
export function bilateralRowsScalar(
  src: Uint8Array,
  dst: Uint8Array,
  width: number,
  height: number,
  y0: number,
  y1: number,
  p: BilateralParams,
): void {
  const k = bilateralKernel(p);
  const r = k.radius;
  const pw = width + 2 * r;
  const bandH = y1 - y0 + 2 * r;
  // Padded copy of the band: REFLECT_101 on all four sides.
  const pad = new Uint8Array(pw * bandH * 3);
  const xmap = new Int32Array(pw);
  for (let x = 0; x < pw; x++) xmap[x] = reflect101(x - r, width) * 3;
  for (let by = 0; by < bandH; by++) {
    const sy = reflect101(y0 - r + by, height);
    const srow = sy * width * 3;
    const prow = by * pw * 3;
    pad.set(src.subarray(srow, srow + width * 3), prow + r * 3);
    for (let x = 0; x < r; x++) {
      let s = srow + xmap[x]!, d = prow + x * 3;
      pad[d] = src[s]!;
      pad[d + 1] = src[s + 1]!;
      pad[d + 2] = src[s + 2]!;
      s = srow + xmap[pw - 1 - x]!;
      d = prow + (pw - 1 - x) * 3;
      pad[d] = src[s]!;
      pad[d + 1] = src[s + 1]!;
      pad[d + 2] = src[s + 2]!;
    }
  }
  const n = k.space.length;
  const ofs = new Int32Array(n);
  for (let i = 0; i < n; i++) ofs[i] = (k.dy[i]! * pw + k.dx[i]!) * 3;
  // Combined weight LUT per tap: wtab[t * 768 + L1] = float32(space[t] * color[L1]).
  const wtab = new Float32Array(n * 768);
  for (let t = 0; t < n; t++) {
    for (let i = 0; i < 766; i++) wtab[t * 768 + i] = k.space[t]! * k.color[i]!;
  }
  for (let y = y0; y < y1; y++) {
    let c = ((y - y0 + r) * pw + r) * 3;
    let o = y * width * 3;
    for (let x = 0; x < width; x++, c += 3, o += 3) {
      const r0 = pad[c]!, g0 = pad[c + 1]!, b0 = pad[c + 2]!;
      let sr = 0, sg = 0, sb = 0, ws = 0;
      for (let t = 0, wb = 0; t < n; t++, wb += 768) {
        const q = c + ofs[t]!;
        const rr = pad[q]!, gg = pad[q + 1]!, bb = pad[q + 2]!;
        const w = wtab[wb + Math.abs(rr - r0) + Math.abs(gg - g0) + Math.abs(bb - b0)]!;
        sr += rr * w;
        sg += gg * w;
        sb += bb * w;
        ws += w;
      }
      const inv = 1 / ws;
      dst[o] = roundEven(sr * inv);
      dst[o + 1] = roundEven(sg * inv);
      dst[o + 2] = roundEven(sb * inv);
    }
  }
}

/** cvRound: round half to even (values here are in 0..255, never negative). */
function roundEven(v: number): number {
  const f = Math.floor(v);
  const d = v - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/** Whole-image single-thread filter (wasm kernel). */
export function bilateralFilter(
  src: Uint8Array,
  width: number,
  height: number,
  p: BilateralParams,
): Uint8Array {
  const dst = new Uint8Array(src.length);
  bilateralRows(src, dst, width, height, 0, height, p);
  return dst;
}
