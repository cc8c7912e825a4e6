import assert from "node:assert/strict";
import { decodeJpegImagescript } from "../../src/image/codecs.ts";
import { encodeJpegRgb } from "../../src/image/jpeg_encode.ts";
import { psnr, textured } from "./helpers.ts";

/** Smooth gradients with a disc: what JPEG keeps well. */
function smooth(width: number, height: number): Uint8Array {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const p = (y * width + x) * 3;
      const disc = (x - width / 2) ** 2 + (y - height / 3) ** 2 < (width * width) / 25 ? 60 : 0;
      data[p] = 40 + (150 * x) / width + disc;
      data[p + 1] = 120 + 70 * Math.sin(y / 11);
      data[p + 2] = 210 - (160 * y) / height - disc / 2;
    }
  }
  return data;
}

Deno.test("encodeJpegRgb() (wasm) writes the same file as the TypeScript reference on small images", () => {
  for (const [w, h] of [[1, 1], [17, 16], [37, 23], [64, 48]] as const) {
    const rgb = smooth(w, h);
    for (const subsampling of ["420", "444"] as const) {
      for (const optimize of [true, false]) {
        const o = { quality: 90, subsampling, optimize };
        const a = encodeJpegRgb(rgb, w, h, o);
        const b = encodeJpegRgb(rgb, w, h, { ...o, forward: "scalar" });
        assert.deepEqual(a, b, `${w}x${h} ${subsampling} optimize=${optimize}`);
      }
    }
  }
});

Deno.test("encodeJpegRgb() (wasm) matches the reference's quality on a large noisy image", () => {
  const img = textured(517, 389, 5);
  const a = encodeJpegRgb(img.data, 517, 389, { quality: 95 });
  const b = encodeJpegRgb(img.data, 517, 389, { quality: 95, forward: "scalar" });
  const da = decodeJpegImagescript(a), db = decodeJpegImagescript(b);
  const same = psnr(da.data, db.data);
  assert.ok(same >= 60, `wasm vs reference decode: ${same.toFixed(2)} dB`);
  assert.ok(Math.abs(a.length - b.length) / b.length < 0.001, `${a.length} vs ${b.length} bytes`);
  const q = psnr(da.data, img.data);
  assert.ok(Math.abs(q - psnr(db.data, img.data)) < 0.05, `quality ${q.toFixed(2)} dB`);
});

Deno.test("encodeJpegRgb() output decodes to the input within JPEG's loss (q95, smooth image)", () => {
  const rgb = smooth(320, 240);
  const jpeg = encodeJpegRgb(rgb, 320, 240, { quality: 95 });
  assert.deepEqual([...jpeg.subarray(0, 2)], [0xff, 0xd8]);
  assert.deepEqual([...jpeg.subarray(-2)], [0xff, 0xd9]);
  const d = decodeJpegImagescript(jpeg);
  assert.deepEqual([d.width, d.height], [320, 240]);
  const db = psnr(d.data, rgb);
  assert.ok(db >= 38, `${db.toFixed(2)} dB`);
});

Deno.test("encodeJpegRgb() with optimized tables is smaller than with the Annex K tables", () => {
  const img = textured(256, 192, 2);
  const opt = encodeJpegRgb(img.data, 256, 192, { quality: 85, optimize: true });
  const std = encodeJpegRgb(img.data, 256, 192, { quality: 85, optimize: false });
  assert.ok(opt.length < std.length, `${opt.length} vs ${std.length}`);
  assert.ok(psnr(decodeJpegImagescript(opt).data, decodeJpegImagescript(std).data) === Infinity);
});
