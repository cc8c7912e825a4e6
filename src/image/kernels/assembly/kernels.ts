// AssemblyScript source of the image kernels (compiled to ../kernels_wasm.ts by
// `deno task kernels`). Every function works on caller-laid-out memory: no allocator, no runtime
// (`--runtime stub`), so one instance per thread needs nothing but its own linear memory.
// f32x4 arithmetic only (no relaxed SIMD), so results are the same on every host.

/** First free byte after the module's static data; the JS side lays buffers out from here. */
export function heapBase(): usize {
  return (__heap_base + 15) & ~15;
}

// ---------------------------------------------------------------------------------------------
// Bilateral filter (OpenCV bilateralFilter_8u, 3 channels).

/** REFLECT_101 column index (a 1-pixel row reflects onto itself). */
// @ts-ignore: decorator
@inline function reflect101(x: i32, n: i32): i32 {
  if (n == 1) return 0;
  while (x < 0 || x >= n) {
    if (x < 0) x = -x;
    if (x >= n) x = 2 * n - 2 - x;
  }
  return x;
}

/**
 * Interleaved RGB rows (already in vertical REFLECT_101 order) → three u8 planes (for the colour
 * distance) and three f32 planes (values to average), both with `r` columns of horizontal
 * REFLECT_101 padding on each side. Plane strides: planeStride floats, byteStride bytes; each
 * plane needs 16 elements of slack past rows × pw.
 */
export function bilateralPlanes(
  src: usize,
  rows: i32,
  width: i32,
  r: i32,
  planes: usize,
  pw: i32,
  planeStride: i32,
  bytes: usize,
  byteStride: i32,
): void {
  const b1 = bytes + <usize>byteStride;
  const b2 = b1 + <usize>byteStride;
  for (let y = 0; y < rows; y++) {
    const s = src + <usize>(y * width * 3);
    const o = <usize>(y * pw + r);
    // Interior, 16 pixels per step: 48 bytes deinterleaved by two shuffles per channel.
    let x = 0;
    for (; x + 16 <= width; x += 16) {
      const q = s + <usize>(x * 3);
      const v0 = v128.load(q), v1 = v128.load(q, 16), v2 = v128.load(q, 32);
      const i = o + <usize>x;
      const r01 = i8x16.shuffle(v0, v1, 0, 3, 6, 9, 12, 15, 18, 21, 24, 27, 30, 0, 0, 0, 0, 0);
      v128.store(bytes + i, i8x16.shuffle(r01, v2, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 17, 20, 23, 26, 29));
      const g01 = i8x16.shuffle(v0, v1, 1, 4, 7, 10, 13, 16, 19, 22, 25, 28, 31, 0, 0, 0, 0, 0);
      v128.store(b1 + i, i8x16.shuffle(g01, v2, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 18, 21, 24, 27, 30));
      const b01 = i8x16.shuffle(v0, v1, 2, 5, 8, 11, 14, 17, 20, 23, 26, 29, 0, 0, 0, 0, 0, 0);
      v128.store(b2 + i, i8x16.shuffle(b01, v2, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 16, 19, 22, 25, 28, 31));
    }
    for (; x < width; x++) {
      const q = s + <usize>(x * 3);
      const i = o + <usize>x;
      store<u8>(bytes + i, load<u8>(q));
      store<u8>(b1 + i, load<u8>(q, 1));
      store<u8>(b2 + i, load<u8>(q, 2));
    }
    // Padding columns: REFLECT_101 copies from the row just written.
    const row = o - <usize>r;
    for (let k = 1; k <= r; k++) {
      const lx = reflect101(-k, width), rx = reflect101(width - 1 + k, width);
      const li = row + <usize>(r - k), ri = row + <usize>(r + width - 1 + k);
      store<u8>(bytes + li, load<u8>(bytes + o + <usize>lx));
      store<u8>(b1 + li, load<u8>(b1 + o + <usize>lx));
      store<u8>(b2 + li, load<u8>(b2 + o + <usize>lx));
      store<u8>(bytes + ri, load<u8>(bytes + o + <usize>rx));
      store<u8>(b1 + ri, load<u8>(b1 + o + <usize>rx));
      store<u8>(b2 + ri, load<u8>(b2 + o + <usize>rx));
    }
  }
  // u8 → f32, 16 per step (reads and writes up to 15 elements of slack).
  const n = rows * pw;
  for (let c = 0; c < 3; c++) {
    const bp = bytes + <usize>(c * byteStride);
    const fp = planes + (<usize>(c * planeStride) << 2);
    for (let i = 0; i < n; i += 16) {
      const v = v128.load(bp + <usize>i);
      const lo = i16x8.extend_low_i8x16_u(v), hi = i16x8.extend_high_i8x16_u(v);
      const f = fp + (<usize>i << 2);
      v128.store(f, f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_u(lo)));
      v128.store(f, f32x4.convert_i32x4_s(i32x4.extend_high_i16x8_u(lo)), 16);
      v128.store(f, f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_u(hi)), 32);
      v128.store(f, f32x4.convert_i32x4_s(i32x4.extend_high_i16x8_u(hi)), 48);
    }
  }
}

/** 16 bytes where the LUT indices go through memory: scalar loads beat 8 lane extracts. */
const IDX: usize = memory.data(16, 16);

/**
 * The colour LUT (768 f32), static so that its address is below 64 KiB: the u16 lanes at IDX
 * hold whole addresses of LUT entries, no per-lane add.
 */
const LUT: usize = memory.data(3072, 16);

/** LUT values for lanes 0..3 and 4..7 of the u16 addresses at IDX. */
// @ts-ignore: decorator
@inline function gatherLo(): v128 {
  let w = v128.load32_zero(<usize>load<u16>(IDX));
  w = v128.load32_lane(<usize>load<u16>(IDX, 2), w, 1);
  w = v128.load32_lane(<usize>load<u16>(IDX, 4), w, 2);
  return v128.load32_lane(<usize>load<u16>(IDX, 6), w, 3);
}

// @ts-ignore: decorator
@inline function gatherHi(): v128 {
  let w = v128.load32_zero(<usize>load<u16>(IDX, 8));
  w = v128.load32_lane(<usize>load<u16>(IDX, 10), w, 1);
  w = v128.load32_lane(<usize>load<u16>(IDX, 12), w, 2);
  return v128.load32_lane(<usize>load<u16>(IDX, 14), w, 3);
}

/**
 * 4 pixels of interleaved output from rounded values in 0..255: 12 bytes plus 4 bytes of junk
 * (the caller writes in increasing order, so the next store or row overwrites them, and the
 * output buffer has 16 bytes of slack).
 */
// @ts-ignore: decorator
@inline function storeRgb4(dst: usize, r: v128, g: v128, b: v128): void {
  const ri = i32x4.trunc_sat_f32x4_s(r);
  const gi = i32x4.trunc_sat_f32x4_s(g);
  const bi = i32x4.trunc_sat_f32x4_s(b);
  const rg = i16x8.narrow_i32x4_s(ri, gi);
  const v = i8x16.narrow_i16x8_u(rg, i16x8.narrow_i32x4_s(bi, bi));
  v128.store(dst, i8x16.shuffle(v, v, 0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11, 12, 13, 14, 15));
}

/**
 * Filters `rows` output rows. planes/bytes: from bilateralPlanes (rows + 2r rows each). taps: n
 * i32 offsets (dy * pw + dx, in pixels); space: n f32 space weights; color: the 768-entry f32
 * colour LUT indexed by |dR| + |dG| + |dB|. The distance is integer (u8 planes widened to i16,
 * 8 pixels per vector), so lanes past the row end still index inside the LUT. Weight = space ×
 * colour in f32, sums in f32, result round-half-even of sum × (1 / wsum): OpenCV's arithmetic,
 * 8 pixels per step.
 */
export function bilateralRun(
  planes: usize,
  planeStride: i32,
  bytes: usize,
  byteStride: i32,
  pw: i32,
  width: i32,
  rows: i32,
  r: i32,
  taps: usize,
  space: usize,
  n: i32,
  color: usize,
  dst: usize,
): void {
  const gs = <usize>planeStride << 2;
  const bs = <usize>byteStride;
  const one = f32x4.splat(1);
  // u16 lanes address the LUT (its static address is a few hundred bytes in).
  if (LUT + 3072 > 0x10000) unreachable();
  memory.copy(LUT, color, 3072);
  const lutBase = i16x8.splat(<i16>LUT);
  for (let y = 0; y < rows; y++) {
    const centre = <usize>((y + r) * pw + r);
    const rowC = planes + (centre << 2);
    const rowB = bytes + centre;
    const out = dst + <usize>(y * width * 3);
    for (let x = 0; x < width; x += 8) {
      const pR = rowC + (<usize>x << 2);
      const pG = pR + gs;
      const pB = pG + gs;
      const bR = rowB + <usize>x;
      const c0 = v128.load8x8_u(bR), c1 = v128.load8x8_u(bR + bs), c2 = v128.load8x8_u(bR + 2 * bs);
      let sr0 = f32x4.splat(0), sg0 = f32x4.splat(0), sb0 = f32x4.splat(0), ws0 = f32x4.splat(0);
      let sr1 = f32x4.splat(0), sg1 = f32x4.splat(0), sb1 = f32x4.splat(0), ws1 = f32x4.splat(0);
      for (let t = 0; t < n; t++) {
        const tap = <usize>load<i32>(taps + (<usize>t << 2));
        const sw = f32x4.splat(load<f32>(space + (<usize>t << 2)));
        const q = bR + tap;
        const dr = i16x8.abs(i16x8.sub(v128.load8x8_u(q), c0));
        const dg = i16x8.abs(i16x8.sub(v128.load8x8_u(q + bs), c1));
        const db = i16x8.abs(i16x8.sub(v128.load8x8_u(q + 2 * bs), c2));
        // Addresses of LUT entries: LUT + 4 × (0..765) fits u16.
        const sad = i16x8.add(i16x8.add(dr, dg), db);
        v128.store(IDX, i16x8.add(i16x8.shl(sad, 2), lutBase));
        const o = tap << 2;
        const qR = pR + o, qG = pG + o, qB = pB + o;
        // One half at a time keeps fewer vectors live (x64 has 16 registers).
        const w0 = f32x4.mul(gatherLo(), sw);
        sr0 = f32x4.add(sr0, f32x4.mul(v128.load(qR), w0));
        sg0 = f32x4.add(sg0, f32x4.mul(v128.load(qG), w0));
        sb0 = f32x4.add(sb0, f32x4.mul(v128.load(qB), w0));
        ws0 = f32x4.add(ws0, w0);
        const w1 = f32x4.mul(gatherHi(), sw);
        sr1 = f32x4.add(sr1, f32x4.mul(v128.load(qR, 16), w1));
        sg1 = f32x4.add(sg1, f32x4.mul(v128.load(qG, 16), w1));
        sb1 = f32x4.add(sb1, f32x4.mul(v128.load(qB, 16), w1));
        ws1 = f32x4.add(ws1, w1);
      }
      const inv0 = f32x4.div(one, ws0), inv1 = f32x4.div(one, ws1);
      storeRgb4(
        out + <usize>(x * 3),
        f32x4.nearest(f32x4.mul(sr0, inv0)),
        f32x4.nearest(f32x4.mul(sg0, inv0)),
        f32x4.nearest(f32x4.mul(sb0, inv0)),
      );
      // Past the row end its lanes are junk; only the last row's could pass the 16-byte slack.
      if (x + 4 < width) {
        storeRgb4(
          out + <usize>((x + 4) * 3),
          f32x4.nearest(f32x4.mul(sr1, inv1)),
          f32x4.nearest(f32x4.mul(sg1, inv1)),
          f32x4.nearest(f32x4.mul(sb1, inv1)),
        );
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Separable area / bilinear resize.

/**
 * Vertical pass: tmp[i] = Σ_k w[k] × rows[k][i] for i < rowLen (bytes of one source row), f32.
 * rows: n source rows, rowLen bytes apart (16 bytes of readable slack after the last).
 */
export function resizeVertical(rows: usize, n: i32, rowLen: i32, w: usize, tmp: usize): void {
  for (let i = 0; i < rowLen; i += 16) {
    let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
    for (let k = 0; k < n; k++) {
      const v = v128.load(rows + <usize>(k * rowLen + i));
      const wk = f32x4.splat(load<f32>(w + (<usize>k << 2)));
      const lo = i16x8.extend_low_i8x16_u(v), hi = i16x8.extend_high_i8x16_u(v);
      a0 = f32x4.add(a0, f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_u(lo)), wk));
      a1 = f32x4.add(a1, f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_high_i16x8_u(lo)), wk));
      a2 = f32x4.add(a2, f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_u(hi)), wk));
      a3 = f32x4.add(a3, f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_high_i16x8_u(hi)), wk));
    }
    const t = tmp + (<usize>i << 2);
    v128.store(t, a0);
    v128.store(t, a1, 16);
    v128.store(t, a2, 32);
    v128.store(t, a3, 48);
  }
}

/**
 * Horizontal pass: out pixel dx = round(Σ_k xw[k] × tmp[xoff[k]..+3]) for k in
 * start[dx]..start[dx+1]; xoff are byte offsets into tmp (source x × 12). Writes 4 bytes per
 * pixel (the 4th is overwritten by the next pixel), so `out` needs one byte of slack.
 */
export function resizeHorizontal(
  tmp: usize,
  dw: i32,
  start: usize,
  xoff: usize,
  xw: usize,
  out: usize,
): void {
  let k = load<i32>(start);
  for (let dx = 0; dx < dw; dx++) {
    const e = load<i32>(start + (<usize>(dx + 1) << 2));
    let acc = f32x4.splat(0);
    for (; k < e; k++) {
      const v = v128.load(tmp + <usize>load<i32>(xoff + (<usize>k << 2)));
      acc = f32x4.add(acc, f32x4.mul(v, f32x4.splat(load<f32>(xw + (<usize>k << 2)))));
    }
    // Round half up, as the scalar reference and OpenCV's integer-scale area path do.
    const q = i32x4.trunc_sat_f32x4_s(f32x4.floor(f32x4.add(acc, f32x4.splat(0.5))));
    const b = i8x16.narrow_i16x8_u(i16x8.narrow_i32x4_s(q, q), q);
    v128.store32_lane(out + <usize>(dx * 3), b, 0);
  }
}

// ---------------------------------------------------------------------------------------------
// LAB balance (OpenCV's float RGB2Lab / Lab2RGB with the L and ab boosts), 4 pixels per step.

/**
 * Exact float → int for whole numbers in [0, 2^23): adding 2^23 puts the value in the mantissa
 * (two instructions, where i32x4.trunc_sat needs NaN/overflow fix-ups).
 */
// @ts-ignore: decorator
@inline function smallInt(v: v128): v128 {
  return v128.and(f32x4.add(v, f32x4.splat(8388608.0)), i32x4.splat(0x7fffff));
}

// sRGB → XYZ (D65) rows divided by the white point; XYZ → sRGB columns multiplied by it.
const WX: f32 = 0.950456;
const WZ: f32 = 1.088754;
const M0: f32 = 0.412453 / WX, M1: f32 = 0.35758 / WX, M2: f32 = 0.180423 / WX;
const M3: f32 = 0.212671, M4: f32 = 0.71516, M5: f32 = 0.072169;
const M6: f32 = 0.019334 / WZ, M7: f32 = 0.119193 / WZ, M8: f32 = 0.950227 / WZ;
const I0: f32 = 3.240479 * WX, I1: f32 = -1.53715, I2: f32 = -0.498535 * WZ;
const I3: f32 = -0.969256 * WX, I4: f32 = 1.875991, I5: f32 = 0.041556 * WZ;
const I6: f32 = 0.055648 * WX, I7: f32 = -0.204043, I8: f32 = 1.057311 * WZ;

// @ts-ignore: decorator
@inline function lin4(lin: usize, src: usize, c: i32): v128 {
  let v = f32x4.splat(load<f32>(lin + (<usize>load<u8>(src + <usize>c) << 2)));
  v = f32x4.replace_lane(v, 1, load<f32>(lin + (<usize>load<u8>(src + <usize>(c + 3)) << 2)));
  v = f32x4.replace_lane(v, 2, load<f32>(lin + (<usize>load<u8>(src + <usize>(c + 6)) << 2)));
  return f32x4.replace_lane(v, 3, load<f32>(lin + (<usize>load<u8>(src + <usize>(c + 9)) << 2)));
}

// @ts-ignore: decorator
@inline function mad3(a: f32, x: v128, b: f32, y: v128, c: f32, z: v128): v128 {
  return f32x4.add(
    f32x4.add(f32x4.mul(f32x4.splat(a), x), f32x4.mul(f32x4.splat(b), y)),
    f32x4.mul(f32x4.splat(c), z),
  );
}

/**
 * Cube root for x in [0.008856, 2]: bit-level first guess (within ~3%), two Newton steps
 * (relative error ~1e-6: below what moves an 8-bit result; tests/image/lab.test.ts).
 */
// @ts-ignore: decorator
@inline function cbrt4(x: v128): v128 {
  // bits(y) ≈ bits(x) / 3 + bits(1) × 2 / 3.
  const bits = f32x4.convert_i32x4_s(x);
  let y = i32x4.trunc_sat_f32x4_s(
    f32x4.add(f32x4.mul(bits, f32x4.splat(<f32>(1.0 / 3.0))), f32x4.splat(709921077.0)),
  );
  const third = f32x4.splat(<f32>(1.0 / 3.0));
  for (let i = 0; i < 2; i++) {
    y = f32x4.mul(f32x4.add(f32x4.add(y, y), f32x4.div(x, f32x4.mul(y, y))), third);
  }
  return y;
}

/**
 * Linear light (4 lanes) → 8-bit sRGB levels as i32 lanes: the bucket table gives the candidate
 * level k, one comparison with the exact threshold thr[k] adds the last step.
 */
// @ts-ignore: decorator
@inline function encode4(v: v128, bucket: usize, thr: usize): v128 {
  // pmax(0, v) is 0 for NaN (stale lanes past the end), so x is always in [0, 1].
  const x = f32x4.pmin(f32x4.splat(1), f32x4.pmax(f32x4.splat(0), v));
  const idx = i32x4.min_u(smallInt(f32x4.floor(f32x4.mul(x, f32x4.splat(4096)))), i32x4.splat(4096));
  const k0 = <i32>load<u8>(bucket + <usize>i32x4.extract_lane(idx, 0));
  const k1 = <i32>load<u8>(bucket + <usize>i32x4.extract_lane(idx, 1));
  const k2 = <i32>load<u8>(bucket + <usize>i32x4.extract_lane(idx, 2));
  const k3 = <i32>load<u8>(bucket + <usize>i32x4.extract_lane(idx, 3));
  let k = i32x4.splat(k0);
  k = i32x4.replace_lane(k, 1, k1);
  k = i32x4.replace_lane(k, 2, k2);
  k = i32x4.replace_lane(k, 3, k3);
  let t = f32x4.splat(load<f32>(thr + (<usize>k0 << 2)));
  t = f32x4.replace_lane(t, 1, load<f32>(thr + (<usize>k1 << 2)));
  t = f32x4.replace_lane(t, 2, load<f32>(thr + (<usize>k2 << 2)));
  t = f32x4.replace_lane(t, 3, load<f32>(thr + (<usize>k3 << 2)));
  // The comparison mask is -1 where x ≥ thr[k].
  return i32x4.sub(k, f32x4.ge(x, t));
}

/**
 * n pixels of packed RGB src → dst. lin: 256 f32 (sRGB decode); bucket: 4097 u8 (candidate
 * 8-bit level per 1/4096 of linear light); thr: 256 f32 (linear value where level k becomes
 * k + 1). src needs 12 bytes of readable slack, dst 16 bytes of writable slack.
 */
export function labBalance(
  src: usize,
  dst: usize,
  n: i32,
  lin: usize,
  bucket: usize,
  thr: usize,
  lBoost: f32,
  abBoost: f32,
): void {
  const T = f32x4.splat(0.008856);
  const K = f32x4.splat(7.787);
  const KI = f32x4.splat(<f32>(1.0 / 7.787));
  const F16 = f32x4.splat(<f32>(16.0 / 116.0));
  const LT = f32x4.splat(<f32>(0.008856 * 903.3));
  const FT = f32x4.splat(<f32>(7.787 * 0.008856 + 16.0 / 116.0));
  for (let i = 0; i < n; i += 4) {
    const s = src + <usize>(i * 3);
    const r = lin4(lin, s, 0), g = lin4(lin, s, 1), b = lin4(lin, s, 2);
    const X = mad3(M0, r, M1, g, M2, b);
    const Y = mad3(M3, r, M4, g, M5, b);
    const Z = mad3(M6, r, M7, g, M8, b);
    const fx = v128.bitselect(cbrt4(f32x4.pmax(X, T)), f32x4.add(f32x4.mul(K, X), F16), f32x4.gt(X, T));
    const yBig = f32x4.gt(Y, T);
    const fy = v128.bitselect(cbrt4(f32x4.pmax(Y, T)), f32x4.add(f32x4.mul(K, Y), F16), yBig);
    const fz = v128.bitselect(cbrt4(f32x4.pmax(Z, T)), f32x4.add(f32x4.mul(K, Z), F16), f32x4.gt(Z, T));
    let L = v128.bitselect(
      f32x4.sub(f32x4.mul(f32x4.splat(116), fy), f32x4.splat(16)),
      f32x4.mul(f32x4.splat(903.3), Y),
      yBig,
    );
    const A = f32x4.mul(f32x4.mul(f32x4.splat(500), f32x4.sub(fx, fy)), f32x4.splat(abBoost));
    const B = f32x4.mul(f32x4.mul(f32x4.splat(200), f32x4.sub(fy, fz)), f32x4.splat(abBoost));
    L = f32x4.pmin(f32x4.splat(100), f32x4.pmax(f32x4.splat(0), f32x4.mul(L, f32x4.splat(lBoost))));
    // Lab → XYZ (OpenCV Lab2RGB_f).
    const lSmall = f32x4.le(L, LT);
    const ySmall = f32x4.mul(L, f32x4.splat(<f32>(1.0 / 903.3)));
    const gyBig = f32x4.mul(f32x4.add(L, f32x4.splat(16)), f32x4.splat(<f32>(1.0 / 116.0)));
    const y2 = v128.bitselect(ySmall, f32x4.mul(f32x4.mul(gyBig, gyBig), gyBig), lSmall);
    const gy = v128.bitselect(f32x4.add(f32x4.mul(K, ySmall), F16), gyBig, lSmall);
    const x1 = f32x4.add(gy, f32x4.mul(A, f32x4.splat(<f32>(1.0 / 500.0))));
    const z1 = f32x4.sub(gy, f32x4.mul(B, f32x4.splat(<f32>(1.0 / 200.0))));
    const x2 = v128.bitselect(
      f32x4.mul(f32x4.sub(x1, F16), KI),
      f32x4.mul(f32x4.mul(x1, x1), x1),
      f32x4.le(x1, FT),
    );
    const z2 = v128.bitselect(
      f32x4.mul(f32x4.sub(z1, F16), KI),
      f32x4.mul(f32x4.mul(z1, z1), z1),
      f32x4.le(z1, FT),
    );
    const r8 = encode4(mad3(I0, x2, I1, y2, I2, z2), bucket, thr);
    const g8 = encode4(mad3(I3, x2, I4, y2, I5, z2), bucket, thr);
    const b8 = encode4(mad3(I6, x2, I7, y2, I8, z2), bucket, thr);
    // Bytes r0..r3 g0..g3 b0..b3 → r0 g0 b0 r1 g1 b1 ... (12 bytes; dst has 4 bytes of slack).
    const rg = i16x8.narrow_i32x4_s(r8, g8);
    const bytes = i8x16.narrow_i16x8_u(rg, i16x8.narrow_i32x4_s(b8, b8));
    const packed = i8x16.shuffle(bytes, bytes, 0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11, 12, 13, 14, 15);
    v128.store(dst + <usize>(i * 3), packed);
  }
}

// ---------------------------------------------------------------------------------------------
// JPEG encoder, forward half: colour conversion, chroma subsampling, float AAN DCT (jfdctflt.c),
// quantisation and zigzag ordering. Huffman coding stays in TypeScript (jpeg_encode.ts).

/**
 * One MCU strip (mcu = 8·hs rows from y0) of packed RGB → f32 planes, edges replicated:
 * Y (planeW × mcu, level-shifted by -128), Cb and Cr (planeW/hs × 8). With hs = 2 the chroma is
 * the 2×2 average of the full-resolution chroma values.
 */
export function jpegPlanes(
  rgb: usize,
  width: i32,
  height: i32,
  y0: i32,
  hs: i32,
  planeW: i32,
  yp: usize,
  cbp: usize,
  crp: usize,
): void {
  const mcu = 8 * hs;
  const cw = planeW / hs;
  if (hs == 2) {
    for (let i = 0, n = 8 * cw; i < n; i++) {
      store<f32>(cbp + (<usize>i << 2), 0);
      store<f32>(crp + (<usize>i << 2), 0);
    }
  }
  for (let y = 0; y < mcu; y++) {
    let sy = y0 + y;
    if (sy > height - 1) sy = height - 1;
    const row = rgb + <usize>(sy * width * 3);
    const yo = yp + (<usize>(y * planeW) << 2);
    const co = <usize>((y / hs) * cw) << 2;
    for (let x = 0; x < planeW; x++) {
      const sx = x < width ? x : width - 1;
      const p = row + <usize>(sx * 3);
      const r = <f32>load<u8>(p), g = <f32>load<u8>(p, 1), b = <f32>load<u8>(p, 2);
      store<f32>(yo + (<usize>x << 2), <f32>0.299 * r + <f32>0.587 * g + <f32>0.114 * b - 128);
      const cb = <f32>-0.168735892 * r - <f32>0.331264108 * g + <f32>0.5 * b;
      const cr = <f32>0.5 * r - <f32>0.418687589 * g - <f32>0.081312411 * b;
      if (hs == 1) {
        store<f32>(cbp + co + (<usize>x << 2), cb);
        store<f32>(crp + co + (<usize>x << 2), cr);
      } else {
        const q = co + (<usize>(x >> 1) << 2);
        store<f32>(cbp + q, load<f32>(cbp + q) + <f32>0.25 * cb);
        store<f32>(crp + q, load<f32>(crp + q) + <f32>0.25 * cr);
      }
    }
  }
}

// @ts-ignore: decorator
@inline function transpose4(
  a: v128,
  b: v128,
  c: v128,
  d: v128,
  out: usize,
  stride: usize,
): void {
  // Writes the transpose of rows a..d as 4 rows `stride` bytes apart.
  const t0 = v128.shuffle<f32>(a, b, 0, 4, 1, 5);
  const t1 = v128.shuffle<f32>(a, b, 2, 6, 3, 7);
  const t2 = v128.shuffle<f32>(c, d, 0, 4, 1, 5);
  const t3 = v128.shuffle<f32>(c, d, 2, 6, 3, 7);
  v128.store(out, v128.shuffle<f32>(t0, t2, 0, 1, 4, 5));
  v128.store(out + stride, v128.shuffle<f32>(t0, t2, 2, 3, 6, 7));
  v128.store(out + 2 * stride, v128.shuffle<f32>(t1, t3, 0, 1, 4, 5));
  v128.store(out + 3 * stride, v128.shuffle<f32>(t1, t3, 2, 3, 6, 7));
}

/**
 * The 1-D AAN DCT down the columns of an 8×8 f32 block at `blk` (rows 32 bytes apart), 4
 * columns per vector; `half` selects columns 0..3 (0) or 4..7 (16).
 */
// @ts-ignore: decorator
@inline function dctColumns(blk: usize, half: usize): void {
  const p = blk + half;
  const d0 = v128.load(p), d1 = v128.load(p, 32), d2 = v128.load(p, 64), d3 = v128.load(p, 96);
  const d4 = v128.load(p, 128), d5 = v128.load(p, 160), d6 = v128.load(p, 192);
  const d7 = v128.load(p, 224);
  const t0 = f32x4.add(d0, d7), t7 = f32x4.sub(d0, d7);
  const t1 = f32x4.add(d1, d6), t6 = f32x4.sub(d1, d6);
  const t2 = f32x4.add(d2, d5), t5 = f32x4.sub(d2, d5);
  const t3 = f32x4.add(d3, d4), t4 = f32x4.sub(d3, d4);
  let t10 = f32x4.add(t0, t3), t11 = f32x4.add(t1, t2), t12 = f32x4.sub(t1, t2);
  const t13 = f32x4.sub(t0, t3);
  v128.store(p, f32x4.add(t10, t11));
  v128.store(p, f32x4.sub(t10, t11), 128);
  const z1 = f32x4.mul(f32x4.add(t12, t13), f32x4.splat(0.707106781));
  v128.store(p, f32x4.add(t13, z1), 64);
  v128.store(p, f32x4.sub(t13, z1), 192);
  t10 = f32x4.add(t4, t5);
  t11 = f32x4.add(t5, t6);
  t12 = f32x4.add(t6, t7);
  const z5 = f32x4.mul(f32x4.sub(t10, t12), f32x4.splat(0.382683433));
  const z2 = f32x4.add(f32x4.mul(f32x4.splat(0.5411961), t10), z5);
  const z4 = f32x4.add(f32x4.mul(f32x4.splat(1.306562965), t12), z5);
  const z3 = f32x4.mul(t11, f32x4.splat(0.707106781));
  const z11 = f32x4.add(t7, z3), z13 = f32x4.sub(t7, z3);
  v128.store(p, f32x4.add(z13, z2), 160);
  v128.store(p, f32x4.sub(z13, z2), 96);
  v128.store(p, f32x4.add(z11, z4), 32);
  v128.store(p, f32x4.sub(z11, z4), 224);
}

// @ts-ignore: decorator
@inline function transpose8(src: usize, dst: usize): void {
  for (let i: usize = 0; i < 2; i++) {
    for (let j: usize = 0; j < 2; j++) {
      const s = src + i * 128 + j * 16;
      transpose4(
        v128.load(s),
        v128.load(s, 32),
        v128.load(s, 64),
        v128.load(s, 96),
        dst + j * 128 + i * 16,
        32,
      );
    }
  }
}

/**
 * DCT + quantisation of `n` blocks of a plane: block k covers columns 8k..8k+7 of rows
 * row0..row0+7 (plane rows planeW floats apart). div: 64 f32 divisors in natural order
 * (1 / (q · aan_r · aan_c · 8)); zigzag: 64 u8 natural indices in zigzag order. Block k is
 * written to coeffs (i16, zigzag order) as block number first + (k / per) · mcuStride + k % per;
 * last[block] (u8) = index of its last non-zero coefficient (0 when only DC or none).
 * scratch: 512 bytes.
 */
export function jpegBlocks(
  plane: usize,
  planeW: i32,
  row0: i32,
  n: i32,
  div: usize,
  zigzag: usize,
  coeffs: usize,
  last: usize,
  first: i32,
  per: i32,
  mcuStride: i32,
  scratch: usize,
): void {
  const a = scratch, b = scratch + 256;
  const half = f32x4.splat(0.5);
  const sign = i32x4.splat(0x80000000);
  for (let k = 0; k < n; k++) {
    // Gather the block (rows planeW floats apart) into a, row pass via transpose.
    const src = plane + (<usize>(row0 * planeW + k * 8) << 2);
    for (let r: usize = 0; r < 8; r++) {
      const s = src + (r * <usize>planeW << 2);
      v128.store(a + r * 32, v128.load(s));
      v128.store(a + r * 32, v128.load(s, 16), 16);
    }
    transpose8(a, b); // b: columns as rows
    dctColumns(b, 0); // DCT along the original rows
    dctColumns(b, 16);
    transpose8(b, a); // back: rows
    dctColumns(a, 0); // DCT along the columns
    dctColumns(a, 16);
    // Quantise: round half away from zero, as (v < 0 ? -floor(0.5 - v) : floor(v + 0.5)).
    for (let i: usize = 0; i < 16; i++) {
      const v = f32x4.mul(v128.load(a + i * 16), v128.load(div + i * 16));
      const q = f32x4.trunc(f32x4.add(v, v128.or(v128.and(v, sign), half)));
      v128.store(a + i * 16, i32x4.trunc_sat_f32x4_s(q));
    }
    const blockNo = first + (k / per) * mcuStride + (k % per);
    const out = coeffs + (<usize>blockNo << 7);
    let lastNz = 0;
    for (let i = 0; i < 64; i++) {
      const v = load<i32>(a + (<usize>load<u8>(zigzag + <usize>i) << 2));
      store<i16>(out + (<usize>i << 1), <i16>v);
      if (v != 0) lastNz = i;
    }
    store<u8>(last + <usize>blockNo, <u8>lastNz);
  }
}

// ---------------------------------------------------------------------------------------------
// JPEG encoder, entropy half: symbol statistics (for optimal Huffman tables) and the scan.

// @ts-ignore: decorator
@inline function bitLength(v: i32): i32 {
  return 32 - clz<i32>(v < 0 ? -v : v);
}

// @ts-ignore: decorator
@inline function blockComp(bi: i32, bpm: i32, luma: i32): i32 {
  const inMcu = bi % bpm;
  return inMcu < luma ? 0 : inMcu - luma + 1;
}

/**
 * Counts DC size classes and AC (run, size) symbols per table: freq = 4 u32[256] tables
 * (DC luma, AC luma, DC chroma, AC chroma). coeffs/last as jpegBlocks writes them; bpm blocks
 * per MCU of which the first `luma` are Y.
 */
export function jpegStats(
  coeffs: usize,
  last: usize,
  nBlocks: i32,
  bpm: i32,
  luma: i32,
  freq: usize,
): void {
  let p0 = 0, p1 = 0, p2 = 0;
  for (let bi = 0; bi < nBlocks; bi++) {
    const comp = blockComp(bi, bpm, luma);
    const dcT = freq + (comp == 0 ? 0 : 2048), acT = dcT + 1024;
    const blk = coeffs + (<usize>bi << 7);
    const dc = <i32>load<i16>(blk);
    let diff: i32;
    if (comp == 0) {
      diff = dc - p0;
      p0 = dc;
    } else if (comp == 1) {
      diff = dc - p1;
      p1 = dc;
    } else {
      diff = dc - p2;
      p2 = dc;
    }
    const d = dcT + (<usize>bitLength(diff) << 2);
    store<u32>(d, load<u32>(d) + 1);
    const end = <i32>load<u8>(last + <usize>bi);
    let run = 0;
    for (let i = 1; i <= end; i++) {
      const v = <i32>load<i16>(blk + (<usize>i << 1));
      if (v == 0) {
        run++;
        continue;
      }
      while (run > 15) {
        store<u32>(acT + (0xf0 << 2), load<u32>(acT + (0xf0 << 2)) + 1);
        run -= 16;
      }
      const a = acT + (<usize>((run << 4) | bitLength(v)) << 2);
      store<u32>(a, load<u32>(a) + 1);
      run = 0;
    }
    if (end < 63) store<u32>(acT, load<u32>(acT) + 1);
  }
}

/** Writes the whole bytes of the `nbits` pending low bits of acc (0xFF gets a 0 after it). */
// @ts-ignore: decorator
@inline function flushBytes(acc: u64, nbits: i32, pos: usize): usize {
  while (nbits >= 8) {
    nbits -= 8;
    const byte = <u8>(acc >> <u64>nbits);
    store<u8>(pos++, byte);
    if (byte == 0xff) store<u8>(pos++, 0);
  }
  return pos;
}

/**
 * Writes the entropy-coded scan to `out` (byte stuffing after 0xFF, final byte padded with
 * ones) and returns its length. codes: 4 tables (same order as jpegStats) of u32 code[256]
 * followed by u32 size[256]. out needs 512 bytes per block. Whole bytes are flushed after every
 * symbol, so at most 7 + 16 + 11 bits are ever pending in the 64-bit accumulator.
 */
export function jpegScan(
  coeffs: usize,
  last: usize,
  nBlocks: i32,
  bpm: i32,
  luma: i32,
  codes: usize,
  out: usize,
): i32 {
  let acc: u64 = 0;
  let nbits: i32 = 0;
  let pos = out;
  let p0 = 0, p1 = 0, p2 = 0;
  for (let bi = 0; bi < nBlocks; bi++) {
    const comp = blockComp(bi, bpm, luma);
    const dcT = codes + (comp == 0 ? 0 : 4096), acT = dcT + 2048;
    const blk = coeffs + (<usize>bi << 7);
    const dc = <i32>load<i16>(blk);
    let diff: i32;
    if (comp == 0) {
      diff = dc - p0;
      p0 = dc;
    } else if (comp == 1) {
      diff = dc - p1;
      p1 = dc;
    } else {
      diff = dc - p2;
      p2 = dc;
    }
    let s = bitLength(diff);
    const dcSize = <i32>load<u32>(dcT + 1024 + (<usize>s << 2));
    acc = (acc << <u64>dcSize) | <u64>load<u32>(dcT + (<usize>s << 2));
    acc = (acc << <u64>s) | <u64>((diff < 0 ? diff - 1 : diff) & ((1 << s) - 1));
    nbits += dcSize + s;
    pos = flushBytes(acc, nbits, pos);
    nbits &= 7;
    const end = <i32>load<u8>(last + <usize>bi);
    let run = 0;
    for (let i = 1; i <= end; i++) {
      const v = <i32>load<i16>(blk + (<usize>i << 1));
      if (v == 0) {
        run++;
        continue;
      }
      while (run > 15) {
        const zrl = <i32>load<u32>(acT + 1024 + (0xf0 << 2));
        acc = (acc << <u64>zrl) | <u64>load<u32>(acT + (0xf0 << 2));
        nbits += zrl;
        pos = flushBytes(acc, nbits, pos);
        nbits &= 7;
        run -= 16;
      }
      s = bitLength(v);
      const sym = <usize>((run << 4) | s) << 2;
      const size = <i32>load<u32>(acT + 1024 + sym);
      acc = (acc << <u64>size) | <u64>load<u32>(acT + sym);
      acc = (acc << <u64>s) | <u64>((v < 0 ? v - 1 : v) & ((1 << s) - 1));
      nbits += size + s;
      pos = flushBytes(acc, nbits, pos);
      nbits &= 7;
      run = 0;
    }
    if (end < 63) {
      const eob = <i32>load<u32>(acT + 1024);
      acc = (acc << <u64>eob) | <u64>load<u32>(acT);
      nbits += eob;
      pos = flushBytes(acc, nbits, pos);
      nbits &= 7;
    }
  }
  if (nbits > 0) {
    const pad = 8 - nbits;
    acc = (acc << <u64>pad) | <u64>((1 << pad) - 1);
    pos = flushBytes(acc, 8, pos);
  }
  return <i32>(pos - out);
}
