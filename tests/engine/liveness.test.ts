/**
 * The FFI lives in the engine worker, so the main thread's event loop stays free while four
 * image generations run in one batch: a 10 ms timer is measured for how late it fires.
 *
 * Margins, measured on the shared 2-core VM this was written on (4 other agents' builds and tests
 * running): p99 lateness 9–16 ms, worst single tick 21–50 ms, depending on what the other
 * processes did. The contract is 20 ms; the worst tick gets 100 ms of headroom for the shared
 * machine, the 99th percentile holds the contract.
 */
import assert from "node:assert/strict";
import { loadEngine } from "../../src/engine/mod.ts";
import { syntheticImage, TINY } from "../_support/fixtures.ts";

Deno.test("a 10 ms main-thread timer stays on time while 4 image generations run (parallel=4)", async () => {
  await using engine = await loadEngine({
    modelPath: TINY.model,
    mmprojPath: TINY.mmproj,
    contextSize: 4096,
    parallel: 4,
    threads: 1, // leaves the other core to the main thread, as a deployment would
    nativeLog: "silent",
  });
  const lateness: number[] = [];
  let last = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    lateness.push(now - last - 10);
    last = now;
  }, 10);
  try {
    const generations = [0, 1, 2, 3].map((i) =>
      engine.generate({
        messages: [{
          role: "user",
          content: [
            { type: "image", image: syntheticImage(512 + 128 * i, 512, i) },
            { type: "text", text: "Describe." },
          ],
        }],
        maxTokens: 48,
        sampling: { temperature: 0 },
      })
    );
    for (const generation of generations) {
      assert.equal((await generation.result).usage.completionTokens, 48);
    }
  } finally {
    clearInterval(timer);
  }
  lateness.sort((a, b) => a - b);
  const p99 = lateness[Math.floor(lateness.length * 0.99)]!;
  const worst = lateness.at(-1)!;
  assert.ok(lateness.length >= 50, `only ${lateness.length} ticks`);
  assert.ok(p99 <= 20, `p99 lateness ${p99.toFixed(1)} ms`);
  assert.ok(worst <= 100, `worst lateness ${worst.toFixed(1)} ms`);
});
