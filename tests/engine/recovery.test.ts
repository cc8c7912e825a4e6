/**
 * After a native error in one request the engine recovers: the failed decode's sequences and
 * every cached prefix are dropped (context reset) and the next request succeeds, with the same
 * tokens as before the failure. The failure is a real llama_decode error, provoked by the
 * engine's fault-injection option (an out-of-vocabulary token in the batch).
 */
import assert from "node:assert/strict";
import { loadEngine, NativeCallError } from "../../src/engine/mod.ts";
import { TINY } from "../_support/fixtures.ts";

const FAULT = "<<inject-decode-fault>>";

Deno.test("engine.generate() after a native decode error: context reset, the next request succeeds", async () => {
  await using engine = await loadEngine({
    modelPath: TINY.model,
    mmprojPath: TINY.mmproj,
    contextSize: 512,
    parallel: 2,
    nativeLog: "silent",
    injectDecodeFault: FAULT,
  });
  const ask = (text: string) =>
    engine.generate({
      messages: [{ role: "user", content: text }],
      maxTokens: 6,
      sampling: { temperature: 0 },
    }).result;

  const before = await ask("describe a red bicycle");
  assert.equal(before.usage.completionTokens, 6);
  // Same prefix as the cached one, so the failing prompt shares KV cells with it.
  await assert.rejects(ask(`describe a red bicycle ${FAULT}`), (e: unknown) => {
    assert.ok(e instanceof NativeCallError, String(e));
    assert.equal(e.code, "decode_failed");
    assert.match(e.message, /llama_decode returned -?\d+/);
    return true;
  });
  const after = await ask("describe a red bicycle");
  assert.deepEqual(after.tokens, before.tokens, "same greedy output as before the failure");
  assert.equal(after.usage.cachedTokens, 0, "no cached prefix survived the reset");
  // And the engine keeps going under concurrency.
  const both = await Promise.all([ask("one"), ask("two")]);
  assert.deepEqual(both.map((r) => r.usage.completionTokens), [6, 6]);
  await new Promise((r) => setTimeout(r, 0));
  assert.equal(engine.stats().running, 0);
  assert.equal(engine.stats().failed, 1);
});
