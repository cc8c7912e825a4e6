/**
 * Continuous batching must not change what a request produces: with greedy sampling, each of 4
 * concurrent requests on a parallel=4 engine (one llama_decode per step for all of them) yields
 * exactly the tokens it yields alone on a parallel=1 engine with the same attention kernels
 * (parallel > 1 on CPU turns flash attention's "auto" off: see EngineOptions.flashAttention).
 */
import assert from "node:assert/strict";
import { type ChatContentPart, type Engine, loadEngine } from "../../src/engine/mod.ts";
import { syntheticImage, TINY } from "../_support/fixtures.ts";

interface Case {
  readonly name: string;
  readonly content: ChatContentPart[];
  readonly maxTokens: number;
}

const CASES: Case[] = [
  {
    name: "short text",
    content: [{ type: "text", text: "Hi." }],
    maxTokens: 40,
  },
  {
    name: "long text",
    content: [{ type: "text", text: "Tell me everything about the sea. ".repeat(12) }],
    maxTokens: 28,
  },
  {
    name: "one image",
    content: [{ type: "image", image: syntheticImage(320, 240, 0) }, {
      type: "text",
      text: "Describe this image.",
    }],
    maxTokens: 36,
  },
  {
    name: "two images",
    content: [
      { type: "image", image: syntheticImage(200, 300, 1) },
      { type: "image", image: syntheticImage(640, 480, 2) },
      { type: "text", text: "Compare them." },
    ],
    maxTokens: 32,
  },
];

function ask(engine: Engine, c: Case) {
  return engine.generate({
    messages: [{ role: "user", content: c.content }],
    maxTokens: c.maxTokens,
    sampling: { temperature: 0 },
  });
}

Deno.test("engine.generate() with parallel=4 gives each concurrent request exactly its solo tokens", async () => {
  const solo: number[][] = [];
  {
    await using alone = await loadEngine({
      modelPath: TINY.model,
      mmprojPath: TINY.mmproj,
      contextSize: 4096,
      parallel: 1,
      flashAttention: "off",
      nativeLog: "silent",
    });
    for (const c of CASES) solo.push([...(await ask(alone, c).result).tokens]);
  }
  for (const tokens of solo) assert.ok(tokens.length >= 16, `only ${tokens.length} tokens`);
  assert.equal(new Set(solo.map((t) => t.join())).size, CASES.length, "outputs must differ");

  await using batched = await loadEngine({
    modelPath: TINY.model,
    mmprojPath: TINY.mmproj,
    contextSize: 4096,
    parallel: 4,
    nativeLog: "silent",
  });
  let mostBusy = 0;
  const generations = CASES.map((c) => ask(batched, c));
  const results = await Promise.all(generations.map(async (generation) => {
    for await (const _ of generation) {
      const busy = batched.stats().slots?.filter((s) => s.state !== "idle").length ?? 0;
      mostBusy = Math.max(mostBusy, busy);
    }
    return await generation.result;
  }));
  results.forEach((result, i) => {
    assert.deepEqual([...result.tokens], solo[i], `${CASES[i]!.name}: batched ≠ solo`);
  });
  // They really ran together: at least 3 slots were decoding at the same time.
  assert.ok(mostBusy >= 3, `at most ${mostBusy} slots were busy at once`);
});
