import assert from "node:assert/strict";
import { EngineClosedError, loadEngine, QueueFullError } from "../../src/engine/mod.ts";
import { syntheticImage, TINY } from "../_support/fixtures.ts";

Deno.test("engine scheduler: queue bound, abort, tiling bound and close", async (t) => {
  const engine = await loadEngine({
    modelPath: TINY.model,
    mmprojPath: TINY.mmproj,
    contextSize: 4096,
    maxQueue: 1,
    nativeLog: "silent",
  });
  const ask = (maxTokens: number, signal?: AbortSignal, text = "Tell me a story.") =>
    engine.generate({
      messages: [{ role: "user", content: text }],
      maxTokens,
      signal,
      sampling: { temperature: 0 },
    });

  await t.step("a full queue throws QueueFullError at once, with a retry hint", async () => {
    const running = ask(64);
    const queued = ask(4);
    assert.throws(() => ask(4), (e: unknown) => {
      return e instanceof QueueFullError && e.retryAfterSeconds >= 1;
    });
    assert.deepEqual([engine.stats().running, engine.stats().queued], [1, 1]);
    await running.result;
    assert.equal((await queued.result).finishReason, "length");
  });

  await t.step(
    "a newer frame takes its session's stale place in a full queue; other requests are refused",
    async () => {
      const running = ask(64);
      const frame = (maxTokens: number, arrivedAt?: number) =>
        engine.generate({
          messages: [{ role: "user", content: "What now?" }],
          maxTokens,
          sessionId: "camera-1",
          arrivedAt,
          sampling: { temperature: 0 },
        });
      const stale = frame(4, 1);
      const newer = frame(4, 2);
      // Neither another caller's request nor an older frame of the session gets the place.
      assert.throws(() => ask(4), QueueFullError);
      assert.throws(() => frame(4, 0), QueueFullError);
      assert.equal((await stale.result).finishReason, "superseded");
      await running.result;
      assert.equal((await newer.result).finishReason, "length");
    },
  );

  await t.step("a request told to stop frees its queue place at once", async () => {
    const running = ask(64);
    const controller = new AbortController();
    const aborted = ask(4, controller.signal);
    controller.abort();
    // The worker has not reported the abort yet; the place is free all the same.
    const next = ask(4);
    assert.equal((await aborted.result).finishReason, "abort");
    await running.result;
    assert.equal((await next.result).finishReason, "length");
  });

  await t.step("aborting a running generation stops it at the engine's next step", async () => {
    const controller = new AbortController();
    const generation = ask(200, controller.signal);
    let pieces = 0;
    for await (const _ of generation) {
      if (++pieces === 3) controller.abort();
    }
    const result = await generation.result;
    assert.equal(result.finishReason, "abort");
    // The engine thread runs ahead of the consumer (deltas cross a thread), so a few tokens made
    // before the abort arrived may exist; after it, at most one more step runs.
    assert.ok(result.usage.completionTokens <= 12, `${result.usage.completionTokens} tokens`);
  });

  await t.step("aborting a queued generation drops it from the queue", async () => {
    const first = ask(32);
    const controller = new AbortController();
    const second = ask(32, controller.signal);
    controller.abort();
    assert.equal((await second.result).finishReason, "abort");
    assert.equal(engine.stats().queued, 0);
    await first.result;
  });

  await t.step(
    "a 1024 px image costs 5 encoder passes (2x2 tiles + overview), not 17",
    async () => {
      const image = syntheticImage(1024, 1024);
      const result = await engine.generate({
        messages: [{
          role: "user",
          content: [{ type: "image", image }, { type: "text", text: "?" }],
        }],
        maxTokens: 1,
      }).result;
      assert.equal(result.timings.imageEncoderPasses, 5);
      assert.equal(result.usage.imageTokens, 5 * 64);
    },
  );

  await t.step(
    "timings: queueMs is the wait for a slot, apart from tokenizeMs and totalMs",
    async () => {
      const image = syntheticImage(1024, 1024, 3); // mtmd's tiling of 1024 px takes tens of ms
      const running = ask(48);
      const started = performance.now();
      const waiting = engine.generate({
        messages: [{
          role: "user",
          content: [{ type: "image", image }, { type: "text", text: "?" }],
        }],
        maxTokens: 1,
      });
      const { timings } = await waiting.result;
      const wall = performance.now() - started;
      const running48 = await running.result;
      assert.ok(timings.tokenizeMs > 0);
      // It waited while the running one generated (it reached the worker a little later).
      assert.ok(
        timings.queueMs > running48.timings.totalMs / 2,
        `it waited for the running one: ${JSON.stringify({ timings, running: running48.timings })}`,
      );
      assert.ok(
        timings.queueMs + timings.totalMs <= wall,
        `queue ${timings.queueMs} + total ${timings.totalMs} must not exceed the wall ${wall} ms`,
      );
    },
  );

  await t.step("close() aborts running work and refuses new work", async () => {
    const running = ask(500);
    const queued = ask(500);
    await new Promise((r) => setTimeout(r, 50));
    await engine.close();
    assert.equal((await running.result).finishReason, "abort");
    await assert.rejects(queued.result, EngineClosedError);
    assert.throws(() => ask(1), EngineClosedError);
    await engine.close(); // idempotent
  });
});
