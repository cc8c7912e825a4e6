/**
 * Separable resampling of packed RGB. Downscaling uses OpenCV's INTER_AREA weights (pixel-area
 * overlap, same 1e-3 edge tolerance); upscaling uses bilinear weights with half-pixel centres
 * (OpenCV INTER_LINEAR geometry). Accumulation in float, result rounded to uint8.
 * `resizeRows` produces a band of output rows so workers can split one image; it runs the wasm
 * SIMD kernel (vertical pass first over whole source rows, then the horizontal taps) and
 * `resizeRowsScalar` is the plain TypeScript reference the tests compare it with.
 */
import { kernels } from "./kernels/wasm.ts";

/** CSR list of (source index, weight) per destination index along one axis. */
export interface AxisWeights {
  start: Int32Array; // length dstN + 1
  idx: Int32Array;
  w: Float32Array;
}

export function axisWeights(srcN: number, dstN: number): AxisWeights {
  const start = new Int32Array(dstN + 1);
  const idx: number[] = [];
  const w: number[] = [];
  const scale = srcN / dstN;
  for (let d = 0; d < dstN; d++) {
    start[d] = idx.length;
    if (scale >= 1) {
      const f1 = d * scale, f2 = f1 + scale;
      const cell = Math.min(scale, srcN - f1);
      const s1 = Math.ceil(f1), s2 = Math.floor(f2);
      if (s1 - f1 > 1e-3) {
        idx.push(s1 - 1);
        w.push((s1 - f1) / cell);
      }
      for (let s = s1; s < s2 && s < srcN; s++) {
        idx.push(s);
        w.push(1 / cell);
      }
      if (f2 - s2 > 1e-3 && s2 < srcN) {
        idx.push(s2);
        w.push(Math.min(Math.min(f2 - s2, 1), cell) / cell);
      }
    } else {
      const f = (d + 0.5) * scale - 0.5;
      let s = Math.floor(f);
      let t = f - s;
      if (s < 0) (s = 0, t = 0);
      if (s >= srcN - 1) (s = srcN - 1, t = 0);
      idx.push(s);
      w.push(1 - t);
      if (t > 0) {
        idx.push(s + 1);
        w.push(t);
      }
    }
  }
  start[dstN] = idx.length;
  return { start, idx: Int32Array.from(idx), w: Float32Array.from(w) };
}

/**
 * Resizes rows [y0, y1) of the destination. Per output row only the source rows it reads are
 * copied into this thread's wasm memory (they are consecutive for both weight kinds).
 */
export function resizeRows(
  src: Uint8Array,
  sw: number,
  sh: number,
  dst: Uint8Array,
  dw: number,
  dh: number,
  y0: number,
  y1: number,
): void {
  if (y1 <= y0) return;
  const wx = axisWeights(sw, dw);
  const wy = axisWeights(sh, dh);
  let maxTaps = 1;
  for (let d = y0; d < y1; d++) maxTaps = Math.max(maxTaps, wy.start[d + 1]! - wy.start[d]!);
  const rowLen = sw * 3, outLen = dw * 3;
  const nx = wx.idx.length;
  const kx = kernels();
  const lay = kx.layout();
  const start = lay.take((dw + 1) * 4), xoff = lay.take(nx * 4), xw = lay.take(nx * 4);
  const yw = lay.take(maxTaps * 4);
  const rows = lay.take(maxTaps * rowLen + 16);
  // The vertical pass writes whole 16-byte groups; the horizontal one reads 4 floats per pixel.
  const tmp = lay.take((Math.ceil(rowLen / 16) * 16 + 4) * 4);
  const out = lay.take(outLen + 4);
  const mem = kx.reserve(lay.size);
  const buf = mem.buffer;
  new Int32Array(buf, start, dw + 1).set(wx.start);
  const xo = new Int32Array(buf, xoff, nx);
  for (let i = 0; i < nx; i++) xo[i] = wx.idx[i]! * 12;
  new Float32Array(buf, xw, nx).set(wx.w);
  const ywv = new Float32Array(buf, yw, maxTaps);
  for (let dy = y0; dy < y1; dy++) {
    const k0 = wy.start[dy]!, k1 = wy.start[dy + 1]!;
    const s0 = wy.idx[k0]!, n = k1 - k0;
    if (wy.idx[k1 - 1]! !== s0 + n - 1) throw new Error("resize: source rows not consecutive");
    mem.set(src.subarray(s0 * rowLen, (s0 + n) * rowLen), rows);
    ywv.set(wy.w.subarray(k0, k1));
    kx.exports.resizeVertical(rows, n, rowLen, yw, tmp);
    kx.exports.resizeHorizontal(tmp, dw, start, xoff, xw, out);
    dst.set(mem.subarray(out, out + outLen), dy * outLen);
  }
}

/** The scalar TypeScript reference of `resizeRows` (same contract, float64 sums). */
export function resizeRowsScalar(
  src: Uint8Array,
  sw: number,
  sh: number,
  dst: Uint8Array,
  dw: number,
  dh: number,
  y0: number,
  y1: number,
): void {
  const wx = axisWeights(sw, dw);
  const wy = axisWeights(sh, dh);
  // Source rows this band needs.
  let sMin = sh, sMax = -1;
  for (let k = wy.start[y0]!; k < wy.start[y1]!; k++) {
    const s = wy.idx[k]!;
    if (s < sMin) sMin = s;
    if (s > sMax) sMax = s;
  }
  if (sMax < sMin) return;
  const rowLen = dw * 3;
  const tmp = new Float32Array((sMax - sMin + 1) * rowLen);
  const xs = wx.start, xi = wx.idx, xw = wx.w;
  for (let sy = sMin; sy <= sMax; sy++) {
    const srow = sy * sw * 3;
    let t = (sy - sMin) * rowLen;
    for (let dx = 0; dx < dw; dx++, t += 3) {
      let r = 0, g = 0, b = 0;
      for (let k = xs[dx]!, e = xs[dx + 1]!; k < e; k++) {
        const p = srow + xi[k]! * 3;
        const ww = xw[k]!;
        r += src[p]! * ww;
        g += src[p + 1]! * ww;
        b += src[p + 2]! * ww;
      }
      tmp[t] = r;
      tmp[t + 1] = g;
      tmp[t + 2] = b;
    }
  }
  const acc = new Float32Array(rowLen);
  for (let dy = y0; dy < y1; dy++) {
    acc.fill(0);
    for (let k = wy.start[dy]!, e = wy.start[dy + 1]!; k < e; k++) {
      const base = (wy.idx[k]! - sMin) * rowLen;
      const ww = wy.w[k]!;
      for (let i = 0; i < rowLen; i++) acc[i] = acc[i]! + tmp[base + i]! * ww;
    }
    const o = dy * rowLen;
    for (let i = 0; i < rowLen; i++) {
      const v = Math.round(acc[i]!);
      dst[o + i] = v < 0 ? 0 : v > 255 ? 255 : v;
    }
  }
}

/** Whole-image single-thread resize (wasm kernel). */
export function resize(
  src: Uint8Array,
  sw: number,
  sh: number,
  dw: number,
  dh: number,
): Uint8Array {
  const dst = new Uint8Array(dw * dh * 3);
  resizeRows(src, sw, sh, dst, dw, dh, 0, dh);
  return dst;
}

export interface ResizeBounds {
  size: [number, number];
  minSize: number;
  preserveAspectRatio: boolean;
}

/**
 * Target size: with preserve_aspect_ratio, fit inside size[0] × size[1] and raise the shortest
 * side to min_size when that still fits; an image already inside the bounds keeps its size.
 * Without it, exactly size[0] × size[1].
 */
export function targetSize(
  w: number,
  h: number,
  b: ResizeBounds,
): { width: number; height: number } {
  const [bw, bh] = b.size;
  if (!b.preserveAspectRatio) return { width: bw, height: bh };
  const fit = Math.min(bw / w, bh / h);
  let scale = 1;
  if (fit < 1) scale = fit;
  else if (Math.min(w, h) < b.minSize) scale = Math.min(b.minSize / Math.min(w, h), fit);
  if (scale === 1) return { width: w, height: h };
  return {
    width: Math.max(1, Math.min(bw, Math.round(w * scale))),
    height: Math.max(1, Math.min(bh, Math.round(h * scale))),
  };
}
