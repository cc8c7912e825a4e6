/**
 * Seeded, reproducible hostile image inputs for the fuzz test and the `fuzz` task: valid seeds of
 * every format, then truncation, bit flips, length fields at their maximum, wrong magic, headers
 * claiming 100,000 x 100,000 pixels, zero-size data, wrong MIME, animated GIF, SVG and HEIC.
 *
 * @module
 */

/** mulberry32: tiny, fast and the same on every machine for a given seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface FuzzSeed {
  readonly name: string;
  readonly bytes: Uint8Array;
  readonly mime: string;
}

export interface FuzzCase {
  readonly name: string;
  readonly bytes: Uint8Array;
  readonly mime?: string;
}

const enc = new TextEncoder();

const SVG = enc.encode(
  `<svg xmlns="http://www.w3.org/2000/svg" width="100000" height="100000"><rect width="1" height="1"/></svg>`,
);
/** An ISO-BMFF `ftyp` box naming HEIC, as a phone would send. */
const HEIC = new Uint8Array([
  0,
  0,
  0,
  24,
  0x66,
  0x74,
  0x79,
  0x70,
  0x68,
  0x65,
  0x69,
  0x63,
  0,
  0,
  0,
  0,
  0x6d,
  0x69,
  0x66,
  0x31,
  0x68,
  0x65,
  0x69,
  0x63,
  0,
  0,
  0,
  8,
  0x6d,
  0x65,
  0x74,
  0x61,
]);
/** Two 1x1 frames: a minimal animated GIF. */
const ANIMATED_GIF = new Uint8Array([
  ...enc.encode("GIF89a"),
  1,
  0,
  1,
  0,
  0x80,
  0,
  0,
  0,
  0,
  0,
  255,
  255,
  255,
  0x21,
  0xff,
  11,
  ...enc.encode("NETSCAPE2.0"),
  3,
  1,
  0,
  0,
  0,
  0x21,
  0xf9,
  4,
  0,
  10,
  0,
  0,
  0,
  0x2c,
  0,
  0,
  0,
  0,
  1,
  0,
  1,
  0,
  0,
  2,
  2,
  0x44,
  1,
  0,
  0x21,
  0xf9,
  4,
  0,
  10,
  0,
  0,
  0,
  0x2c,
  0,
  0,
  0,
  0,
  1,
  0,
  1,
  0,
  0,
  2,
  2,
  0x4c,
  1,
  0,
  0x3b,
]);

const MIMES = ["image/png", "image/jpeg", "image/gif", "image/webp", "image/bmp", "image/heic"];

/** Writes a header that claims `w` x `h` pixels, wherever the format keeps its dimensions. */
function claimDimensions(seed: FuzzSeed, w: number, h: number): Uint8Array {
  const b = seed.bytes.slice();
  const dv = new DataView(b.buffer);
  const put = (f: () => void) => {
    try {
      f();
    } catch { /* seed too short for this format's header: leave it */ }
  };
  if (seed.mime === "image/png") {
    put(() => (dv.setUint32(16, w), dv.setUint32(20, h)));
  } else if (seed.mime === "image/gif") {
    put(() => (dv.setUint16(6, w & 0xffff, true), dv.setUint16(8, h & 0xffff, true)));
  } else if (seed.mime === "image/bmp") {
    put(() => (dv.setInt32(18, w, true), dv.setInt32(22, h, true)));
  } else if (seed.mime === "image/jpeg") {
    for (let i = 2; i + 9 < b.length; i++) {
      if (b[i] === 0xff && b[i + 1]! >= 0xc0 && b[i + 1]! <= 0xc2) {
        put(() => (dv.setUint16(i + 5, h & 0xffff), dv.setUint16(i + 7, w & 0xffff)));
        break;
      }
    }
  } else if (seed.mime === "image/webp") {
    put(() => {
      if (b[12] === 0x56 && b[15] === 0x58) { // VP8X
        const cw = Math.min(w, 1 << 24) - 1, ch = Math.min(h, 1 << 24) - 1;
        b.set([cw & 0xff, (cw >> 8) & 0xff, cw >> 16, ch & 0xff, (ch >> 8) & 0xff, ch >> 16], 24);
      } else dv.setUint32(21, ((w - 1) & 0x3fff) | (((h - 1) & 0x3fff) << 14), true);
    });
  }
  return b;
}

type Mutator = (s: FuzzSeed, r: () => number) => FuzzCase;
const int = (r: () => number, n: number) => Math.floor(r() * n);

const MUTATORS: readonly [string, Mutator][] = [
  [
    "truncate",
    (s, r) => ({ name: "", bytes: s.bytes.slice(0, int(r, s.bytes.length)), mime: s.mime }),
  ],
  ["bitflip", (s, r) => {
    const b = s.bytes.slice();
    for (let k = 1 + int(r, 8); k > 0; k--) b[int(r, b.length)]! ^= 1 << int(r, 8);
    return { name: "", bytes: b, mime: s.mime };
  }],
  ["max-field", (s, r) => {
    const b = s.bytes.slice();
    const at = int(r, Math.max(1, Math.min(b.length - 4, 128)));
    const v = [0xff, 0x80, 0x7f, 0x00][int(r, 4)]!;
    b.set([v, 0xff, 0xff, 0xff].slice(0, Math.min(4, b.length - at)), at);
    return { name: "", bytes: b, mime: s.mime };
  }],
  ["wrong-magic", (s, r) => {
    const b = s.bytes.slice();
    b[int(r, Math.min(4, b.length))]! ^= 0x20;
    return { name: "", bytes: b, mime: s.mime };
  }],
  [
    "claims-100000x100000",
    (s) => ({ name: "", bytes: claimDimensions(s, 100_000, 100_000), mime: s.mime }),
  ],
  ["claims-zero", (s) => ({ name: "", bytes: claimDimensions(s, 0, 0), mime: s.mime })],
  ["wrong-mime", (s, r) => ({ name: "", bytes: s.bytes, mime: MIMES[int(r, MIMES.length)] })],
  ["insert", (s, r) => {
    const at = int(r, s.bytes.length);
    const junk = Uint8Array.from({ length: 1 + int(r, 64) }, () => int(r, 256));
    const b = new Uint8Array(s.bytes.length + junk.length);
    b.set(s.bytes.subarray(0, at));
    b.set(junk, at);
    b.set(s.bytes.subarray(at), at + junk.length);
    return { name: "", bytes: b, mime: s.mime };
  }],
  ["zero-size", () => ({ name: "", bytes: new Uint8Array(0) })],
  ["svg", (_s, r) => ({ name: "", bytes: SVG, mime: r() < 0.5 ? "image/svg+xml" : "image/png" })],
  ["heic", (_s, r) => ({ name: "", bytes: HEIC, mime: r() < 0.5 ? "image/heic" : undefined })],
  ["animated-gif", () => ({ name: "", bytes: ANIMATED_GIF, mime: "image/gif" })],
  ["garbage", (_s, r) => ({
    name: "",
    bytes: Uint8Array.from({ length: int(r, 512) }, () => int(r, 256)),
  })],
];

/** `count` cases from `seeds`, the same for the same seed. */
export function* imageFuzzCases(
  seed: number,
  count: number,
  seeds: readonly FuzzSeed[],
): Generator<FuzzCase> {
  const r = prng(seed);
  for (let i = 0; i < count; i++) {
    const s = seeds[int(r, seeds.length)]!;
    const [op, mutate] = MUTATORS[int(r, MUTATORS.length)]!;
    // Stack a second mutation now and then.
    let c = mutate(s, r);
    if (r() < 0.2) {
      const [op2, m2] = MUTATORS[int(r, 8)]!;
      c = {
        ...m2({ name: s.name, bytes: c.bytes, mime: c.mime ?? s.mime }, r),
        name: `${op}+${op2}`,
      };
    }
    yield { ...c, name: `#${i} ${s.name} ${c.name || op}` };
  }
}

/** One valid image of each format (JPEG with EXIF orientation 6), made in memory. */
export async function imageFuzzSeeds(): Promise<FuzzSeed[]> {
  const { encodeJpeg, encodePng } = await import("../../src/image/codecs.ts");
  const w = 40, h = 30;
  const data = new Uint8Array(w * h * 3);
  for (let i = 0; i < data.length; i++) data[i] = (i * 7 + (i >> 5) * 13) & 0xff;
  const img = { width: w, height: h, data };
  const fixture = (name: string) =>
    Deno.readFileSync(new URL(`../../tests/fixtures/image/${name}`, import.meta.url));
  return [
    { name: "png", bytes: await encodePng(img), mime: "image/png" },
    { name: "jpeg-exif", bytes: withOrientation6(await encodeJpeg(img, 85)), mime: "image/jpeg" },
    { name: "gif", bytes: fixture("pattern_48x32.gif"), mime: "image/gif" },
    { name: "webp-lossless", bytes: fixture("pattern_48x32_lossless.webp"), mime: "image/webp" },
    { name: "webp-lossy", bytes: fixture("pattern_48x32_lossy.webp"), mime: "image/webp" },
    { name: "bmp", bytes: fixture("pattern_48x32_8bit.bmp"), mime: "image/bmp" },
  ];
}

/** Inserts an APP1 EXIF segment (big-endian TIFF, one IFD entry: orientation 6). */
function withOrientation6(jpeg: Uint8Array): Uint8Array {
  const tiff = [
    0x4d,
    0x4d,
    0,
    42,
    0,
    0,
    0,
    8,
    0,
    1,
    0x01,
    0x12,
    0,
    3,
    0,
    0,
    0,
    1,
    0,
    6,
    0,
    0,
    0,
    0,
    0,
    0,
  ];
  const body = [...enc.encode("Exif"), 0, 0, ...tiff];
  const app1 = [0xff, 0xe1, (body.length + 2) >> 8, (body.length + 2) & 0xff, ...body];
  const out = new Uint8Array(jpeg.length + app1.length);
  out.set(jpeg.subarray(0, 2));
  out.set(app1, 2);
  out.set(jpeg.subarray(2), 2 + app1.length);
  return out;
}
