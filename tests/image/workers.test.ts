import assert from "node:assert/strict";
import { bilateralFilter } from "../../src/image/bilateral.ts";
import { labBalance } from "../../src/image/lab.ts";
import { resize } from "../../src/image/resize.ts";
import { ImagePool } from "../../src/image/workers.ts";
import { textured } from "./helpers.ts";

const BP = { diameter: 9, sigmaColor: 75, sigmaSpace: 75 };
const LP = { lBoost: 1.2, abBoost: 1.1 };

Deno.test("ImagePool stages return ordinary arrays equal to the single-thread kernels", async () => {
  using pool = new ImagePool(2);
  const img = textured(211, 143, 4);
  const b = await pool.bilateral(img, BP);
  assert.ok(b.data.buffer instanceof ArrayBuffer);
  assert.deepEqual(b.data, bilateralFilter(img.data, 211, 143, BP));
  assert.deepEqual((await pool.lab(img, LP)).data, labBalance(img.data, LP));
  assert.deepEqual((await pool.resize(img, 50, 31)).data, resize(img.data, 211, 143, 50, 31));
});

Deno.test("ImagePool reuses its shared arenas across sizes without mixing images up", async () => {
  using pool = new ImagePool(2);
  // Big, then small, then big again (a reused arena holds the previous image's bytes).
  for (const [w, h, seed] of [[300, 200, 1], [17, 9, 2], [300, 200, 3], [64, 640, 4]] as const) {
    const img = textured(w, h, seed);
    assert.deepEqual((await pool.lab(img, LP)).data, labBalance(img.data, LP), `${w}x${h}`);
  }
});

Deno.test("ImagePool runs concurrent stages on separate arenas", async () => {
  using pool = new ImagePool(2);
  const imgs = [1, 2, 3, 4, 5].map((s) => textured(120 + s * 7, 90, s));
  const outs = await Promise.all(imgs.map((im) => pool.bilateral(im, BP)));
  outs.forEach((o, i) => {
    const im = imgs[i]!;
    assert.deepEqual(o.data, bilateralFilter(im.data, im.width, im.height, BP), `image ${i}`);
  });
});

Deno.test("ImagePool after close() rejects new work", async () => {
  const pool = new ImagePool(1);
  pool.close();
  await assert.rejects(pool.lab(textured(8, 8), LP), /closed/);
});
