import assert from "node:assert/strict";
import {
  decodeFormat,
  decodeImage,
  decodeJpegImagescript,
  encodeJpeg,
} from "../../src/image/codecs.ts";
import { ImageError } from "../../src/image/errors.ts";
import { decodeJpegTurbo, scaledSize } from "../../src/image/kernels/jpeg_turbo.ts";
import { psnr, textured } from "./helpers.ts";

/** Smooth colour fields with edges (photo-like: JPEG keeps it well). */
function smooth(width: number, height: number) {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const p = (y * width + x) * 3, disc = (x - 200) ** 2 + (y - 140) ** 2 < 3600 ? 70 : 0;
      data[p] = 60 + ((150 * x) / width) + disc;
      data[p + 1] = 40 + 80 * Math.sin(y / 29) + 80;
      data[p + 2] = 200 - ((120 * y) / height) - disc / 2;
    }
  }
  return { width, height, data };
}

const photo = smooth(403, 301);
const jpeg = await encodeJpeg(photo, 92);

Deno.test("decodeFormat() decodes JPEG with libjpeg-turbo, agreeing with imagescript's decoder", async () => {
  const turbo = decodeJpegTurbo(jpeg);
  assert.ok(turbo, "libjpeg-turbo refused a baseline JPEG");
  const viaCodecs = await decodeFormat(jpeg, "jpeg");
  assert.deepEqual(viaCodecs.data, turbo.data);
  const other = decodeJpegImagescript(jpeg);
  assert.equal(turbo.width, 403);
  assert.equal(turbo.height, 301);
  const db = psnr(turbo.data, other.data);
  assert.ok(db >= 45, `turbo vs imagescript: ${db.toFixed(2)} dB`);
  const vsSource = psnr(turbo.data, photo.data);
  assert.ok(vsSource >= 38, `turbo vs source: ${vsSource.toFixed(2)} dB`);
});

Deno.test("decodeFormat() with a request decodes at the DCT scale that fits it", async () => {
  for (const s of [2, 4, 8]) {
    const req = { width: Math.ceil(403 / s), height: Math.ceil(301 / s) };
    const img = await decodeFormat(jpeg, "jpeg", req);
    assert.deepEqual([img.width, img.height], [req.width, req.height], `1/${s}`);
    assert.equal(img.data.length, req.width * req.height * 3);
    // A DCT-scaled decode is a smoothed version of the image: close to imagescript's.
    const other = decodeJpegImagescript(jpeg, req);
    const db = psnr(img.data, other.data);
    assert.ok(db >= 35, `1/${s}: ${db.toFixed(2)} dB`);
  }
});

Deno.test("scaledSize() mirrors TurboJPEG's factor choice, tiny images included", () => {
  assert.deepEqual(scaledSize(4032, 3024, { width: 2016, height: 1512 }), {
    width: 2016,
    height: 1512,
  });
  assert.deepEqual(scaledSize(4032, 3024, { width: 1008, height: 756 }), {
    width: 1008,
    height: 756,
  });
  // 1 px: every factor down to 1/8 gives 1 px, and the largest that fits (2/1 gives 2) is 15/8.
  assert.deepEqual(scaledSize(1, 1, { width: 1, height: 1 }), { width: 1, height: 1 });
  assert.deepEqual(scaledSize(9, 9), { width: 9, height: 9 });
});

Deno.test("decodeJpegTurbo() returns null for corrupt or truncated data; decodeImage() still errors clearly", async () => {
  const truncated = jpeg.subarray(0, jpeg.length >> 1);
  assert.equal(decodeJpegTurbo(truncated), null);
  const garbage = jpeg.slice();
  for (let i = 600; i < garbage.length - 2; i += 97) garbage[i] = 0xff;
  assert.equal(decodeJpegTurbo(new Uint8Array([0xff, 0xd8, 0xff, 0xd9])), null);
  await assert.rejects(decodeImage(truncated), ImageError);
  // Scrambled entropy data: decoded by the fallback or refused as an ImageError, never a crash.
  const verdict = await decodeImage(garbage).then(
    () => "decoded",
    (e) => (e instanceof ImageError ? "refused" : e),
  );
  assert.ok(verdict === "decoded" || verdict === "refused", String(verdict));
});

Deno.test("decodeJpegTurbo() decodes a grayscale-content JPEG to RGB with equal channels within 2 levels", () => {
  const gray = textured(64, 48, 3);
  for (let i = 0; i < gray.data.length; i += 3) gray.data[i + 1] = gray.data[i + 2] = gray.data[i]!;
  return encodeJpeg(gray, 90).then((j) => {
    const out = decodeJpegTurbo(j);
    assert.ok(out);
    for (let i = 0; i < out.data.length; i += 3) {
      assert.ok(Math.abs(out.data[i]! - out.data[i + 1]!) <= 2, `pixel ${i / 3}`);
    }
  });
});
