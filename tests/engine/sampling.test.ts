import assert from "node:assert/strict";
import { loadEngine } from "../../src/engine/mod.ts";
import { syntheticImage, TINY } from "../_support/fixtures.ts";

Deno.test("engine.generate() with a seed and temperature > 0 is reproducible", async (t) => {
  await using engine = await loadEngine({
    modelPath: TINY.model,
    mmprojPath: TINY.mmproj,
    contextSize: 2048,
    nativeLog: "silent",
  });
  const image = syntheticImage(256, 256);
  const run = async (seed: number, extra: Record<string, unknown> = {}) =>
    (await engine.generate({
      messages: [{
        role: "user",
        content: [{ type: "image", image }, { type: "text", text: "What is this?" }],
      }],
      maxTokens: 24,
      sampling: { temperature: 0.9, topK: 0, topP: 1, minP: 0, seed, ...extra },
    }).result).tokens;

  await t.step("same seed → identical tokens", async () => {
    assert.deepEqual(await run(42), await run(42));
  });
  await t.step("different seed → different tokens", async () => {
    assert.notDeepEqual(await run(42), await run(43));
  });
  await t.step(
    "penalties and top-k/top-p/min-p change the sampler, still deterministic",
    async () => {
      const extra = {
        topK: 40,
        topP: 0.9,
        minP: 0.05,
        repeatPenalty: 1.3,
        presencePenalty: 0.5,
        frequencyPenalty: 0.5,
      };
      const a = await run(7, extra);
      assert.deepEqual(a, await run(7, extra));
      assert.equal(a.length, 24);
    },
  );
  await t.step("stop strings end the output before the stop text", async () => {
    const full = await engine.generate({
      messages: [{ role: "user", content: "Say something." }],
      maxTokens: 24,
      sampling: { temperature: 0 },
    }).result;
    assert.ok(full.text.length > 10);
    const stop = full.text.slice(6, 9);
    const stopped = await engine.generate({
      messages: [{ role: "user", content: "Say something." }],
      maxTokens: 24,
      stop: [stop],
      sampling: { temperature: 0 },
    }).result;
    assert.equal(stopped.finishReason, "stop");
    assert.equal(stopped.text, full.text.slice(0, full.text.indexOf(stop)));
  });
  await t.step("max_tokens bounds the completion (finish reason length)", async () => {
    const result = await engine.generate({
      messages: [{ role: "user", content: "Go on." }],
      maxTokens: 5,
      sampling: { temperature: 0 },
    }).result;
    assert.equal(result.finishReason, "length");
    assert.equal(result.usage.completionTokens, 5);
  });
  await t.step("streamed deltas concatenate to the result text", async () => {
    const unseen = syntheticImage(256, 256, 3); // not in the image cache yet: the encoder runs
    const generation = engine.generate({
      messages: [{
        role: "user",
        content: [{ type: "image", image: unseen }, { type: "text", text: "Hi" }],
      }],
      maxTokens: 20,
      sampling: { temperature: 0 },
    });
    let streamed = "";
    for await (const delta of generation) streamed += delta.text;
    const result = await generation.result;
    assert.equal(streamed, result.text);
    assert.equal(result.usage.imageTokens, 128); // 1 tile + overview, 64 tokens each
    assert.equal(result.timings.imageEncoderPasses, 2);
    assert.ok(result.usage.promptTokens > result.usage.imageTokens);
    assert.ok(result.timings.encodeMs > 0 && result.timings.prefillMs > 0);
  });
});
