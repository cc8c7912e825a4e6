/**
 * A generation stopped from outside (abort while queued, during the image encoder, during
 * decode; its own timeout; a newer request of its session) frees its slot and KV cells by the
 * next step, and the request after it produces exactly what it produces on a fresh engine.
 */
import assert from "node:assert/strict";
import {
  type Engine,
  type GenerateRequest,
  type GenerationResult,
  loadEngine,
} from "../../src/engine/mod.ts";
import { syntheticImage, TINY } from "../_support/fixtures.ts";

const PROBE: GenerateRequest = {
  messages: [{
    role: "user",
    content: [{ type: "image", image: syntheticImage(256, 192, 1) }, {
      type: "text",
      text: "What is here?",
    }],
  }],
  maxTokens: 24,
  sampling: { temperature: 0 },
};

const LONG_TEXT: GenerateRequest = {
  messages: [{ role: "user", content: "Tell me a long story." }],
  maxTokens: 400,
  sampling: { temperature: 0 },
};

function open(parallel = 1): Promise<Engine> {
  return loadEngine({
    modelPath: TINY.model,
    mmprojPath: TINY.mmproj,
    contextSize: 4096,
    parallel,
    nativeLog: "silent",
  });
}

/** Waits until `check` holds for the engine's stats (they arrive from the worker). */
async function until(engine: Engine, what: string, check: () => boolean): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (check()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  assert.fail(`timed out waiting for ${what}: ${JSON.stringify(engine.stats())}`);
}

Deno.test("a cancelled generation frees its slot and KV cells; the next request is unaffected", async (t) => {
  let reference: GenerationResult;
  {
    await using fresh = await open();
    reference = await fresh.generate(PROBE).result;
  }
  assert.ok(reference.tokens.length >= 8);

  await using engine = await open();
  const slot0 = () => engine.stats().slots?.[0];

  await t.step("aborted while queued: ends at once, never takes the slot", async () => {
    const running = engine.generate(LONG_TEXT);
    const controller = new AbortController();
    const queued = engine.generate({ ...PROBE, signal: controller.signal });
    assert.equal(engine.stats().queued, 1);
    controller.abort();
    const result = await queued.result;
    assert.equal(result.finishReason, "abort");
    assert.equal(result.usage.promptTokens, 0);
    assert.equal(engine.stats().queued, 0);
    await running.result;
  });

  await t.step("aborted during the image encoder", async () => {
    const controller = new AbortController();
    const big = engine.generate({
      messages: [{
        role: "user",
        content: [{ type: "image", image: syntheticImage(1024, 1024, 3) }, {
          type: "text",
          text: "?",
        }],
      }],
      maxTokens: 8,
      sampling: { temperature: 0 },
      signal: controller.signal,
    });
    await until(engine, "the image request in prefill", () => slot0()?.state === "prefill");
    controller.abort();
    const result = await big.result;
    assert.equal(result.finishReason, "abort");
    assert.equal(result.usage.completionTokens, 0);
    assert.ok(result.timings.imageEncoderPasses < 5, `${result.timings.imageEncoderPasses} passes`);
    await freedThenProbe(engine, reference);
  });

  await t.step("aborted during decode", async () => {
    const controller = new AbortController();
    const generation = engine.generate({ ...LONG_TEXT, signal: controller.signal });
    let pieces = 0;
    for await (const _ of generation) if (++pieces === 3) controller.abort();
    const result = await generation.result;
    assert.equal(result.finishReason, "abort");
    assert.ok(result.usage.completionTokens < 10, `${result.usage.completionTokens} tokens`);
    await freedThenProbe(engine, reference);
  });

  await t.step(
    "its own timeout (queue time excluded) ends it with finish reason timeout",
    async () => {
      const result = await engine.generate({ ...LONG_TEXT, timeoutMs: 150 }).result;
      assert.equal(result.finishReason, "timeout");
      assert.ok(result.usage.completionTokens < 400);
      await freedThenProbe(engine, reference);
    },
  );

  await t.step("superseded by a newer request of the same session, running or queued", async () => {
    const first = engine.generate({ ...LONG_TEXT, sessionId: "camera-1" });
    for await (const _ of first) break; // it is decoding
    const second = engine.generate({ ...LONG_TEXT, sessionId: "camera-1", maxTokens: 4 });
    const third = engine.generate({ ...PROBE, sessionId: "camera-1" }); // supersedes queued #2
    assert.equal((await first.result).finishReason, "superseded");
    assert.equal((await second.result).finishReason, "superseded");
    const latest = await third.result;
    assert.deepEqual(latest.tokens, reference.tokens);
    assert.equal(engine.stats().superseded, 2);
  });

  await t.step(
    "an older arrival reaching the engine after a newer one is superseded, even once that ended",
    async () => {
      const newer = engine.generate({ ...PROBE, sessionId: "camera-2", arrivedAt: 2 });
      const older = engine.generate({ ...LONG_TEXT, sessionId: "camera-2", arrivedAt: 1 });
      assert.equal((await older.result).finishReason, "superseded");
      assert.deepEqual((await newer.result).tokens, reference.tokens);
      const late = engine.generate({ ...PROBE, sessionId: "camera-2", arrivedAt: 1.5 });
      assert.equal((await late.result).finishReason, "superseded", "after the newer one ended");
    },
  );
});

/** The slot is idle with no KV cells, then a probe request gives the reference tokens. */
async function freedThenProbe(engine: Engine, reference: GenerationResult): Promise<void> {
  await until(engine, "slot 0 idle with no KV cells", () => {
    const slot = engine.stats().slots?.[0];
    return slot?.state === "idle" && slot.kvTokens === 0;
  });
  const next = await engine.generate(PROBE).result;
  assert.deepEqual(next.tokens, reference.tokens);
  assert.equal(next.finishReason, reference.finishReason);
  // The probe's cells stay cached for reuse; drop them so the next case starts empty.
  const dropper = new AbortController();
  const drop = engine.generate({ ...LONG_TEXT, signal: dropper.signal });
  for await (const _ of drop) break;
  dropper.abort();
  await drop.result;
}
