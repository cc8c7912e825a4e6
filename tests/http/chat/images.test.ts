/**
 * The resolve-images stage takes the model's tile side from the engine's facts (its projector),
 * never from a constant: the reports' tile estimate and one-tile images follow it, and a
 * text-only model refuses image and video parts before any of their bytes are read.
 */
import assert from "node:assert/strict";
import { tileGrid } from "../../../src/image/pipeline.ts";
import { FakeEngine, SMOLVLM_VISION } from "../fake_engine.ts";
import { chatBody, JSON_HEADERS, makeApp, pngDataUrl } from "../helpers.ts";

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
