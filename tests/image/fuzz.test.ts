/**
 * Seeded fuzz of the image pipeline behind its worker wall (a small count here; `deno task
 * fuzz` runs 10,000+). Every outcome is a result or a typed 4xx ImageError: no other error, no
 * hang, bounded memory.
 */
import assert from "node:assert/strict";
import { parseImageProcessingConfig } from "../../src/image/config.ts";
import { ImageError } from "../../src/image/errors.ts";
import { IsolatedImagePipeline } from "../../src/image/isolated.ts";
import { type FuzzCase, imageFuzzCases, imageFuzzSeeds } from "../../tools/fuzz/image_cases.ts";

const COUNT = Number(Deno.env.get("FUZZ_COUNT") ?? 240);
const SEED = Number(Deno.env.get("FUZZ_SEED") ?? 20261202);

Deno.test("IsolatedImagePipeline.process() answers every fuzzed image with a result or a 4xx", {
  sanitizeOps: false,
  sanitizeResources: false,
}, async () => {
  using pipe = new IsolatedImagePipeline({ workers: 2, deadlineMs: 10_000, maxQueue: 16 });
  // Small outputs: the target is the parsers and decoders, not the filters.
  const cfg = parseImageProcessingConfig({ size: [128, 128], min_size: 64 });
  const seeds = await imageFuzzSeeds();
  const statuses = new Map<string, number>();
  const rss0 = Deno.memoryUsage().rss;
  let slowest = 0;
  const cases = imageFuzzCases(SEED, COUNT, seeds);
  // Eight clients at a time, as concurrent requests would be.
  const client = async () => {
    for (const c of cases) await one(c);
  };
  const one = async (c: FuzzCase) => {
    const t0 = performance.now();
    let outcome: string;
    try {
      await pipe.process({ bytes: c.bytes, mime: c.mime }, cfg);
      outcome = "ok";
    } catch (e) {
      assert.ok(e instanceof ImageError, `${c.name}: ${e}`);
      assert.ok(e.status >= 400 && e.status < 500, `${c.name}: status ${e.status} ${e.message}`);
      outcome = String(e.status);
    }
    slowest = Math.max(slowest, performance.now() - t0);
    statuses.set(outcome, (statuses.get(outcome) ?? 0) + 1);
  };
  await Promise.all(Array.from({ length: 8 }, client));
  const growthMb = (Deno.memoryUsage().rss - rss0) / 2 ** 20;
  console.log(
    `fuzz: ${COUNT} cases, seed ${SEED}:`,
    Object.fromEntries(statuses),
    `timeouts ${pipe.stats().timeouts}, RSS +${growthMb.toFixed(0)} MiB`,
  );
  assert.equal(pipe.stats().timeouts, 0, "no fuzzed image should reach the deadline");
  assert.ok((statuses.get("ok") ?? 0) > 0, "some mutations stay valid");
  assert.ok(growthMb < 512, `RSS grew ${growthMb.toFixed(0)} MiB`);
});
