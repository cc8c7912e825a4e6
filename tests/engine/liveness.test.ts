/**
 * The FFI lives in the engine worker, so the main thread's event loop stays free while the
 * 500m model loads and four image generations run in one batch: a 10 ms timer is measured for
 * how late it fires.
 *
 * Why these bounds: one vision-encoder pass of the 500m model takes ~1.5 s on this machine
 * class, so any native call on the main thread shows up as a late tick of ≥ 1 s. The service's
 * contract (p99 ≤ 20 ms late) is measured by `deno task bench:serve`, not here: on the shared
 * 2-core VM this was written on (load average 6–8 from other agents) the OS alone delayed single
 * ticks by up to 180 ms (p99 up to 160 ms), while on a quieter moment p99 was 9–16 ms.
 */
import assert from "node:assert/strict";
import { loadEngine } from "../../src/engine/mod.ts";
import { SMOLVLM_500M, syntheticImage } from "../_support/fixtures.ts";

const WORST_TICK_MS = 750;
const MEDIAN_TICK_MS = 5;

Deno.test("a 10 ms main-thread timer keeps ticking while the 500m model loads and 4 image generations run", async () => {
  const lateness: number[] = [];
  let last = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    lateness.push(now - last - 10);
    last = now;
  }, 10);
  try {
    await using engine = await loadEngine({
      modelPath: SMOLVLM_500M.model,
      mmprojPath: SMOLVLM_500M.mmproj,
      contextSize: 4096,
      parallel: 4,
      threads: 1, // leaves the other core to the main thread, as a deployment would
      nativeLog: "silent",
    });
    const generations = [0, 1, 2, 3].map((i) =>
      engine.generate({
        messages: [{
          role: "user",
          content: [
            { type: "image", image: syntheticImage(512, 384 + 32 * i, i) },
            { type: "text", text: "Describe." },
          ],
        }],
        maxTokens: 6,
        sampling: { temperature: 0 },
      })
    );
    for (const generation of generations) {
      const result = await generation.result;
      assert.ok(result.timings.imageEncoderPasses >= 1);
    }
  } finally {
    clearInterval(timer);
  }
  lateness.sort((a, b) => a - b);
  const median = lateness[lateness.length >> 1]!;
  const worst = lateness.at(-1)!;
  assert.ok(lateness.length >= 100, `only ${lateness.length} ticks`);
  assert.ok(median <= MEDIAN_TICK_MS, `median lateness ${median.toFixed(1)} ms`);
  assert.ok(worst <= WORST_TICK_MS, `worst lateness ${worst.toFixed(1)} ms`);
});
