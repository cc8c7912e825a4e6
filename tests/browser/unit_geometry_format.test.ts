import assert from "node:assert/strict";
import { fitContain, scaleDown } from "../../static/js/geometry.js";
import {
  describeImageReport,
  describeTimings,
  formatCropBox,
  formatMs,
  formatRate,
  formatTiles,
  httpErrorMessage,
  parseRetryAfter,
} from "../../static/js/format.js";

Deno.test("fitContain letterboxes wide images and pillarboxes tall ones in 120x90", () => {
  assert.deepEqual(fitContain(1280, 720, 120, 90), { x: 0, y: 11, width: 120, height: 68 });
  assert.deepEqual(fitContain(720, 1280, 120, 90), { x: 34, y: 0, width: 51, height: 90 });
  assert.deepEqual(fitContain(640, 480, 120, 90), { x: 0, y: 0, width: 120, height: 90 });
  assert.deepEqual(fitContain(30, 20, 120, 90), { x: 0, y: 5, width: 120, height: 80 });
  assert.deepEqual(fitContain(10000, 1, 120, 90), { x: 0, y: 44, width: 120, height: 1 });
  assert.deepEqual(fitContain(0, 0, 120, 90), { x: 0, y: 0, width: 120, height: 90 });
});

Deno.test("scaleDown never enlarges and keeps the aspect ratio", () => {
  assert.deepEqual(scaleDown(1920, 1080, 768), { width: 768, height: 432 });
  assert.deepEqual(scaleDown(1080, 1920, 768), { width: 432, height: 768 });
  assert.deepEqual(scaleDown(640, 480, 768), { width: 640, height: 480 });
});

Deno.test("formatMs and formatRate", () => {
  assert.equal(formatMs(12.4), "12 ms");
  assert.equal(formatMs(1234), "1.23 s");
  assert.equal(formatMs(12345), "12.3 s");
  assert.equal(formatMs(undefined), "–");
  assert.equal(formatRate(42.4), "42 tok/s");
  assert.equal(formatRate(4.24), "4.2 tok/s");
  assert.equal(formatRate(0), "–");
});

Deno.test("describeImageReport shows sizes, crop box and tiles", () => {
  const rows = describeImageReport({
    format: "jpeg",
    original: { width: 4000, height: 3000 },
    orientation: 6,
    crop_box: { x: 10, y: 20, width: 300, height: 200 },
    processed: { width: 1536, height: 1152 },
    tiles: { cols: 3, rows: 2, passes: 7 },
    stages_ms: { decode: 12.2, smart_crop: 3 },
  });
  assert.deepEqual(rows, [
    ["Format", "JPEG"],
    ["Original size", "4000×3000"],
    ["Orientation", "6"],
    ["Crop box", "300×200 at (10, 20)"],
    ["Processed size", "1536×1152"],
    ["Tiles", "3×2 (7 encoder passes)"],
    ["Stages", "decode 12 ms, smart crop 3 ms"],
  ]);
  assert.equal(formatCropBox(null), "none");
  assert.equal(formatTiles({ cols: 1, rows: 1, passes: 1 }), "1×1 (1 encoder pass)");
  assert.deepEqual(describeImageReport(null), []);
  assert.deepEqual(describeImageReport({}), [
    ["Original size", "–"],
    ["Crop box", "none"],
    ["Processed size", "–"],
    ["Tiles", "–"],
  ]);
});

Deno.test("describeTimings lists known timings in order", () => {
  assert.deepEqual(describeTimings({ decode_ms: 50, queue_ms: 1, total_ms: 80 }), [
    ["Queue", "1 ms"],
    ["Decode", "50 ms"],
    ["Server total", "80 ms"],
  ]);
  assert.deepEqual(describeTimings(null), []);
});

Deno.test("parseRetryAfter reads seconds and dates", () => {
  assert.equal(parseRetryAfter("5"), 5000);
  assert.equal(parseRetryAfter(null), null);
  assert.equal(parseRetryAfter("soon"), null);
  const now = Date.parse("2025-01-01T00:00:00Z");
  assert.equal(parseRetryAfter("Wed, 01 Jan 2025 00:00:10 GMT", now), 10_000);
});

Deno.test("httpErrorMessage is a readable sentence", () => {
  assert.equal(
    httpErrorMessage(503, "the model is still loading; retry shortly", 5000),
    "The server is not ready (HTTP 503): the model is still loading; retry shortly. Try again in 5 s.",
  );
  assert.equal(httpErrorMessage(500, null, null), "The server failed (HTTP 500).");
  assert.equal(
    httpErrorMessage(413, "image too big.", null),
    "The image is too large for the server (HTTP 413): image too big.",
  );
});
