import assert from "node:assert/strict";
import {
  bilateralFilter,
  bilateralKernel,
  bilateralRows,
  bilateralRowsScalar,
} from "../../src/image/bilateral.ts";
import { psnr, readOpenCv, textured } from "./helpers.ts";

const P = { diameter: 9, sigmaColor: 75, sigmaSpace: 75 };

function scalar(data: Uint8Array, w: number, h: number, p = P): Uint8Array {
  const out = new Uint8Array(data.length);
  bilateralRowsScalar(data, out, w, h, 0, h, p);
  return out;
}

function maxDiff(a: Uint8Array, b: Uint8Array): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

Deno.test("bilateralFilter() (wasm) matches OpenCV 4.6 bilateralFilter(9, 75, 75) at >= 60 dB", async () => {
  const input = await readOpenCv("input_256.png");
  const ref = await readOpenCv("bilateral_d9_sc75_ss75.png");
  const db = psnr(bilateralFilter(input.data, input.width, input.height, P), ref.data);
  assert.ok(db >= 60, `PSNR ${db.toFixed(2)} dB`);
});

Deno.test("bilateralRowsScalar() (the reference) matches OpenCV at >= 60 dB", async () => {
  const input = await readOpenCv("input_256.png");
  const ref = await readOpenCv("bilateral_d9_sc75_ss75.png");
  const db = psnr(scalar(input.data, input.width, input.height), ref.data);
  assert.ok(db >= 60, `PSNR ${db.toFixed(2)} dB`);
});

Deno.test("bilateralFilter() agrees with the scalar reference within one level on odd sizes", () => {
  for (const [w, h] of [[1, 1], [2, 3], [5, 1], [1, 7], [9, 9], [203, 157], [130, 2]] as const) {
    const img = textured(w, h, w * 31 + h);
    const d = maxDiff(bilateralFilter(img.data, w, h, P), scalar(img.data, w, h));
    assert.ok(d <= 1, `${w}x${h}: max difference ${d}`);
  }
  const img = textured(64, 48, 5);
  for (
    const p of [{ diameter: 5, sigmaColor: 20, sigmaSpace: 3 }, {
      diameter: 0,
      sigmaColor: 40,
      sigmaSpace: 2,
    }]
  ) {
    const d = maxDiff(bilateralFilter(img.data, 64, 48, p), scalar(img.data, 64, 48, p));
    assert.ok(d <= 1, `${JSON.stringify(p)}: max difference ${d}`);
  }
});

Deno.test("bilateralRows() over bands gives the same bytes as one whole-image call", () => {
  const w = 97, h = 301;
  const img = textured(w, h, 9);
  const whole = bilateralFilter(img.data, w, h, P);
  const banded = new Uint8Array(img.data.length);
  for (const [y0, y1] of [[0, 1], [1, 100], [100, 101], [101, 300], [300, 301]]) {
    bilateralRows(img.data, banded, w, h, y0!, y1!, P);
  }
  assert.deepEqual(banded, whole);
});

Deno.test("bilateralRows() writes only the bytes of its band (the kernel's 16-byte stores stay inside)", () => {
  // 37 = 2 × 16 + 5: the SIMD and scalar column paths, a partial 8-pixel step at the row end.
  const w = 37, h = 30, y0 = 10, y1 = 20;
  const img = textured(w, h, 21);
  const whole = bilateralFilter(img.data, w, h, P);
  const dst = new Uint8Array(img.data.length).fill(0xa5);
  bilateralRows(img.data, dst, w, h, y0, y1, P);
  const a = y0 * w * 3, b = y1 * w * 3;
  assert.deepEqual(dst.subarray(a, b), whole.subarray(a, b));
  assert.ok(dst.subarray(0, a).every((v) => v === 0xa5), "rows above the band were written");
  assert.ok(dst.subarray(b).every((v) => v === 0xa5), "rows below the band were written");
});

Deno.test("bilateralRows() on a tall image crosses wasm chunks without seams", () => {
  // 65536 px per wasm chunk: a 16-wide image is processed 4096 rows at a time.
  const w = 16, h = 5000;
  const img = textured(w, h, 4);
  const d = maxDiff(bilateralFilter(img.data, w, h, P), scalar(img.data, w, h));
  assert.ok(d <= 1, `max difference ${d}`);
});

Deno.test("bilateralKernel() uses OpenCV's circular window: 49 taps for d = 9", () => {
  const k = bilateralKernel(P);
  assert.equal(k.radius, 4);
  assert.equal(k.space.length, 49);
  assert.equal(k.color.length, 768);
  assert.equal(k.color[0], 1);
});

Deno.test("bilateralFilter() leaves a flat image unchanged", () => {
  const img = new Uint8Array(40 * 30 * 3).fill(0);
  for (let i = 0; i < img.length; i += 3) img.set([200, 17, 99], i);
  assert.deepEqual(bilateralFilter(img, 40, 30, P), img);
});
