import assert from "node:assert/strict";
import { decodeImage, encodeJpeg, encodePng, type RgbImage } from "../../src/image/codecs.ts";
import { cropImage, findBorderTrim, findSalientWindow } from "../../src/image/crop.ts";
import { defaultImageConfig, parseImageProcessingConfig } from "../../src/image/config.ts";
import { applyOrientation, readOrientation } from "../../src/image/exif.ts";
import { preprocessImage, tileGrid } from "../../src/image/pipeline.ts";
import { pixel, solid, textured, withExifOrientation } from "./helpers.ts";

const RED: [number, number, number] = [255, 0, 0];
const GREEN: [number, number, number] = [0, 255, 0];
const BLUE: [number, number, number] = [0, 0, 255];
const WHITE: [number, number, number] = [255, 255, 255];

/** 64x32 stored image: quadrants TL red, TR green, BL blue, BR white. */
function quadrants(): RgbImage {
  const img = solid(64, 32, WHITE);
  for (let y = 0; y < 32; y++) {
    for (let x = 0; x < 64; x++) {
      const c = y < 16 ? (x < 32 ? RED : GREEN) : (x < 32 ? BLUE : WHITE);
      img.data.set(c, (y * 64 + x) * 3);
    }
  }
  return img;
}

function near(a: number[], b: number[], msg: string): void {
  assert.ok(a.every((v, i) => Math.abs(v - b[i]!) <= 40), `${msg}: ${a} vs ${b}`);
}

// What a viewer shows (top-left, top-right, bottom-left, bottom-right) for each orientation of
// the stored quadrant image (TL red, TR green, BL blue, BR white).
const EXPECTED: Record<number, { size: [number, number]; corners: [number, number, number][] }> = {
  1: { size: [64, 32], corners: [RED, GREEN, BLUE, WHITE] },
  2: { size: [64, 32], corners: [GREEN, RED, WHITE, BLUE] },
  3: { size: [64, 32], corners: [WHITE, BLUE, GREEN, RED] },
  4: { size: [64, 32], corners: [BLUE, WHITE, RED, GREEN] },
  5: { size: [32, 64], corners: [RED, BLUE, GREEN, WHITE] },
  6: { size: [32, 64], corners: [BLUE, RED, WHITE, GREEN] },
  7: { size: [32, 64], corners: [WHITE, GREEN, BLUE, RED] },
  8: { size: [32, 64], corners: [GREEN, WHITE, RED, BLUE] },
};

Deno.test("EXIF orientations 1-8 come out upright (JPEG APP1, both byte orders)", async () => {
  const base = await encodeJpeg(quadrants(), 95);
  for (let o = 1; o <= 8; o++) {
    for (const le of [true, false]) {
      const jpeg = withExifOrientation(base, o, le);
      assert.equal(readOrientation(jpeg, "jpeg"), o);
      const cfg = parseImageProcessingConfig({
        smart_crop: false,
        min_size: 16,
        noise_reduction: { enabled: false },
        color_balance: { enabled: false },
      });
      const { image, report } = await preprocessImage(jpeg, cfg, { pool: null });
      assert.equal(report.orientation, o);
      const e = EXPECTED[o]!;
      assert.deepEqual([image.width, image.height], e.size, `orientation ${o}`);
      const [w, h] = e.size;
      const pts: [number, number][] = [[4, 4], [w - 5, 4], [4, h - 5], [w - 5, h - 5]];
      pts.forEach(([x, y], i) =>
        near(pixel(image, x, y), e.corners[i]!, `orientation ${o} corner ${i}`)
      );
    }
  }
});

Deno.test("applyOrientation() is exact and reversible on pixels", () => {
  const img = textured(7, 5, 9);
  // 6 then 8 (90° CW then 90° CCW) is the identity; 3 twice too; 2 twice too.
  assert.deepEqual(applyOrientation(applyOrientation(img, 6), 8).data, img.data);
  assert.deepEqual(applyOrientation(applyOrientation(img, 3), 3).data, img.data);
  assert.deepEqual(applyOrientation(applyOrientation(img, 5), 5).data, img.data);
  assert.equal(readOrientation(new Uint8Array([0xff, 0xd8, 0xff, 0xe1, 0, 4, 1, 2]), "jpeg"), 1);
});

function noEnhance() {
  return parseImageProcessingConfig({
    noise_reduction: { enabled: false },
    color_balance: { enabled: false },
  });
}

/** Textured content placed on a canvas with bars. */
function framed(
  content: RgbImage,
  left: number,
  top: number,
  right: number,
  bottom: number,
  bar: [number, number, number],
): RgbImage {
  const W = content.width + left + right, H = content.height + top + bottom;
  const img = solid(W, H, bar);
  for (let y = 0; y < content.height; y++) {
    img.data.set(
      content.data.subarray(y * content.width * 3, (y + 1) * content.width * 3),
      ((y + top) * W + left) * 3,
    );
  }
  return img;
}

Deno.test("findBorderTrim() removes letterbox bars and scanner margins", () => {
  const content = textured(200, 120, 4);
  const letterbox = framed(content, 0, 40, 0, 40, [0, 0, 0]);
  assert.deepEqual(findBorderTrim(letterbox), { x: 0, y: 40, width: 200, height: 120 });
  // White scanner margins with a little noise.
  const scan = framed(content, 13, 9, 21, 17, [250, 250, 250]);
  for (let i = 0; i < scan.data.length; i += 97) if (scan.data[i]! > 240) scan.data[i] = 243;
  assert.deepEqual(findBorderTrim(scan), { x: 13, y: 9, width: 200, height: 120 });
  // No borders: the whole image.
  assert.deepEqual(findBorderTrim(content), { x: 0, y: 0, width: 200, height: 120 });
  // A uniform image is not trimmed away.
  assert.deepEqual(findBorderTrim(solid(50, 40, [9, 9, 9])), { x: 0, y: 0, width: 50, height: 40 });
});

Deno.test("findSalientWindow() keeps the detailed part of a panorama", () => {
  // 1200x200 flat grey strip with a 150 px textured object at x = 900..1050.
  const img = solid(1200, 200, [120, 120, 120]);
  const obj = textured(150, 200, 8);
  for (let y = 0; y < 200; y++) {
    img.data.set(obj.data.subarray(y * 450, (y + 1) * 450), (y * 1200 + 900) * 3);
  }
  const box = findSalientWindow(img, { x: 0, y: 0, width: 1200, height: 200 }, 2);
  assert.equal(box.width, 400);
  assert.equal(box.height, 200);
  assert.ok(box.x <= 900 && box.x + box.width >= 1050, `window ${JSON.stringify(box)}`);
  // Tall image: same along y.
  const tall = solid(100, 500, [30, 30, 30]);
  const t = textured(100, 60, 2);
  tall.data.set(t.data, 20 * 100 * 3);
  const tb = findSalientWindow(tall, { x: 0, y: 0, width: 100, height: 500 }, 2);
  assert.equal(tb.height, 200);
  assert.ok(tb.y <= 20 && tb.y + tb.height >= 80, JSON.stringify(tb));
  // Moderate aspect: untouched.
  const box2 = { x: 0, y: 0, width: 300, height: 200 };
  assert.deepEqual(findSalientWindow(textured(300, 200), box2, 2), box2);
  assert.equal(cropImage(img, box).width, 400);
});

Deno.test("preprocessImage() reports the crop box for letterboxed and panoramic input", async () => {
  const content = textured(600, 400, 6);
  const png = await encodePng(framed(content, 0, 100, 0, 100, [0, 0, 0]));
  const { report, image } = await preprocessImage(png, noEnhance(), { pool: null });
  assert.deepEqual(
    report.crop && [report.crop.x, report.crop.y, report.crop.width, report.crop.height],
    [0, 100, 600, 400],
  );
  assert.equal(report.crop?.trimmedBorders, true);
  // 600x400 is inside the bounds (longest <= 1024, shortest < 512 -> raised to 512).
  assert.deepEqual([image.width, image.height], [768, 512]);
  const pano = solid(3000, 300, [200, 200, 200]);
  const obj = textured(200, 300, 3);
  for (let y = 0; y < 300; y++) {
    pano.data.set(obj.data.subarray(y * 600, (y + 1) * 600), (y * 3000 + 2500) * 3);
  }
  const r2 = await preprocessImage(await encodePng(pano), noEnhance(), {
    pool: null,
    tiling: { tileSize: 512, longestEdge: null, maxPixels: 1024 * 1024 },
  });
  assert.equal(r2.report.crop?.salient, true);
  assert.ok(r2.report.crop!.x <= 2500 && r2.report.crop!.x + r2.report.crop!.width >= 2700);
  assert.deepEqual([r2.image.width, r2.image.height], [1024, 512]);
  assert.deepEqual(r2.report.tiles, { cols: 2, rows: 1, passes: 3 });
});

Deno.test("preprocessImage() estimates tiles under the caller's tiling rule, none without one", async () => {
  const png = await encodePng(textured(600, 400, 5));
  const at = async (tileSize?: number | null) =>
    (await preprocessImage(png, noEnhance(), {
      pool: null,
      tiling: typeof tileSize === "number"
        ? { tileSize, longestEdge: null, maxPixels: null }
        : tileSize,
    })).report.tiles;
  // 600x400 is raised to 768x512 (min_size 512): 768 rounds to 2 tiles of 512 (1.5 rounds up).
  assert.deepEqual(await at(512), { cols: 2, rows: 1, passes: 3 });
  assert.deepEqual(await at(384), { cols: 2, rows: 1, passes: 3 });
  assert.deepEqual(await at(1024), { cols: 1, rows: 1, passes: 2 });
  assert.equal(await at(null), null);
  assert.equal(await at(), null);
});

Deno.test("both enhancements off and input within bounds reproduce the input exactly", async () => {
  const img = textured(700, 600, 12);
  const png = await encodePng(img);
  const { image, report } = await preprocessImage(png, noEnhance(), { pool: null });
  assert.equal(report.resized.resampled, false);
  assert.equal(report.crop, null);
  assert.deepEqual(image.data, (await decodeImage(png)).data);
});

Deno.test("resize keeps the longest side <= size and the shortest >= min_size", async () => {
  const cfg = noEnhance();
  const cases: [number, number, number, number][] = [
    [2000, 1500, 1024, 768],
    [1500, 2000, 768, 1024],
    [300, 200, 768, 512],
    [1024, 600, 1024, 600],
  ];
  for (const [w, h, ew, eh] of cases) {
    const { image } = await preprocessImage(await encodeJpeg(textured(w, h), 80), cfg, {
      pool: null,
    });
    assert.deepEqual([image.width, image.height], [ew, eh], `${w}x${h}`);
  }
  assert.equal(defaultImageConfig().size[0], 1024);
});

Deno.test("tileGrid() tiles like mtmd: rounded to tiles, within the budget, plus the overview", () => {
  const rule = (tileSize: number, longestEdge: number | null, maxPixels: number | null) => ({
    tileSize,
    longestEdge,
    maxPixels,
  });
  // One tile of exactly the tile side: slice and overview are the same pixels, one pass.
  assert.deepEqual(tileGrid(512, 512, rule(512, null, null)), { cols: 1, rows: 1, passes: 1 });
  assert.deepEqual(tileGrid(683, 512, rule(512, null, null)), { cols: 1, rows: 1, passes: 2 });
  assert.deepEqual(tileGrid(1024, 768, rule(512, null, null)), { cols: 2, rows: 2, passes: 5 });
  assert.deepEqual(tileGrid(1024, 640, rule(512, null, null)), { cols: 2, rows: 1, passes: 3 });
  // Budget of 4 tiles: 3x2 shrinks to 2x1 (floor of each side at the budget's scale).
  assert.deepEqual(tileGrid(1536, 1024, rule(512, null, 4 * 512 * 512)), {
    cols: 2,
    rows: 1,
    passes: 3,
  });
  // A preprocess size of 2048 scales even a small picture up to 4x4 tiles (17 passes) ...
  assert.deepEqual(tileGrid(512, 512, rule(512, 2048, null)), { cols: 4, rows: 4, passes: 17 });
  // ... unless the budget shrinks it.
  assert.deepEqual(tileGrid(512, 512, rule(512, 2048, 1024 * 1024)), {
    cols: 2,
    rows: 2,
    passes: 5,
  });
  for (const bad of [0, -512, 1.5, Number.NaN]) {
    assert.throws(() => tileGrid(512, 512, rule(bad, null, null)), RangeError, String(bad));
  }
});
