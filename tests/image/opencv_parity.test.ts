import assert from "node:assert/strict";
import { bilateralFilter } from "../../src/image/bilateral.ts";
import { decodeImage } from "../../src/image/codecs.ts";
import { labBalance } from "../../src/image/lab.ts";
import { resize } from "../../src/image/resize.ts";
import { ImagePool } from "../../src/image/workers.ts";
import { psnr, readFixture, readOpenCv, textured } from "./helpers.ts";

Deno.test("bilateralFilter() matches OpenCV within 40 dB PSNR", async () => {
  const input = await readOpenCv("input_256.png");
  const ref = await readOpenCv("bilateral_d9_sc75_ss75.png");
  const out = bilateralFilter(input.data, input.width, input.height, {
    diameter: 9,
    sigmaColor: 75,
    sigmaSpace: 75,
  });
  const db = psnr(out, ref.data);
  assert.ok(db >= 40, `PSNR ${db.toFixed(2)} dB`);
});

Deno.test("labBalance() matches OpenCV's float path within 40 dB PSNR", async () => {
  const input = await readOpenCv("input_256.png");
  const ref = await readOpenCv("lab_boost_f32.png");
  const out = labBalance(input.data, { lBoost: 1.2, abBoost: 1.1 });
  const db = psnr(out, ref.data);
  assert.ok(db >= 40, `PSNR ${db.toFixed(2)} dB`);
});

Deno.test("resize() matches OpenCV INTER_AREA within 35 dB PSNR", async () => {
  const src = await decodeImage(readFixture("area_src_320x240.png"));
  for (const [w, h] of [[100, 75], [128, 96], [160, 120], [213, 160]] as const) {
    const ref = await decodeImage(readFixture(`area_${w}x${h}.png`));
    const out = resize(src.data, src.width, src.height, w, h);
    const db = psnr(out, ref.data);
    assert.ok(db >= 35, `${w}x${h}: PSNR ${db.toFixed(2)} dB`);
  }
});

Deno.test("ImagePool gives byte-identical results to the single-thread path", async () => {
  const img = textured(203, 157, 3);
  using pool = new ImagePool(2);
  const p = { diameter: 9, sigmaColor: 75, sigmaSpace: 75 };
  assert.deepEqual((await pool.bilateral(img, p)).data, bilateralFilter(img.data, 203, 157, p));
  const lp = { lBoost: 1.2, abBoost: 1.1 };
  assert.deepEqual((await pool.lab(img, lp)).data, labBalance(img.data, lp));
  assert.deepEqual((await pool.resize(img, 97, 61)).data, resize(img.data, 203, 157, 97, 61));
  assert.deepEqual((await pool.resize(img, 400, 300)).data, resize(img.data, 203, 157, 400, 300));
});
