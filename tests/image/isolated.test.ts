import assert from "node:assert/strict";
import { encodeJpeg, encodePng } from "../../src/image/codecs.ts";
import { defaultImageConfig } from "../../src/image/config.ts";
import { ImageError, ImageTimeoutError } from "../../src/image/errors.ts";
import { IsolatedImagePipeline } from "../../src/image/isolated.ts";
import { preprocessImage } from "../../src/image/pipeline.ts";
import { webpWithChunk } from "./hostile_inputs.ts";
import { textured } from "./helpers.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };

Deno.test(
  "IsolatedImagePipeline.process() matches preprocessImage() in-process",
  opts,
  async () => {
    using pipe = new IsolatedImagePipeline({ workers: 1 });
    const png = await encodePng(textured(300, 200, 3));
    const cfg = defaultImageConfig();
    const tiling = { tileSize: 384, longestEdge: null, maxPixels: null };
    const inProcess = await preprocessImage(png, cfg, { pool: null, tiling });
    const isolated = await pipe.process({ bytes: png }, cfg, { tiling });
    assert.equal(isolated.image.width, inProcess.image.width);
    assert.equal(isolated.image.height, inProcess.image.height);
    assert.deepEqual(isolated.image.data, inProcess.image.data);
    assert.equal(isolated.report.format, "png");
    // The caller's tiling reaches the worker: 300x200 → 768x512 rounds to 2x1 tiles of 384.
    assert.deepEqual(isolated.report.tiles, { cols: 2, rows: 1, passes: 3 });
    assert.deepEqual(isolated.report.tiles, inProcess.report.tiles);
    assert.equal((await pipe.process({ bytes: png }, cfg)).report.tiles, null);
    assert.equal(pipe.stats().completed, 2);
  },
);

Deno.test(
  "IsolatedImagePipeline.process() rebuilds typed 4xx errors from the worker",
  opts,
  async () => {
    using pipe = new IsolatedImagePipeline({ workers: 1 });
    const cfg = defaultImageConfig();
    const cases: [Uint8Array, string | undefined, number, string][] = [
      [webpWithChunk(0x80000000), undefined, 400, "invalid_image"],
      [
        new TextEncoder().encode("<svg xmlns='http://www.w3.org/2000/svg'/>"),
        "image/svg+xml",
        415,
        "unsupported_image_type",
      ],
      [await encodePng(textured(8, 8)), "image/jpeg", 400, "image_type_mismatch"],
      [new Uint8Array(0), undefined, 400, "invalid_image"],
    ];
    for (const [bytes, mime, status, code] of cases) {
      const t0 = performance.now();
      await assert.rejects(pipe.process({ bytes, mime }, cfg), (e: unknown) => {
        assert.ok(e instanceof ImageError, String(e));
        assert.equal(e.status, status);
        assert.equal(e.code, code);
        return true;
      });
      assert.ok(performance.now() - t0 < 2000);
    }
    assert.equal(pipe.stats().replaced, 0);
  },
);

Deno.test(
  "IsolatedImagePipeline cuts a slow image off at its deadline and replaces the worker",
  opts,
  async () => {
    using pipe = new IsolatedImagePipeline({ workers: 2, deadlineMs: 300 });
    const cfg = defaultImageConfig();
    const png = await encodePng(textured(64, 48, 5));
    const warm = await pipe.process({ bytes: png }, cfg); // both workers started
    const t0 = performance.now();
    const slow = pipe.process({ bytes: png }, cfg, { testDelayMs: 10_000 });
    // Concurrent requests keep completing on the other worker while the slow one runs.
    const others = Array.from({ length: 4 }, () => pipe.process({ bytes: png }, cfg));
    await assert.rejects(slow, (e: unknown) => {
      assert.ok(e instanceof ImageTimeoutError);
      assert.equal(e.status, 422);
      assert.match(e.message, /300 ms/);
      return true;
    });
    const elapsed = performance.now() - t0;
    assert.ok(elapsed < 3000, `timeout took ${elapsed.toFixed(0)} ms`);
    for (const r of await Promise.all(others)) assert.equal(r.image.width, warm.image.width);
    assert.equal(pipe.stats().timeouts, 1);
    assert.equal(pipe.stats().replaced, 1);
    // The replacement worker serves the next image.
    const after = await pipe.process({ bytes: png }, cfg);
    assert.equal(after.report.format, "png");
    assert.equal(pipe.stats().workers, 2);
  },
);

Deno.test(
  "IsolatedImagePipeline.process() honours an abort while queued and while running",
  opts,
  async () => {
    using pipe = new IsolatedImagePipeline({ workers: 1, deadlineMs: 60_000 });
    const cfg = defaultImageConfig();
    const png = await encodePng(textured(32, 32));
    const warm = await pipe.process({ bytes: png }, cfg);
    const running = new AbortController();
    const queued = new AbortController();
    const a = pipe.process({ bytes: png }, cfg, { signal: running.signal, testDelayMs: 10_000 });
    const b = pipe.process({ bytes: png }, cfg, { signal: queued.signal });
    await new Promise((r) => setTimeout(r, 50));
    queued.abort(new Error("client went away (queued)"));
    await assert.rejects(b, /client went away \(queued\)/);
    running.abort(new Error("client went away (running)"));
    await assert.rejects(a, /client went away \(running\)/);
    assert.equal(pipe.stats().replaced, 1);
    assert.equal((await pipe.process({ bytes: png }, cfg)).image.width, warm.image.width);
  },
);

Deno.test("IsolatedImagePipeline answers 503 when its wait queue is full", opts, async () => {
  using pipe = new IsolatedImagePipeline({ workers: 1, maxQueue: 1, deadlineMs: 500 });
  const cfg = defaultImageConfig();
  const png = await encodePng(textured(16, 16));
  const warm = await pipe.process({ bytes: png }, cfg);
  const slow = pipe.process({ bytes: png }, cfg, { testDelayMs: 5_000 }).catch((e) => e);
  await new Promise((r) => setTimeout(r, 20));
  const waiting = pipe.process({ bytes: png }, cfg);
  await assert.rejects(pipe.process({ bytes: png }, cfg), (e: unknown) => {
    assert.ok(e instanceof ImageError);
    assert.equal(e.status, 503);
    assert.equal(e.code, "image_pipeline_busy");
    return true;
  });
  assert.ok((await slow) instanceof ImageTimeoutError);
  assert.equal((await waiting).image.width, warm.image.width);
});

Deno.test(
  "IsolatedImagePipeline.process() with transfer moves the caller's buffer",
  opts,
  async () => {
    using pipe = new IsolatedImagePipeline({ workers: 1 });
    const jpeg = await encodeJpeg(textured(40, 30), 90);
    const r = await pipe.process({ bytes: jpeg }, defaultImageConfig(), { transfer: true });
    assert.equal(r.report.original.width, 40);
    assert.equal(jpeg.byteLength, 0, "the bytes were transferred, not copied");
  },
);
