/**
 * The same image asked again costs no encoder pass: the KV cells of a slot that holds the same
 * prefix are reused (prefix reuse), and where the prefix differs before the image, its tiles come
 * from the image-embedding cache. Either way the output is exactly what a fresh engine produces.
 */
import assert from "node:assert/strict";
import { type GenerateRequest, loadEngine } from "../../src/engine/mod.ts";
import { syntheticImage, TINY } from "../_support/fixtures.ts";

const IMAGE = syntheticImage(1024, 1024, 2); // 2x2 tiles + overview: 5 encoder passes

function question(text: string, system?: string): GenerateRequest {
  return {
    messages: [
      ...(system ? [{ role: "system" as const, content: system }] : []),
      { role: "user", content: [{ type: "image", image: IMAGE }, { type: "text", text }] },
    ],
    maxTokens: 16,
    sampling: { temperature: 0 },
  };
}

function open(imageCacheBytes?: number) {
  return loadEngine({
    modelPath: TINY.model,
    mmprojPath: TINY.mmproj,
    contextSize: 4096,
    imageCacheBytes,
    nativeLog: "silent",
  });
}

Deno.test("the same image asked twice reuses KV cells and cached embeddings, with identical output", async (t) => {
  const second = question("And what colour is the disc?");
  const otherPrefix = question("What is in the picture?", "You are terse.");
  const fresh: number[][] = [];
  for (const request of [second, otherPrefix]) {
    await using engine = await open();
    fresh.push([...(await engine.generate(request).result).tokens]);
  }

  await using engine = await open();
  const first = await engine.generate(question("What is in the picture?")).result;
  assert.equal(first.timings.imageEncoderPasses, 5);
  assert.equal(first.usage.cachedTokens, 0);

  await t.step("a different question after the same image: prefix reuse", async () => {
    const before = engine.stats().promptTokensEvaluated ?? 0;
    const result = await engine.generate(second).result;
    const evaluated = (engine.stats().promptTokensEvaluated ?? 0) - before;
    assert.equal(result.timings.imageEncoderPasses, 0);
    // Everything up to the question is reused, the image's 320 positions included.
    assert.ok(
      (result.usage.cachedTokens ?? 0) > result.usage.imageTokens,
      `${result.usage.cachedTokens} cached of ${result.usage.promptTokens}`,
    );
    assert.equal(evaluated, result.usage.promptTokens - (result.usage.cachedTokens ?? 0));
    assert.ok(evaluated < first.usage.promptTokens / 10, `${evaluated} positions evaluated`);
    assert.deepEqual([...result.tokens], fresh[0]);
  });

  await t.step("a different prefix before the same image: embedding-cache hits", async () => {
    const hitsBefore = engine.stats().imageCache?.hits ?? 0;
    const result = await engine.generate(otherPrefix).result;
    assert.equal(result.timings.imageEncoderPasses, 0);
    assert.equal(result.timings.imageCacheHits, 5);
    assert.equal((engine.stats().imageCache?.hits ?? 0) - hitsBefore, 5);
    assert.ok((result.usage.cachedTokens ?? 0) < result.usage.imageTokens);
    assert.deepEqual([...result.tokens], fresh[1]);
  });

  await t.step("stats expose the image cache's size and bound", () => {
    const cache = engine.stats().imageCache!;
    assert.equal(cache.entries, 5);
    assert.ok(cache.bytes > 0 && cache.bytes <= cache.capacityBytes);
    assert.equal(cache.misses, 5);
  });
});

Deno.test("the image-embedding cache stays within its byte bound (least recently used evicted)", async () => {
  // One tile of the tiny model's embeddings: 64 tokens x n_embd floats.
  await using engine = await open(1);
  const result = await engine.generate(question("What?", "A")).result;
  assert.equal(result.timings.imageEncoderPasses, 5);
  const again = await engine.generate(question("What?", "B")).result;
  assert.equal(again.timings.imageEncoderPasses, 5, "nothing fits in 1 byte: encoded again");
  assert.deepEqual(engine.stats().imageCache?.entries, 0);
});

/** What the engine answers about `images`, with its encoder passes and embedding-cache hits. */
async function answer(
  imageCacheBytes: number | undefined,
  images: ReturnType<typeof syntheticImage>[],
) {
  await using engine = await open(imageCacheBytes);
  const result = await engine.generate({
    messages: [{
      role: "user",
      content: [
        ...images.map((image) => ({ type: "image" as const, image })),
        { type: "text" as const, text: "What do you see?" },
      ],
    }],
    maxTokens: 16,
    sampling: { temperature: 0 },
  }).result;
  return {
    tokens: [...result.tokens],
    passes: result.timings.imageEncoderPasses,
    hits: result.timings.imageCacheHits,
    imageTokens: result.usage.imageTokens,
  };
}

Deno.test("engine.generate() encodes a one-tile image once for its slice and overview, answering as with two passes", async () => {
  // 512x512 = the tiny model's tile: llama.cpp gives it one slice plus the overview, the same pixels.
  const tile = syntheticImage(512, 512, 5);
  const cached = await answer(undefined, [tile]);
  const uncached = await answer(1, [tile]); // a 1-byte cache holds nothing: two passes
  assert.equal(uncached.passes, 2);
  assert.equal(cached.passes, 1);
  assert.equal(cached.hits, 1);
  assert.equal(cached.imageTokens, uncached.imageTokens, "the prompt keeps both chunks' tokens");
  assert.deepEqual(cached.tokens, uncached.tokens);
  // A picture that is not exactly one tile has two different encoder inputs.
  const wide = await answer(undefined, [syntheticImage(512, 384, 5)]);
  assert.equal(wide.passes, 2);
  assert.equal(wide.hits, 0);
});

Deno.test("engine.generate() encodes the same picture twice in one prompt once", async () => {
  const picture = syntheticImage(1024, 1024, 6); // 2x2 tiles + overview
  const cached = await answer(undefined, [picture, picture]);
  const uncached = await answer(1, [picture, picture]);
  assert.equal(uncached.passes, 10);
  assert.equal(cached.passes, 5);
  assert.equal(cached.hits, 5);
  assert.deepEqual(cached.tokens, uncached.tokens);
});
