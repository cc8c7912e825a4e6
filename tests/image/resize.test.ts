import assert from "node:assert/strict";
import { decodeImage } from "../../src/image/codecs.ts";
import {
  axisWeights,
  resize,
  resizeRows,
  resizeRowsScalar,
  targetSize,
} from "../../src/image/resize.ts";
import { psnr, readFixture, textured } from "./helpers.ts";

function scalar(src: Uint8Array, sw: number, sh: number, dw: number, dh: number): Uint8Array {
  const out = new Uint8Array(dw * dh * 3);
  resizeRowsScalar(src, sw, sh, out, dw, dh, 0, dh);
  return out;
}

Deno.test("resize() (wasm) matches OpenCV INTER_AREA at >= 70 dB", async () => {
  const src = await decodeImage(readFixture("area_src_320x240.png"));
  for (const [w, h] of [[100, 75], [128, 96], [160, 120], [213, 160]] as const) {
    const ref = await decodeImage(readFixture(`area_${w}x${h}.png`));
    const db = psnr(resize(src.data, src.width, src.height, w, h), ref.data);
    assert.ok(db >= 70, `${w}x${h}: PSNR ${db.toFixed(2)} dB`);
  }
});

Deno.test("resize() agrees with the scalar reference within one level (down, up, mixed, 1 px)", () => {
  const img = textured(203, 157, 6);
  for (const [w, h] of [[97, 61], [400, 300], [203, 40], [17, 300], [1, 1], [203, 157]] as const) {
    const a = resize(img.data, 203, 157, w, h), b = scalar(img.data, 203, 157, w, h);
    let m = 0;
    for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
    assert.ok(m <= 1, `${w}x${h}: max difference ${m}`);
  }
});

Deno.test("resizeRows() over bands gives the same bytes as one whole-image call", () => {
  const img = textured(160, 121, 2);
  const whole = resize(img.data, 160, 121, 57, 43);
  const banded = new Uint8Array(whole.length);
  for (const [y0, y1] of [[0, 10], [10, 11], [11, 43]]) {
    resizeRows(img.data, 160, 121, banded, 57, 43, y0!, y1!);
  }
  assert.deepEqual(banded, whole);
});

Deno.test("axisWeights() for area downscaling sums to one per destination pixel", () => {
  const w = axisWeights(4032, 1024);
  for (let d = 0; d < 1024; d++) {
    let s = 0;
    for (let k = w.start[d]!; k < w.start[d + 1]!; k++) s += w.w[k]!;
    assert.ok(Math.abs(s - 1) < 1e-5, `pixel ${d}: ${s}`);
  }
});

Deno.test("targetSize() fits inside the bounds and raises the short side to min_size", () => {
  const b = { size: [1536, 1536] as [number, number], minSize: 512, preserveAspectRatio: true };
  assert.deepEqual(targetSize(4032, 3024, b), { width: 1536, height: 1152 });
  assert.deepEqual(targetSize(256, 128, b), { width: 1024, height: 512 });
  assert.deepEqual(targetSize(800, 600, b), { width: 800, height: 600 });
  assert.deepEqual(targetSize(800, 600, { ...b, preserveAspectRatio: false }), {
    width: 1536,
    height: 1536,
  });
});
