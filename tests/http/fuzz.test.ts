/**
 * Seeded fuzz of POST /v1/chat/completions through the whole HTTP layer and the real image
 * pipeline (fake engine): every answer is a 2xx or a 4xx with OpenAI error JSON — no 5xx, no
 * hang — and /health keeps answering. A small count here; `deno task fuzz` runs 10,000+.
 */
import assert from "node:assert/strict";
import { httpFuzzCases } from "../../tools/fuzz/http_cases.ts";
import { imageFuzzSeeds } from "../../tools/fuzz/image_cases.ts";
import { FakeEngine } from "./fake_engine.ts";
import { makeApp } from "./helpers.ts";

const COUNT = Number(Deno.env.get("FUZZ_COUNT") ?? 300);
const SEED = Number(Deno.env.get("FUZZ_SEED") ?? 20261202);

Deno.test("POST /v1/chat/completions answers every fuzzed request with a 2xx or a 4xx", {
  sanitizeOps: false,
  sanitizeResources: false,
}, async () => {
  const { app } = makeApp(new FakeEngine({ delayMs: 0, maxQueue: 64, parallel: 4 }));
  const seeds = await imageFuzzSeeds();
  const statuses = new Map<number, number>();
  let slowestMs = 0, worstHealthMs = 0;
  const rss0 = Deno.memoryUsage().rss;
  for (const c of httpFuzzCases(SEED, COUNT, seeds)) {
    const t0 = performance.now();
    const res = await app.request("/v1/chat/completions", {
      method: "POST",
      headers: { "content-type": c.contentType ?? "application/json" },
      body: c.body,
    });
    const text = await res.text();
    slowestMs = Math.max(slowestMs, performance.now() - t0);
    statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
    assert.ok(res.status < 500, `${c.name}: ${res.status} ${text.slice(0, 300)}`);
    if (res.status >= 400) {
      const body = JSON.parse(text);
      assert.equal(typeof body.error?.message, "string", `${c.name}: ${text.slice(0, 200)}`);
      assert.equal(typeof body.error?.type, "string", c.name);
      assert.ok("param" in body.error && "code" in body.error, c.name);
    }
    const h0 = performance.now();
    const health = await app.request("/health");
    await health.text();
    worstHealthMs = Math.max(worstHealthMs, performance.now() - h0);
    assert.equal(health.status, 200);
  }
  const growthMb = (Deno.memoryUsage().rss - rss0) / 2 ** 20;
  console.log(
    `http fuzz: ${COUNT} cases, seed ${SEED}:`,
    Object.fromEntries([...statuses].sort((a, b) => a[0] - b[0])),
    `slowest ${slowestMs.toFixed(0)} ms, worst /health ${worstHealthMs.toFixed(1)} ms,`,
    `RSS +${growthMb.toFixed(0)} MiB`,
  );
  assert.ok(slowestMs < 10_000, `a request took ${slowestMs.toFixed(0)} ms`);
  assert.ok(growthMb < 1024, `RSS grew ${growthMb.toFixed(0)} MiB`);
});
