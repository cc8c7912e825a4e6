import assert from "node:assert/strict";
import { completionJson, timingsJson, usageChunk, usageJson } from "../../src/http/sse.ts";
import type { Timings } from "../../src/engine/mod.ts";

const TIMINGS: Timings = {
  queueMs: 0,
  tokenizeMs: 1,
  encodeMs: 0,
  prefillMs: 2,
  decodeMs: 3,
  totalMs: 6,
  prefillTokensPerSecond: 10,
  decodeTokensPerSecond: 20,
  imageEncoderPasses: 0,
};

Deno.test("usageJson() reports the prompt tokens the engine reused as cached_tokens", () => {
  const usage = usageJson({
    promptTokens: 120,
    imageTokens: 64,
    completionTokens: 5,
    cachedTokens: 100,
  });
  assert.deepEqual(usage, {
    prompt_tokens: 120,
    completion_tokens: 5,
    total_tokens: 125,
    prompt_tokens_details: { cached_tokens: 100, image_tokens: 64 },
  });
  const none = usageJson({ promptTokens: 8, imageTokens: 0, completionTokens: 2 });
  assert.equal(none.prompt_tokens_details.cached_tokens, 0, "an engine that reports none");
});

Deno.test("completionJson() and usageChunk() carry the cached prompt tokens", () => {
  const ctx = { id: "chatcmpl-1", created: 1, model: "smolvlm", includeUsage: true };
  const usage = { promptTokens: 40, imageTokens: 0, completionTokens: 2, cachedTokens: 32 };
  const body = completionJson(ctx, "hi", "stop", usage, timingsJson(0, TIMINGS, 6), []) as {
    usage: { prompt_tokens_details: { cached_tokens: number } };
  };
  assert.equal(body.usage.prompt_tokens_details.cached_tokens, 32);
  const chunk = usageChunk(ctx, usage) as typeof body;
  assert.equal(chunk.usage.prompt_tokens_details.cached_tokens, 32);
});
