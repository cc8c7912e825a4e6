/** Native memory is freed per generation (event-loop liveness: liveness.test.ts). */
import assert from "node:assert/strict";
import { loadEngine } from "../../src/engine/mod.ts";
import { syntheticImage, TINY } from "../_support/fixtures.ts";

Deno.test("200 sequential image generations on the tiny model do not grow RSS (no native leak)", async () => {
  await using engine = await loadEngine({
    modelPath: TINY.model,
    mmprojPath: TINY.mmproj,
    contextSize: 1024,
    nativeLog: "silent",
  });
  let rssAt20 = 0;
  for (let i = 1; i <= 200; i++) {
    const image = syntheticImage(96, 64, i % 3);
    const result = await engine.generate({
      messages: [{
        role: "user",
        content: [{ type: "image", image }, { type: "text", text: `#${i}` }],
      }],
      maxTokens: 3,
      sampling: { temperature: 0.7, seed: i },
    }).result;
    assert.equal(result.usage.imageTokens, 128);
    if (i === 20) rssAt20 = Deno.memoryUsage().rss;
  }
  const rssAt200 = Deno.memoryUsage().rss;
  const growth = (rssAt200 - rssAt20) / rssAt20;
  assert.ok(
    growth < 0.10,
    `RSS grew ${(growth * 100).toFixed(1)}% from ${rssAt20 >> 20} MiB to ${rssAt200 >> 20} MiB`,
  );
});
