/**
 * Baseline JPEG encoder (JFIF, YCbCr 4:2:0 or 4:4:4) with optional optimized Huffman tables
 * (two passes: symbol statistics, then libjpeg's jpeg_gen_optimal_table, JPEG Annex K.2).
 * imagescript 1.3.1 only encodes JPEG through its native addon (needs FFI), and mozjpeg's wasm
 * build (@jsquash/jpeg) measured ~3x slower at q95 (BENCHMARKS.md), hence this file. The
 * forward half (colour conversion, DCT, quantisation) runs in the wasm kernels
 * (kernels/assembly/kernels.ts); `forwardScalar` is its TypeScript reference.
 */
import { type Kernels, kernels, Layout, trimKernels } from "./kernels/wasm.ts";

const ZIGZAG = new Uint8Array([
  0,
  1,
  8,
  16,
  9,
  2,
  3,
  10,
  17,
  24,
  32,
  25,
  18,
  11,
  4,
  5,
  12,
  19,
  26,
  33,
  40,
  48,
  41,
  34,
  27,
  20,
  13,
  6,
  7,
  14,
  21,
  28,
  35,
  42,
  49,
  56,
  57,
  50,
  43,
  36,
  29,
  22,
  15,
  23,
  30,
  37,
  44,
  51,
  58,
  59,
  52,
  45,
  38,
  31,
  39,
  46,
  53,
  60,
  61,
  54,
  47,
  55,
  62,
  63,
]);

// Annex K tables, natural (row-major) order.
const STD_LUMA_Q = [
  16,
  11,
  10,
  16,
  24,
  40,
  51,
  61,
  12,
  12,
  14,
  19,
  26,
  58,
  60,
  55,
  14,
  13,
  16,
  24,
  40,
  57,
  69,
  56,
  14,
  17,
  22,
  29,
  51,
  87,
  80,
  62,
  18,
  22,
  37,
  56,
  68,
  109,
  103,
  77,
  24,
  35,
  55,
  64,
  81,
  104,
  113,
  92,
  49,
  64,
  78,
  87,
  103,
  121,
  120,
  101,
  72,
  92,
  95,
  98,
  112,
  100,
  103,
  99,
];
const STD_CHROMA_Q = [
  17,
  18,
  24,
  47,
  99,
  99,
  99,
  99,
  18,
  21,
  26,
  66,
  99,
  99,
  99,
  99,
  24,
  26,
  56,
  99,
  99,
  99,
  99,
  99,
  47,
  66,
  99,
  99,
  99,
  99,
  99,
  99,
  99,
  99,
  99,
  99,
  99,
  99,
  99,
  99,
  99,
  99,
  99,
  99,
  99,
  99,
  99,
  99,
  99,
  99,
  99,
  99,
  99,
  99,
  99,
  99,
  99,
  99,
  99,
  99,
  99,
  99,
  99,
  99,
];

interface HuffSpec {
  bits: number[]; // bits[1..16]
  vals: number[];
}
const STD_DC_LUMA: HuffSpec = {
  bits: [0, 0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0],
  vals: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11],
};
const STD_DC_CHROMA: HuffSpec = {
  bits: [0, 0, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0],
  vals: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11],
};
const STD_AC_LUMA: HuffSpec = {
  bits: [0, 0, 2, 1, 3, 3, 2, 4, 3, 5, 5, 4, 4, 0, 0, 1, 0x7d],
  vals: [
    0x01,
    0x02,
    0x03,
    0x00,
    0x04,
    0x11,
    0x05,
    0x12,
    0x21,
    0x31,
    0x41,
    0x06,
    0x13,
    0x51,
    0x61,
    0x07,
    0x22,
    0x71,
    0x14,
    0x32,
    0x81,
    0x91,
    0xa1,
    0x08,
    0x23,
    0x42,
    0xb1,
    0xc1,
    0x15,
    0x52,
    0xd1,
    0xf0,
    0x24,
    0x33,
    0x62,
    0x72,
    0x82,
    0x09,
    0x0a,
    0x16,
    0x17,
    0x18,
    0x19,
    0x1a,
    0x25,
    0x26,
    0x27,
    0x28,
    0x29,
    0x2a,
    0x34,
    0x35,
    0x36,
    0x37,
    0x38,
    0x39,
    0x3a,
    0x43,
    0x44,
    0x45,
    0x46,
    0x47,
    0x48,
    0x49,
    0x4a,
    0x53,
    0x54,
    0x55,
    0x56,
    0x57,
    0x58,
    0x59,
    0x5a,
    0x63,
    0x64,
    0x65,
    0x66,
    0x67,
    0x68,
    0x69,
    0x6a,
    0x73,
    0x74,
    0x75,
    0x76,
    0x77,
    0x78,
    0x79,
    0x7a,
    0x83,
    0x84,
    0x85,
    0x86,
    0x87,
    0x88,
    0x89,
    0x8a,
    0x92,
    0x93,
    0x94,
    0x95,
    0x96,
    0x97,
    0x98,
    0x99,
    0x9a,
    0xa2,
    0xa3,
    0xa4,
    0xa5,
    0xa6,
    0xa7,
    0xa8,
    0xa9,
    0xaa,
    0xb2,
    0xb3,
    0xb4,
    0xb5,
    0xb6,
    0xb7,
    0xb8,
    0xb9,
    0xba,
    0xc2,
    0xc3,
    0xc4,
    0xc5,
    0xc6,
    0xc7,
    0xc8,
    0xc9,
    0xca,
    0xd2,
    0xd3,
    0xd4,
    0xd5,
    0xd6,
    0xd7,
    0xd8,
    0xd9,
    0xda,
    0xe1,
    0xe2,
    0xe3,
    0xe4,
    0xe5,
    0xe6,
    0xe7,
    0xe8,
    0xe9,
    0xea,
    0xf1,
    0xf2,
    0xf3,
    0xf4,
    0xf5,
    0xf6,
    0xf7,
    0xf8,
    0xf9,
    0xfa,
  ],
};
const STD_AC_CHROMA: HuffSpec = {
  bits: [0, 0, 2, 1, 2, 4, 4, 3, 4, 7, 5, 4, 4, 0, 1, 2, 0x77],
  vals: [
    0x00,
    0x01,
    0x02,
    0x03,
    0x11,
    0x04,
    0x05,
    0x21,
    0x31,
    0x06,
    0x12,
    0x41,
    0x51,
    0x07,
    0x61,
    0x71,
    0x13,
    0x22,
    0x32,
    0x81,
    0x08,
    0x14,
    0x42,
    0x91,
    0xa1,
    0xb1,
    0xc1,
    0x09,
    0x23,
    0x33,
    0x52,
    0xf0,
    0x15,
    0x62,
    0x72,
    0xd1,
    0x0a,
    0x16,
    0x24,
    0x34,
    0xe1,
    0x25,
    0xf1,
    0x17,
    0x18,
    0x19,
    0x1a,
    0x26,
    0x27,
    0x28,
    0x29,
    0x2a,
    0x35,
    0x36,
    0x37,
    0x38,
    0x39,
    0x3a,
    0x43,
    0x44,
    0x45,
    0x46,
    0x47,
    0x48,
    0x49,
    0x4a,
    0x53,
    0x54,
    0x55,
    0x56,
    0x57,
    0x58,
    0x59,
    0x5a,
    0x63,
    0x64,
    0x65,
    0x66,
    0x67,
    0x68,
    0x69,
    0x6a,
    0x73,
    0x74,
    0x75,
    0x76,
    0x77,
    0x78,
    0x79,
    0x7a,
    0x82,
    0x83,
    0x84,
    0x85,
    0x86,
    0x87,
    0x88,
    0x89,
    0x8a,
    0x92,
    0x93,
    0x94,
    0x95,
    0x96,
    0x97,
    0x98,
    0x99,
    0x9a,
    0xa2,
    0xa3,
    0xa4,
    0xa5,
    0xa6,
    0xa7,
    0xa8,
    0xa9,
    0xaa,
    0xb2,
    0xb3,
    0xb4,
    0xb5,
    0xb6,
    0xb7,
    0xb8,
    0xb9,
    0xba,
    0xc2,
    0xc3,
    0xc4,
    0xc5,
    0xc6,
    0xc7,
    0xc8,
    0xc9,
    0xca,
    0xd2,
    0xd3,
    0xd4,
    0xd5,
    0xd6,
    0xd7,
    0xd8,
    0xd9,
    0xda,
    0xe2,
    0xe3,
    0xe4,
    0xe5,
    0xe6,
    0xe7,
    0xe8,
    0xe9,
    0xea,
    0xf2,
    0xf3,
    0xf4,
    0xf5,
    0xf6,
    0xf7,
    0xf8,
    0xf9,
    0xfa,
  ],
};

function scaledQuant(base: number[], quality: number): Uint8Array {
  const q = Math.min(100, Math.max(1, Math.round(quality)));
  const scale = q < 50 ? Math.floor(5000 / q) : 200 - q * 2;
  const out = new Uint8Array(64);
  for (let i = 0; i < 64; i++) {
    out[i] = Math.min(255, Math.max(1, Math.floor((base[i]! * scale + 50) / 100)));
  }
  return out;
}

const AAN = [1.0, 1.387039845, 1.306562965, 1.175875602, 1.0, 0.785694958, 0.5411961, 0.275899379];

/** Divisors for the float AAN DCT, natural order. */
function fdctDivisors(q: Uint8Array): Float32Array {
  const out = new Float32Array(64);
  for (let r = 0; r < 8; r++) {
    for (let c = 0; c < 8; c++) out[r * 8 + c] = 1 / (q[r * 8 + c]! * AAN[r]! * AAN[c]! * 8);
  }
  return out;
}

/** In-place float AAN forward DCT (jfdctflt.c); output unscaled. */
function fdct(d: Float32Array): void {
  for (let o = 0; o < 64; o += 8) {
    const t0 = d[o]! + d[o + 7]!, t7 = d[o]! - d[o + 7]!;
    const t1 = d[o + 1]! + d[o + 6]!, t6 = d[o + 1]! - d[o + 6]!;
    const t2 = d[o + 2]! + d[o + 5]!, t5 = d[o + 2]! - d[o + 5]!;
    const t3 = d[o + 3]! + d[o + 4]!, t4 = d[o + 3]! - d[o + 4]!;
    let t10 = t0 + t3, t11 = t1 + t2, t12 = t1 - t2;
    const t13 = t0 - t3;
    d[o] = t10 + t11;
    d[o + 4] = t10 - t11;
    const z1 = (t12 + t13) * 0.707106781;
    d[o + 2] = t13 + z1;
    d[o + 6] = t13 - z1;
    t10 = t4 + t5;
    t11 = t5 + t6;
    t12 = t6 + t7;
    const z5 = (t10 - t12) * 0.382683433;
    const z2 = 0.5411961 * t10 + z5;
    const z4 = 1.306562965 * t12 + z5;
    const z3 = t11 * 0.707106781;
    const z11 = t7 + z3, z13 = t7 - z3;
    d[o + 5] = z13 + z2;
    d[o + 3] = z13 - z2;
    d[o + 1] = z11 + z4;
    d[o + 7] = z11 - z4;
  }
  for (let o = 0; o < 8; o++) {
    const t0 = d[o]! + d[o + 56]!, t7 = d[o]! - d[o + 56]!;
    const t1 = d[o + 8]! + d[o + 48]!, t6 = d[o + 8]! - d[o + 48]!;
    const t2 = d[o + 16]! + d[o + 40]!, t5 = d[o + 16]! - d[o + 40]!;
    const t3 = d[o + 24]! + d[o + 32]!, t4 = d[o + 24]! - d[o + 32]!;
    let t10 = t0 + t3, t11 = t1 + t2, t12 = t1 - t2;
    const t13 = t0 - t3;
    d[o] = t10 + t11;
    d[o + 32] = t10 - t11;
    const z1 = (t12 + t13) * 0.707106781;
    d[o + 16] = t13 + z1;
    d[o + 48] = t13 - z1;
    t10 = t4 + t5;
    t11 = t5 + t6;
    t12 = t6 + t7;
    const z5 = (t10 - t12) * 0.382683433;
    const z2 = 0.5411961 * t10 + z5;
    const z4 = 1.306562965 * t12 + z5;
    const z3 = t11 * 0.707106781;
    const z11 = t7 + z3, z13 = t7 - z3;
    d[o + 40] = z13 + z2;
    d[o + 24] = z13 - z2;
    d[o + 8] = z11 + z4;
    d[o + 56] = z11 - z4;
  }
}

function bitLength(v: number): number {
  return 32 - Math.clz32(v < 0 ? -v : v);
}

/** libjpeg jpeg_gen_optimal_table: code lengths limited to 16 bits from symbol counts. */
function optimalTable(freqIn: Uint32Array): HuffSpec {
  const freq = new Float64Array(257);
  for (let i = 0; i < 256; i++) freq[i] = freqIn[i]!;
  freq[256] = 1; // reserved so no code is all ones
  const codesize = new Int32Array(257);
  const others = new Int32Array(257).fill(-1);
  while (true) {
    let c1 = -1, v = Infinity;
    for (let i = 0; i <= 256; i++) if (freq[i]! && freq[i]! <= v) (v = freq[i]!, c1 = i);
    let c2 = -1;
    v = Infinity;
    for (let i = 0; i <= 256; i++) {
      if (freq[i]! && freq[i]! <= v && i !== c1) (v = freq[i]!, c2 = i);
    }
    if (c2 < 0) break;
    freq[c1] = freq[c1]! + freq[c2]!;
    freq[c2] = 0;
    codesize[c1]!++;
    while (others[c1]! >= 0) {
      c1 = others[c1]!;
      codesize[c1]!++;
    }
    others[c1] = c2;
    codesize[c2]!++;
    while (others[c2]! >= 0) {
      c2 = others[c2]!;
      codesize[c2]!++;
    }
  }
  const bits = new Int32Array(33);
  for (let i = 0; i <= 256; i++) if (codesize[i]) bits[codesize[i]!]!++;
  for (let i = 32; i > 16; i--) {
    while (bits[i]! > 0) {
      let j = i - 2;
      while (bits[j] === 0) j--;
      bits[i] = bits[i]! - 2;
      bits[i - 1]!++;
      bits[j + 1] = bits[j + 1]! + 2;
      bits[j]!--;
    }
  }
  let i = 16;
  while (bits[i] === 0) i--;
  bits[i]!--;
  const vals: number[] = [];
  for (let len = 1; len <= 32; len++) {
    for (let s = 0; s < 256; s++) if (codesize[s] === len) vals.push(s);
  }
  return { bits: Array.from(bits.subarray(0, 17)), vals };
}

interface HuffCodes {
  code: Uint16Array;
  size: Uint8Array;
}
function buildCodes(spec: HuffSpec): HuffCodes {
  const code = new Uint16Array(256), size = new Uint8Array(256);
  let c = 0, k = 0;
  for (let len = 1; len <= 16; len++) {
    for (let n = 0; n < spec.bits[len]!; n++) {
      const sym = spec.vals[k++]!;
      code[sym] = c++;
      size[sym] = len;
    }
    c <<= 1;
  }
  return { code, size };
}

class ByteOut {
  buf: Uint8Array;
  pos = 0;
  constructor(cap: number) {
    this.buf = new Uint8Array(Math.max(1024, cap));
  }
  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const nb = new Uint8Array(Math.max(this.buf.length * 2, this.pos + n));
    nb.set(this.buf.subarray(0, this.pos));
    this.buf = nb;
  }
  byte(v: number): void {
    this.ensure(1);
    this.buf[this.pos++] = v;
  }
  u16(v: number): void {
    this.byte(v >> 8);
    this.byte(v & 0xff);
  }
  bytes(a: ArrayLike<number>): void {
    this.ensure(a.length);
    for (let i = 0; i < a.length; i++) this.buf[this.pos++] = a[i]!;
  }
}

interface ForwardLayout {
  width: number;
  height: number;
  hs: number;
  mcusX: number;
  mcusY: number;
  blocksPerMcu: number;
  divY: Float32Array;
  divC: Float32Array;
}

interface Forward {
  /** Quantised coefficients, 64 per block in zigzag order, blocks in scan (MCU) order. */
  coeffs: Int16Array;
  /** Per block: zigzag index of its last non-zero coefficient (0 when none after DC). */
  last: Uint8Array;
}

/**
 * The forward half in the wasm kernels, one MCU strip at a time; returns where the coefficients
 * and last-non-zero indices lie in wasm memory (`last` is the last block of the layout).
 */
function forwardWasm(
  rgb: Uint8Array,
  l: ForwardLayout,
): { coeffs: number; last: number; nBlocks: number; kx: Kernels } {
  const { width, height, hs, mcusX, mcusY, blocksPerMcu } = l;
  const mcu = 8 * hs, planeW = mcusX * mcu, nBlocks = mcusX * mcusY * blocksPerMcu;
  const kx = kernels();
  const lay = kx.layout();
  const stripRgb = lay.take(mcu * width * 3);
  const yp = lay.take(planeW * mcu * 4);
  const cbp = lay.take((planeW / hs) * 8 * 4), crp = lay.take((planeW / hs) * 8 * 4);
  const divY = lay.take(256), divC = lay.take(256), zz = lay.take(64), scratch = lay.take(512);
  const coeffs = lay.take(nBlocks * 128), last = lay.take(nBlocks);
  const mem = kx.reserve(lay.size);
  new Float32Array(mem.buffer, divY, 64).set(l.divY);
  new Float32Array(mem.buffer, divC, 64).set(l.divC);
  mem.set(ZIGZAG, zz);
  const ex = kx.exports;
  const cw = planeW / hs, bpm = blocksPerMcu;
  for (let my = 0; my < mcusY; my++) {
    const y0 = my * mcu, rows = Math.min(mcu, height - y0);
    mem.set(rgb.subarray(y0 * width * 3, (y0 + rows) * width * 3), stripRgb);
    ex.jpegPlanes(stripRgb, width, rows, 0, hs, planeW, yp, cbp, crp);
    const base = my * mcusX * bpm;
    for (let by = 0; by < hs; by++) {
      ex.jpegBlocks(
        yp,
        planeW,
        by * 8,
        mcusX * hs,
        divY,
        zz,
        coeffs,
        last,
        base + by * hs,
        hs,
        bpm,
        scratch,
      );
    }
    ex.jpegBlocks(cbp, cw, 0, mcusX, divC, zz, coeffs, last, base + hs * hs, 1, bpm, scratch);
    ex.jpegBlocks(crp, cw, 0, mcusX, divC, zz, coeffs, last, base + hs * hs + 1, 1, bpm, scratch);
  }
  return { coeffs, last, nBlocks, kx };
}

/** The forward half in plain TypeScript: the reference the wasm path is tested against. */
function forwardScalar(rgb: Uint8Array, l: ForwardLayout): Forward {
  const { width, height, hs, mcusX, mcusY, blocksPerMcu, divY, divC } = l;
  const mcuSize = 8 * hs;
  const coeffs = new Int16Array(mcusX * mcusY * blocksPerMcu * 64);
  const last = new Uint8Array(mcusX * mcusY * blocksPerMcu);
  const Y = new Float32Array(mcuSize * mcuSize);
  const Cb = new Float32Array(mcuSize * mcuSize);
  const Cr = new Float32Array(mcuSize * mcuSize);
  const blk = new Float32Array(64);
  let cp = 0;
  const quantize = (div: Float32Array) => {
    fdct(blk);
    let lastNz = 0;
    for (let i = 0; i < 64; i++) {
      const zi = ZIGZAG[i]!;
      const v = blk[zi]! * div[zi]!;
      const q = v < 0 ? -Math.floor(0.5 - v) : Math.floor(v + 0.5);
      coeffs[cp + i] = q;
      if (q !== 0) lastNz = i;
    }
    last[cp >> 6] = lastNz;
    cp += 64;
  };
  for (let my = 0; my < mcusY; my++) {
    for (let mx = 0; mx < mcusX; mx++) {
      const x0 = mx * mcuSize, y0 = my * mcuSize;
      for (let y = 0; y < mcuSize; y++) {
        const sy = Math.min(height - 1, y0 + y);
        for (let x = 0; x < mcuSize; x++) {
          const sx = Math.min(width - 1, x0 + x);
          const p = (sy * width + sx) * 3;
          const r = rgb[p]!, g = rgb[p + 1]!, b = rgb[p + 2]!;
          const k = y * mcuSize + x;
          Y[k] = 0.299 * r + 0.587 * g + 0.114 * b - 128;
          Cb[k] = -0.168735892 * r - 0.331264108 * g + 0.5 * b;
          Cr[k] = 0.5 * r - 0.418687589 * g - 0.081312411 * b;
        }
      }
      for (let by = 0; by < hs; by++) {
        for (let bx = 0; bx < hs; bx++) {
          for (let y = 0; y < 8; y++) {
            for (let x = 0; x < 8; x++) blk[y * 8 + x] = Y[(by * 8 + y) * mcuSize + bx * 8 + x]!;
          }
          quantize(divY);
        }
      }
      for (const plane of [Cb, Cr]) {
        if (hs === 1) {
          blk.set(plane);
        } else {
          for (let y = 0; y < 8; y++) {
            for (let x = 0; x < 8; x++) {
              const k = 2 * y * mcuSize + 2 * x;
              blk[y * 8 + x] = 0.25 *
                (plane[k]! + plane[k + 1]! + plane[k + mcuSize]! + plane[k + mcuSize + 1]!);
            }
          }
        }
        quantize(divC);
      }
    }
  }
  return { coeffs, last };
}

export interface JpegEncodeOptions {
  quality: number;
  /** Optimized Huffman tables (two passes). Default true. */
  optimize?: boolean;
  /** Chroma subsampling; default "420" (what libjpeg and OpenCV use by default). */
  subsampling?: "420" | "444";
  /** Forward transform: the wasm kernels (default) or "scalar", the TypeScript reference. */
  forward?: "wasm" | "scalar";
}

/** Encodes packed RGB (3 bytes/pixel) as a baseline JFIF JPEG. */
export function encodeJpegRgb(
  rgb: Uint8Array,
  width: number,
  height: number,
  opts: JpegEncodeOptions,
): Uint8Array {
  const optimize = opts.optimize ?? true;
  const sub = opts.subsampling ?? "420";
  const hs = sub === "420" ? 2 : 1;
  const qY = scaledQuant(STD_LUMA_Q, opts.quality);
  const qC = scaledQuant(STD_CHROMA_Q, opts.quality);
  const divY = fdctDivisors(qY), divC = fdctDivisors(qC);
  const mcuSize = 8 * hs;
  const mcusX = Math.ceil(width / mcuSize), mcusY = Math.ceil(height / mcuSize);
  const blocksPerMcu = hs * hs + 2;
  const layout = { width, height, hs, mcusX, mcusY, blocksPerMcu, divY, divC };
  if (opts.forward === "scalar") {
    const { coeffs, last } = forwardScalar(rgb, layout);
    const tables = optimize ? optimalTablesScalar(coeffs, last, hs, blocksPerMcu) : STD_TABLES;
    const out = new ByteOut(coeffs.length >> 2);
    writeHeaders(out, width, height, hs, qY, qC, tables);
    writeScanScalar(out, coeffs, last, hs, blocksPerMcu, tables);
    out.bytes([0xff, 0xd9]);
    return out.buf.slice(0, out.pos);
  }
  return encodeWasm(rgb, layout, qY, qC, optimize);
}

interface HuffTables {
  dcY: HuffSpec;
  acY: HuffSpec;
  dcC: HuffSpec;
  acC: HuffSpec;
}
const STD_TABLES: HuffTables = {
  dcY: STD_DC_LUMA,
  acY: STD_AC_LUMA,
  dcC: STD_DC_CHROMA,
  acC: STD_AC_CHROMA,
};

/** All three passes with the wasm kernels; the coefficients never leave wasm memory. */
function encodeWasm(
  rgb: Uint8Array,
  l: ForwardLayout,
  qY: Uint8Array,
  qC: Uint8Array,
  optimize: boolean,
): Uint8Array {
  const { coeffs, last, nBlocks, kx } = forwardWasm(rgb, l);
  const luma = l.hs * l.hs;
  let tables = STD_TABLES;
  // Tables and the scan go after the forward pass's blocks (which stay where they are).
  const lay = new Layout(last + nBlocks);
  const freq = lay.take(4 * 1024), codes = lay.take(4 * 2048), scan = lay.take(nBlocks * 512);
  let mem = kx.reserve(lay.end - kx.base);
  if (optimize) {
    mem.fill(0, freq, freq + 4 * 1024);
    kx.exports.jpegStats(coeffs, last, nBlocks, l.blocksPerMcu, luma, freq);
    const f = new Uint32Array(mem.buffer, freq, 1024);
    tables = {
      dcY: optimalTable(f.slice(0, 256)),
      acY: optimalTable(f.slice(256, 512)),
      dcC: optimalTable(f.slice(512, 768)),
      acC: optimalTable(f.slice(768, 1024)),
    };
  }
  const c = new Uint32Array(mem.buffer, codes, 2048);
  [tables.dcY, tables.acY, tables.dcC, tables.acC].forEach((spec, t) => {
    const h = buildCodes(spec);
    c.set(h.code, t * 512);
    c.set(h.size, t * 512 + 256);
  });
  const n = kx.exports.jpegScan(coeffs, last, nBlocks, l.blocksPerMcu, luma, codes, scan);
  mem = new Uint8Array(kx.exports.memory.buffer);
  const out = new ByteOut(n + 1024);
  writeHeaders(out, l.width, l.height, l.hs, qY, qC, tables);
  out.ensure(n + 2);
  out.buf.set(mem.subarray(scan, scan + n), out.pos);
  out.pos += n;
  out.bytes([0xff, 0xd9]);
  trimKernels(); // a large image's coefficients need not stay resident
  return out.buf.slice(0, out.pos);
}

function writeHeaders(
  out: ByteOut,
  width: number,
  height: number,
  hs: number,
  qY: Uint8Array,
  qC: Uint8Array,
  { dcY, acY, dcC, acC }: HuffTables,
): void {
  out.bytes([0xff, 0xd8]);
  out.bytes([0xff, 0xe0, 0, 16, 0x4a, 0x46, 0x49, 0x46, 0, 1, 1, 0, 0, 1, 0, 1, 0, 0]);
  for (const [id, q] of [[0, qY], [1, qC]] as const) {
    out.bytes([0xff, 0xdb, 0, 67, id]);
    for (let i = 0; i < 64; i++) out.byte(q[ZIGZAG[i]!]!);
  }
  out.bytes([0xff, 0xc0, 0, 17, 8]);
  out.u16(height);
  out.u16(width);
  out.bytes([3, 1, (hs << 4) | hs, 0, 2, 0x11, 1, 3, 0x11, 1]);
  for (const [cls, spec] of [[0x00, dcY], [0x10, acY], [0x01, dcC], [0x11, acC]] as const) {
    const n = spec.vals.length;
    out.bytes([0xff, 0xc4]);
    out.u16(2 + 1 + 16 + n);
    out.byte(cls);
    for (let i = 1; i <= 16; i++) out.byte(spec.bits[i]!);
    out.bytes(spec.vals);
  }
  out.bytes([0xff, 0xda, 0, 12, 3, 1, 0x00, 2, 0x11, 3, 0x11, 0, 63, 0]);
}

/** Pass 2 in TypeScript (reference): Huffman tables optimized from the symbol statistics. */
function optimalTablesScalar(
  coeffs: Int16Array,
  last: Uint8Array,
  hs: number,
  blocksPerMcu: number,
): HuffTables {
  const fDcY = new Uint32Array(256), fDcC = new Uint32Array(256);
  const fAcY = new Uint32Array(256), fAcC = new Uint32Array(256);
  const pred = [0, 0, 0];
  let bp = 0;
  const nBlocks = coeffs.length / 64;
  for (let bi = 0; bi < nBlocks; bi++, bp += 64) {
    const inMcu = bi % blocksPerMcu;
    const comp = inMcu < hs * hs ? 0 : inMcu - hs * hs + 1;
    const fDc = comp === 0 ? fDcY : fDcC, fAc = comp === 0 ? fAcY : fAcC;
    const dc = coeffs[bp]!;
    fDc[bitLength(dc - pred[comp]!)]!++;
    pred[comp] = dc;
    let run = 0;
    const end = last[bi]!;
    for (let i = 1; i <= end; i++) {
      const v = coeffs[bp + i]!;
      if (v === 0) {
        run++;
        continue;
      }
      while (run > 15) {
        fAc[0xf0]!++;
        run -= 16;
      }
      fAc[(run << 4) | bitLength(v)]!++;
      run = 0;
    }
    if (end < 63) fAc[0]!++;
  }
  return {
    dcY: optimalTable(fDcY),
    acY: optimalTable(fAcY),
    dcC: optimalTable(fDcC),
    acC: optimalTable(fAcC),
  };
}

/** Pass 3 in TypeScript (reference): the entropy-coded scan. */
function writeScanScalar(
  out: ByteOut,
  coeffs: Int16Array,
  last: Uint8Array,
  hs: number,
  blocksPerMcu: number,
  { dcY, acY, dcC, acC }: HuffTables,
): void {
  const hDcY = buildCodes(dcY), hDcC = buildCodes(dcC);
  const hAcY = buildCodes(acY), hAcC = buildCodes(acC);
  let acc = 0, nbits = 0;
  out.ensure(coeffs.length * 2 + 1024);
  let buf = out.buf, pos = out.pos;
  const put = (code: number, size: number) => {
    acc = (acc << size) | code;
    nbits += size;
    while (nbits >= 8) {
      nbits -= 8;
      const byte = (acc >>> nbits) & 0xff;
      if (pos + 2 > buf.length) {
        out.pos = pos;
        out.ensure(2 + (buf.length >> 1));
        buf = out.buf;
      }
      buf[pos++] = byte;
      if (byte === 0xff) buf[pos++] = 0;
    }
    acc &= (1 << nbits) - 1;
  };
  const putValue = (v: number, size: number) => {
    put(v < 0 ? (v - 1) & ((1 << size) - 1) : v, size);
  };
  const pred = [0, 0, 0];
  const nBlocks = coeffs.length / 64;
  let bp = 0;
  for (let bi = 0; bi < nBlocks; bi++, bp += 64) {
    const inMcu = bi % blocksPerMcu;
    const comp = inMcu < hs * hs ? 0 : inMcu - hs * hs + 1;
    const hDc = comp === 0 ? hDcY : hDcC, hAc = comp === 0 ? hAcY : hAcC;
    const dc = coeffs[bp]!;
    const diff = dc - pred[comp]!;
    pred[comp] = dc;
    const dcs = bitLength(diff);
    put(hDc.code[dcs]!, hDc.size[dcs]!);
    if (dcs) putValue(diff, dcs);
    let run = 0;
    const end = last[bi]!;
    for (let i = 1; i <= end; i++) {
      const v = coeffs[bp + i]!;
      if (v === 0) {
        run++;
        continue;
      }
      while (run > 15) {
        put(hAc.code[0xf0]!, hAc.size[0xf0]!);
        run -= 16;
      }
      const s = bitLength(v);
      const sym = (run << 4) | s;
      const bits = v < 0 ? (v - 1) & ((1 << s) - 1) : v, cs = hAc.size[sym]!;
      // Code and value bits in one call while they fit the 32-bit accumulator (7 bits pending).
      if (cs + s <= 24) put((hAc.code[sym]! << s) | bits, cs + s);
      else {
        put(hAc.code[sym]!, cs);
        put(bits, s);
      }
      run = 0;
    }
    if (end < 63) put(hAc.code[0]!, hAc.size[0]!);
  }
  if (nbits > 0) put((1 << (8 - nbits)) - 1, 8 - nbits);
  out.pos = pos;
}
