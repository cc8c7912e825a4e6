import assert from "node:assert/strict";
import { decodeImage, encodeJpeg, encodePng } from "../../src/image/codecs.ts";
import {
  DataUrlError,
  ImageDecodeError,
  ImageDimensionsError,
  ImageError,
  ImageTooLargeError,
  ImageTypeMismatchError,
  UnsupportedImageTypeError,
} from "../../src/image/errors.ts";
import { preprocessImage } from "../../src/image/pipeline.ts";
import { detectFormat, parseDataUrl, probeImage } from "../../src/image/validate.ts";
import { encodeBmp24, pixel, readFixture, textured } from "./helpers.ts";

const img = textured(40, 30, 5);
const samples: Record<string, Uint8Array> = {
  jpeg: await encodeJpeg(img, 90),
  png: await encodePng(img),
  gif: readFixture("pattern_48x32.gif"),
  webp: readFixture("pattern_48x32_lossy.webp"),
  "webp-lossless": readFixture("pattern_48x32_lossless.webp"),
  bmp: encodeBmp24(img),
  "bmp-8bit": readFixture("pattern_48x32_8bit.bmp"),
};

function toDataUrl(mime: string, bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return `data:${mime};base64,${btoa(s)}`;
}

Deno.test("detectFormat() and probeImage() read every format's header", () => {
  const want: Record<string, [string, number, number]> = {
    jpeg: ["jpeg", 40, 30],
    png: ["png", 40, 30],
    gif: ["gif", 48, 32],
    webp: ["webp", 48, 32],
    "webp-lossless": ["webp", 48, 32],
    bmp: ["bmp", 40, 30],
    "bmp-8bit": ["bmp", 48, 32],
  };
  for (const [name, bytes] of Object.entries(samples)) {
    const p = probeImage(bytes);
    assert.deepEqual([p.format, p.width, p.height], want[name], name);
    assert.equal(detectFormat(bytes), want[name]![0]);
  }
});

Deno.test("decodeImage() decodes PNG, JPEG, GIF, WebP and BMP to RGB", async () => {
  for (const [name, bytes] of Object.entries(samples)) {
    const out = await decodeImage(bytes);
    assert.equal(out.data.length, out.width * out.height * 3, name);
  }
  // The 48x32 pattern: top-left green, bottom-left red, right blue.
  // (Pillow's 8-bit BMP uses the web palette, so 200 becomes 204 there.)
  const near = (a: number[], b: number[], name: string) =>
    assert.ok(a.every((v, i) => Math.abs(v - b[i]!) <= 6), `${name}: ${a} vs ${b}`);
  for (const name of ["gif", "webp-lossless", "bmp-8bit", "webp"]) {
    const out = await decodeImage(samples[name]!);
    near(pixel(out, 2, 2), [0, 200, 0], name);
    near(pixel(out, 2, 30), [255, 0, 0], name);
    near(pixel(out, 40, 10), [0, 0, 255], name);
  }
  const bmp = await decodeImage(samples.bmp!);
  assert.deepEqual(bmp.data, img.data);
  const png = await decodeImage(samples.png!);
  assert.deepEqual(png.data, img.data);
});

Deno.test("decodeImage() composites alpha on white", async () => {
  const out = await decodeImage(readFixture("alpha_8x8.png"));
  assert.deepEqual(pixel(out, 1, 1), [255, 0, 0]);
  assert.deepEqual(pixel(out, 6, 1), [255, 255, 255]);
});

Deno.test("truncated files of every format are a 400 invalid_image, never a raw exception", async () => {
  for (const [name, bytes] of Object.entries(samples)) {
    for (const frac of [0.3, 0.6, 0.9]) {
      const cut = bytes.slice(0, Math.max(3, Math.floor(bytes.length * frac)));
      await assert.rejects(
        () => decodeImage(cut),
        (e: unknown) => {
          assert.ok(e instanceof ImageDecodeError, `${name} cut at ${frac}: ${e}`);
          assert.equal(e.status, 400);
          assert.equal(e.code, "invalid_image");
          return true;
        },
      );
    }
  }
});

Deno.test("corrupt data with an intact structure is an ImageError, not a raw exception", async () => {
  for (const [name, bytes] of Object.entries(samples)) {
    const bad = bytes.slice();
    // Scramble the middle (pixel data), keep header and trailer.
    const a = Math.floor(bad.length * 0.4), b = Math.floor(bad.length * 0.7);
    for (let i = a; i < b; i++) bad[i] = (i * 131) & 0xff;
    try {
      await decodeImage(bad);
    } catch (e) {
      assert.ok(e instanceof ImageError, `${name}: ${e}`);
      assert.equal(e.status, 400);
    }
  }
});

Deno.test("wrong magic bytes are a 415 unsupported_image_type", async () => {
  for (
    const bytes of [
      new TextEncoder().encode("hello world, not an image"),
      new Uint8Array([0, 1, 2, 3]),
    ]
  ) {
    await assert.rejects(() => decodeImage(bytes), (e: unknown) => {
      assert.ok(e instanceof UnsupportedImageTypeError);
      assert.equal(e.status, 415);
      assert.equal(e.code, "unsupported_image_type");
      return true;
    });
  }
  await assert.rejects(() => decodeImage(new Uint8Array(0)), ImageDecodeError);
});

Deno.test("a declared MIME type that disagrees with the bytes is an error, not a guess", async () => {
  await assert.rejects(
    () => decodeImage(samples.png!, { declaredMime: "image/jpeg" }),
    (e: unknown) => {
      assert.ok(e instanceof ImageTypeMismatchError);
      assert.equal(e.status, 400);
      assert.equal(e.code, "image_type_mismatch");
      assert.match(e.message, /image\/jpeg.*image\/png/);
      return true;
    },
  );
  await assert.rejects(
    () => preprocessImage(toDataUrl("image/gif", samples.jpeg!), undefined, { pool: null }),
    ImageTypeMismatchError,
  );
  await assert.rejects(
    () => decodeImage(samples.png!, { declaredMime: "image/tiff" }),
    UnsupportedImageTypeError,
  );
  // Matching or neutral declarations pass.
  await decodeImage(samples.jpeg!, { declaredMime: "image/jpg" });
  await decodeImage(samples.jpeg!, { declaredMime: "application/octet-stream" });
  const r = await preprocessImage(toDataUrl("image/png", samples.png!), undefined, { pool: null });
  assert.equal(r.report.format, "png");
});

Deno.test("0x0 images are a 400 invalid_image_dimensions", async () => {
  const png = samples.png!.slice();
  png.fill(0, 16, 24); // IHDR width and height
  const gif = samples.gif!.slice();
  gif.fill(0, 6, 10);
  const bmp = encodeBmp24(img);
  new DataView(bmp.buffer).setInt32(18, 0, true);
  new DataView(bmp.buffer).setInt32(22, 0, true);
  const jpeg = samples.jpeg!.slice();
  // SOF0 height/width.
  for (let i = 2; i < jpeg.length - 9; i++) {
    if (jpeg[i] === 0xff && jpeg[i + 1] === 0xc0) {
      jpeg.fill(0, i + 5, i + 9);
      break;
    }
  }
  for (const [name, bytes] of Object.entries({ png, gif, bmp, jpeg })) {
    await assert.rejects(() => decodeImage(bytes), (e: unknown) => {
      assert.ok(e instanceof ImageDimensionsError, `${name}: ${e}`);
      assert.equal(e.status, 400);
      return true;
    });
  }
});

Deno.test("over-limit header dimensions are refused with 413 before decoding", async () => {
  // A 100-byte "PNG" that claims 20000x20000: refused from the header alone.
  const png = samples.png!.slice();
  const dv = new DataView(png.buffer);
  dv.setUint32(16, 20000);
  dv.setUint32(20, 20000);
  await assert.rejects(() => decodeImage(png), (e: unknown) => {
    assert.ok(e instanceof ImageTooLargeError);
    assert.equal(e.status, 413);
    assert.equal(e.code, "image_too_large");
    return true;
  });
  // Megapixel limit (configurable) and byte limit.
  dv.setUint32(16, 8000);
  dv.setUint32(20, 8000);
  await assert.rejects(() => decodeImage(png), ImageTooLargeError);
  await assert.rejects(
    () => decodeImage(samples.png!, { limits: { maxMegapixels: 0.001 } }),
    ImageTooLargeError,
  );
  await assert.rejects(
    () => decodeImage(samples.png!, { limits: { maxBytes: 100 } }),
    ImageTooLargeError,
  );
  const gif = samples.gif!.slice();
  new DataView(gif.buffer).setUint16(6, 65000, true);
  new DataView(gif.buffer).setUint16(8, 65000, true);
  await assert.rejects(() => decodeImage(gif), ImageTooLargeError);
});

Deno.test("parseDataUrl() accepts base64 and rejects malformed URLs", () => {
  const url = toDataUrl("image/png", samples.png!);
  const p = parseDataUrl(url);
  assert.equal(p.mime, "image/png");
  assert.deepEqual(p.bytes, samples.png);
  for (const bad of ["http://x/y.png", "data:image/png;base64", "data:image/png;base64,@@@@"]) {
    assert.throws(() => parseDataUrl(bad), (e: unknown) => {
      assert.ok(e instanceof DataUrlError);
      assert.equal(e.status, 400);
      return true;
    });
  }
});
