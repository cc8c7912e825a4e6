import assert from "node:assert/strict";
import { labBalance, labBalancePixels, labBalancePixelsScalar } from "../../src/image/lab.ts";
import { psnr, readOpenCv, textured } from "./helpers.ts";

const P = { lBoost: 1.2, abBoost: 1.1 };

function scalar(data: Uint8Array, p = P): Uint8Array {
  const out = new Uint8Array(data.length);
  labBalancePixelsScalar(data, out, 0, data.length / 3, p);
  return out;
}

Deno.test("labBalance() (wasm) matches OpenCV's float path at >= 50 dB", async () => {
  const input = await readOpenCv("input_256.png");
  const ref = await readOpenCv("lab_boost_f32.png");
  const db = psnr(labBalance(input.data, P), ref.data);
  assert.ok(db >= 50, `PSNR ${db.toFixed(2)} dB`);
});

Deno.test("labBalancePixelsScalar() (the reference) matches OpenCV's float path at >= 50 dB", async () => {
  const input = await readOpenCv("input_256.png");
  const ref = await readOpenCv("lab_boost_f32.png");
  const db = psnr(scalar(input.data), ref.data);
  assert.ok(db >= 50, `PSNR ${db.toFixed(2)} dB`);
});

Deno.test("labBalance() agrees with the scalar reference: within one level, almost all exact", () => {
  // Every 8-bit value in every channel position, plus a textured image.
  const all = new Uint8Array(256 * 256 * 3);
  for (let i = 0; i < 256 * 256; i++) all.set([i & 255, i >> 8, (i * 7) & 255], i * 3);
  for (const data of [all, textured(301, 97, 2).data]) {
    for (const p of [P, { lBoost: 1, abBoost: 1 }, { lBoost: 0.7, abBoost: 1.6 }]) {
      const a = labBalance(data, p), b = scalar(data, p);
      let off = 0;
      for (let i = 0; i < a.length; i++) {
        const d = Math.abs(a[i]! - b[i]!);
        assert.ok(d <= 1, `byte ${i}: ${a[i]} vs ${b[i]}`);
        off += d;
      }
      assert.ok(off / a.length < 0.01, `${off} bytes differ (${JSON.stringify(p)})`);
    }
  }
});

Deno.test("labBalancePixels() on a pixel range touches only that range", () => {
  const src = textured(50, 10, 3).data;
  const dst = new Uint8Array(src.length).fill(7);
  labBalancePixels(src, dst, 13, 401, P);
  const whole = labBalance(src, P);
  assert.deepEqual(dst.subarray(13 * 3, 401 * 3), whole.subarray(13 * 3, 401 * 3));
  assert.ok(dst.subarray(0, 13 * 3).every((v) => v === 7));
  assert.ok(dst.subarray(401 * 3).every((v) => v === 7));
});

Deno.test("labBalance() with unit boosts is the identity round trip (within one level)", () => {
  const src = textured(64, 64, 8).data;
  const out = labBalance(src, { lBoost: 1, abBoost: 1 });
  for (let i = 0; i < src.length; i++) assert.ok(Math.abs(out[i]! - src[i]!) <= 1, `byte ${i}`);
});
