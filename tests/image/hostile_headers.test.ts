/**
 * Every hand-written binary reader, fed a length or count field at its maximum: it answers a
 * typed 4xx ImageError (or orientation 1) at once, never a hang, a raw exception or a 5xx.
 */
import assert from "node:assert/strict";
import { encodeJpeg, encodePng } from "../../src/image/codecs.ts";
import { ImageError } from "../../src/image/errors.ts";
import { readOrientation } from "../../src/image/exif.ts";
import { detectFormat, probeImage } from "../../src/image/validate.ts";
import { readFixture, textured, withExifOrientation } from "./helpers.ts";
import { ascii, be32, concat, le32, webpWithChunk } from "./hostile_inputs.ts";

const FAST_MS = 100;

/** Probes and reads the orientation; returns the ImageError (or null) and the time taken. */
function attempt(bytes: Uint8Array): { error: ImageError | null; ms: number } {
  const t0 = performance.now();
  let error: ImageError | null = null;
  try {
    const format = detectFormat(bytes);
    if (format) readOrientation(bytes, format);
    probeImage(bytes);
  } catch (e) {
    if (!(e instanceof ImageError)) throw e;
    error = e;
  }
  return { error, ms: performance.now() - t0 };
}

function assertFast4xx(name: string, bytes: Uint8Array): ImageError {
  const { error, ms } = attempt(bytes);
  assert.ok(error, `${name}: expected an ImageError`);
  assert.ok(error.status >= 400 && error.status < 500, `${name}: status ${error.status}`);
  assert.ok(ms < FAST_MS, `${name}: took ${ms.toFixed(1)} ms`);
  return error;
}

Deno.test("readOrientation() returns at once for a WebP chunk length with the high bit set", () => {
  // The input that froze the server: a signed read made the walk go backwards for ever.
  for (const len of [0x80000000, 0xfffffff0, 0xffffffff]) {
    const bytes = webpWithChunk(len, "XXXX");
    const t0 = performance.now();
    assert.equal(readOrientation(bytes, "webp"), 1);
    assert.ok(performance.now() - t0 < FAST_MS);
  }
});

Deno.test("probeImage() refuses a WebP chunk that runs past the RIFF end with a 400", () => {
  for (const len of [0x80000000, 0xffffffff, 1_000_000]) {
    const e = assertFast4xx(`webp chunk ${len}`, webpWithChunk(len));
    assert.equal(e.status, 400);
    assert.match(e.message, /WebP/);
  }
});

Deno.test("probeImage() refuses maximal PNG chunk lengths and 2^32-1 dimensions", async () => {
  const png = await encodePng(textured(8, 8));
  // An ancillary chunk of 0xFFFFFFFF bytes right after IHDR.
  const hostileChunk = concat(
    png.subarray(0, 33),
    be32(0xffffffff),
    ascii("tEXt"),
    png.subarray(33),
  );
  assertFast4xx("png chunk 2^32-1", hostileChunk);
  const huge = png.slice();
  huge.set(be32(0xffffffff), 16);
  huge.set(be32(0xffffffff), 20);
  assert.equal(assertFast4xx("png 2^32-1 px", huge).status, 413);
  const bomb = png.slice();
  bomb.set(be32(100_000), 16);
  bomb.set(be32(100_000), 20);
  assert.equal(assertFast4xx("png 100000x100000", bomb).status, 413);
});

Deno.test("probeImage() refuses maximal JPEG segment lengths and EXIF counts at once", async () => {
  const jpeg = await encodeJpeg(textured(16, 16), 90);
  // An APP1 segment declaring 0xFFFF bytes with only a few present.
  assertFast4xx("jpeg segment 0xffff", concat([0xff, 0xd8, 0xff, 0xe1, 0xff, 0xff], ascii("Exif")));
  // EXIF IFD with 0xFFFF entries and an IFD offset of 2^32-1: orientation 1, no hang.
  const tiff = (ifdOffset: number, count: number) =>
    concat(ascii("MM"), [0, 42], be32(ifdOffset), [count >> 8, count & 0xff]);
  for (const [off, count] of [[8, 0xffff], [0xffffffff, 1], [0x80000000, 0xffff]] as const) {
    const body = concat(ascii("Exif"), [0, 0], tiff(off, count));
    const app1 = concat(
      [0xff, 0xe1, ((body.length + 2) >> 8) & 0xff, (body.length + 2) & 0xff],
      body,
    );
    const bytes = concat(jpeg.subarray(0, 2), app1, jpeg.subarray(2));
    const t0 = performance.now();
    assert.equal(readOrientation(bytes, "jpeg"), 1);
    assert.ok(performance.now() - t0 < FAST_MS);
    probeImage(bytes); // the image itself is fine
  }
  // A real orientation still reads.
  assert.equal(readOrientation(withExifOrientation(jpeg, 6), "jpeg"), 6);
  // SOF claiming 65535x65535.
  const sof = jpeg.slice();
  for (let i = 2; i + 9 < sof.length; i++) {
    if (sof[i] === 0xff && sof[i + 1] === 0xc0) {
      sof.set([0xff, 0xff, 0xff, 0xff], i + 5);
      break;
    }
  }
  assert.equal(assertFast4xx("jpeg 65535x65535", sof).status, 413);
});

Deno.test("probeImage() refuses GIF blocks and colour tables that run past the end", () => {
  const gif = readFixture("pattern_48x32.gif");
  // A sub-block chain of 255-byte blocks that never terminates inside the file.
  const ext = concat(gif.subarray(0, 13), [0x21, 0xf9], new Array(40).fill(0xff));
  assertFast4xx("gif endless sub-blocks", ext);
  const table = concat(gif.subarray(0, 10), [0xf7, 0, 0], [0x2c]);
  assertFast4xx("gif global table past end", table);
  const dims = gif.slice();
  dims.set([0xff, 0xff, 0xff, 0xff], 6);
  assert.ok(attempt(dims).ms < FAST_MS);
});

Deno.test("probeImage() refuses BMP offsets and sizes at their maximum", () => {
  const bmp = readFixture("pattern_48x32_8bit.bmp");
  const cases: [string, number, number[]][] = [
    ["data offset 2^32-1", 10, le32(0xffffffff)],
    ["width 2^31-1", 18, le32(0x7fffffff)],
    ["height -2^31", 22, le32(0x80000000)],
    ["header size 2^32-1", 14, le32(0xffffffff)],
  ];
  for (const [name, at, value] of cases) {
    const b = bmp.slice();
    b.set(value, at);
    assertFast4xx(`bmp ${name}`, b);
  }
});

Deno.test("every 4-byte field of each format set to 0xFF bytes gives an ImageError or a probe, fast", async () => {
  const samples: [string, Uint8Array][] = [
    ["png", await encodePng(textured(8, 8))],
    ["jpeg", withExifOrientation(await encodeJpeg(textured(16, 16), 90), 3)],
    ["gif", readFixture("pattern_48x32.gif")],
    ["webp", readFixture("pattern_48x32_lossless.webp")],
    ["bmp", readFixture("pattern_48x32_8bit.bmp").subarray(0, 400)],
  ];
  for (const [name, base] of samples) {
    for (let at = 0; at + 4 <= Math.min(base.length, 256); at++) {
      const b = base.slice();
      b.set([0xff, 0xff, 0xff, 0xff], at);
      const { ms } = attempt(b);
      assert.ok(ms < FAST_MS, `${name} @${at}: ${ms.toFixed(1)} ms`);
    }
  }
});
