/**
 * The resolve-images stage takes the model's tile side from the engine's facts (its projector),
 * never from a constant: the reports' tile estimate and one-tile images follow it, and a
 * text-only model refuses image and video parts before any of their bytes are read.
 */
import assert from "node:assert/strict";
import { tileGrid } from "../../../src/image/pipeline.ts";
import { FakeEngine, SMOLVLM_VISION } from "../fake_engine.ts";
import { chatBody, JSON_HEADERS, makeApp, pngDataUrl } from "../helpers.ts";
import { captureLogs, rendered } from "../../_support/logs.ts";

// deno-lint-ignore no-explicit-any
type Json = any;

async function ask(engine: FakeEngine, content: unknown): Promise<{ status: number; body: Json }> {
  const { app } = makeApp(engine);
  const res = await app.request("/v1/chat/completions", {
    method: "POST",
    headers: JSON_HEADERS,
    body: chatBody({ max_tokens: 4 }, content),
  });
  return { status: res.status, body: await res.json() };
}

Deno.test("resolveImages() estimates tiles and squares one-tile images at the engine's tile side", async () => {
  const url = await pngDataUrl(40, 30);
  const content = [
    { type: "image_url", image_url: { url } },
    { type: "image_url", image_url: { url, detail: "low" } },
    { type: "text", text: "What?" },
  ];
  const seen: Json[] = [];
  for (const tileSize of [512, 384]) {
    const engine = new FakeEngine({ vision: { ...SMOLVLM_VISION, tileSize } });
    const { status, body } = await ask(engine, content);
    assert.equal(status, 200, JSON.stringify(body));
    const [tiled, single] = body.image_reports;
    const { width, height } = tiled.processed;
    assert.deepEqual(tiled.tiles, tileGrid(width, height, engine.info.tiling!), `tile ${tileSize}`);
    assert.deepEqual(single.processed, { width: tileSize, height: tileSize });
    assert.deepEqual(single.tiles, { cols: 1, rows: 1, passes: 1 });
    seen.push(tiled.tiles);
  }
  // 40x30 is raised to 683x512; mtmd scales it to 2048 px, then into the 256-token budget:
  // 2x1 tiles of 512, 3x2 of 384.
  assert.notDeepEqual(seen[0], seen[1]);
});

Deno.test("resolveImages() refuses an image or video part for a text-only model before the engine", async (t) => {
  const url = await pngDataUrl(40, 30);
  const parts: [string, unknown, string][] = [
    [
      "image_url",
      { type: "image_url", image_url: { url } },
      "messages[0].content[1].image_url.url",
    ],
    [
      "video_frames",
      {
        type: "video_frames",
        video_frames: { frames: [{ url, timestamp: 0 }], duration: 1 },
      },
      "messages[0].content[1].video_frames",
    ],
  ];
  for (const [name, part, param] of parts) {
    await t.step(name, async () => {
      const engine = new FakeEngine({ vision: null });
      const { status, body } = await ask(engine, [{ type: "text", text: "What?" }, part]);
      assert.equal(status, 400, JSON.stringify(body));
      assert.equal(body.error.code, "vision_not_supported");
      assert.equal(body.error.param, param);
      assert.match(body.error.message, /no vision projector/);
      assert.equal(engine.requests.length, 0);
    });
  }
  await t.step("text alone is answered", async () => {
    const { status, body } = await ask(new FakeEngine({ vision: null }), "Hi");
    assert.equal(status, 200, JSON.stringify(body));
    assert.deepEqual(body.image_reports, []);
    assert.equal(body.choices[0].message.content, "Hello, world!");
  });
});

Deno.test("resolveImages() records each image's and clip's sizes and time at debug level", async () => {
  const url = await pngDataUrl(40, 30);
  const frames = [{ url, timestamp: 0 }, { url, timestamp: 0.5 }];
  const content = [
    { type: "image_url", image_url: { url } },
    { type: "image_url", image_url: { url, detail: "low" } },
    { type: "video_frames", video_frames: { frames, duration: 1 } },
    { type: "text", text: "What?" },
  ];
  let body: Json;
  const records = await captureLogs("debug", async () => {
    const answer = await ask(new FakeEngine(), content);
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    body = answer.body;
  });
  const prepared = records.filter((r) => String(r.rawMessage).includes("image {param} prepared"));
  assert.equal(prepared.length, 2);
  for (const [i, record] of prepared.entries()) {
    const report = body.image_reports[i];
    const p = record.properties;
    assert.equal(p.param, `messages[0].content[${i}].image_url.url`);
    assert.equal(p.format, "png");
    assert.equal(p.size_in, "40x30");
    assert.equal(p.size_out, `${report.processed.width}x${report.processed.height}`);
    assert.equal(p.single_tile, i === 1);
    assert.equal(typeof p.ms, "number");
    assert.match(
      rendered(record),
      new RegExp(`^chat req\\S+ image \\S+ prepared in [\\d.]+ ms: png 40x30 -> ${p.size_out}$`),
    );
  }
  assert.equal(prepared[1]!.properties.size_out, "512x512", "the one-tile image, squared");
  const clips = records.filter((r) => String(r.rawMessage).includes("video {param} prepared"));
  assert.equal(clips.length, 1);
  assert.match(
    rendered(clips[0]!),
    /^chat req\S+ video messages\[0\]\.content\[2\]\.video_frames prepared in [\d.]+ ms: 2 frames 40x30 -> 512x512, decoding 0 ms$/,
  );
  const info = await captureLogs("info", async () => void await ask(new FakeEngine(), content));
  assert.equal(info.filter((r) => String(r.rawMessage).includes(" prepared in ")).length, 0);
});
