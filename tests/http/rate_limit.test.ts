/**
 * Rate limits (hono-rate-limiter): per client address and per API key, 429 with Retry-After in
 * OpenAI's error JSON; concurrent requests per caller.
 */
import assert from "node:assert/strict";
import { FakeEngine } from "./fake_engine.ts";
import { chatBody, JSON_HEADERS, makeApp } from "./helpers.ts";

type App = ReturnType<typeof makeApp>["app"];

const peer = (hostname: string) => ({
  remoteAddr: { hostname, port: 40000, transport: "tcp" as const },
});

function get(app: App, path: string, ip: string, key?: string) {
  const headers: Record<string, string> = key ? { authorization: `Bearer ${key}` } : {};
  return app.request(path, { headers }, peer(ip));
}

async function expect429(res: Response, code: string) {
  assert.equal(res.status, 429);
  const retry = Number(res.headers.get("retry-after"));
  assert.ok(retry >= 1 && retry <= 60, `Retry-After ${retry}`);
  const body = await res.json();
  assert.equal(body.error.type, "rate_limit_error");
  assert.equal(body.error.code, code);
}

Deno.test("rateLimits() caps requests per client address", async () => {
  const { app } = makeApp(new FakeEngine(), {
    rateLimits: { windowMs: 60_000, perAddress: 3, perKey: 0, concurrentPerKey: 0 },
  });
  for (let i = 0; i < 3; i++) {
    const res = await get(app, "/v1/models", "10.0.0.1");
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("ratelimit-remaining"), String(2 - i));
    await res.body?.cancel();
  }
  await expect429(await get(app, "/v1/models", "10.0.0.1"), "rate_limit_exceeded");
  const other = await get(app, "/v1/models", "10.0.0.2");
  assert.equal(other.status, 200, "another address has its own budget");
  await other.body?.cancel();
  const health = await get(app, "/health", "10.0.0.1");
  assert.equal(health.status, 200, "/health is not rate limited");
  await health.body?.cancel();
});

Deno.test("rateLimits() caps requests per API key, across addresses", async () => {
  const { app } = makeApp(new FakeEngine(), {
    apiKeys: ["k-one", "k-two"],
    rateLimits: { windowMs: 60_000, perAddress: 0, perKey: 2, concurrentPerKey: 0 },
  });
  for (const ip of ["10.0.0.1", "10.0.0.2"]) {
    const res = await get(app, "/v1/models", ip, "k-one");
    assert.equal(res.status, 200);
    await res.body?.cancel();
  }
  await expect429(await get(app, "/v1/models", "10.0.0.3", "k-one"), "rate_limit_exceeded");
  const two = await get(app, "/v1/models", "10.0.0.3", "k-two");
  assert.equal(two.status, 200);
  await two.body?.cancel();
});

Deno.test("concurrent requests per caller are capped with a 429", async () => {
  const engine = new FakeEngine({ delayMs: 40, parallel: 4, deltas: ["a", "b", "c"] });
  const { app } = makeApp(engine, {
    apiKeys: ["k-one", "k-two"],
    rateLimits: { windowMs: 60_000, perAddress: 0, perKey: 0, concurrentPerKey: 1 },
  });
  const post = (key: string) =>
    app.request("/v1/chat/completions", {
      method: "POST",
      body: chatBody(),
      headers: { ...JSON_HEADERS, authorization: `Bearer ${key}` },
    });
  const first = post("k-one");
  // Admitted and generating (a fixed sleep raced admission on a loaded machine).
  while (engine.requests.length === 0) await new Promise((r) => setTimeout(r, 2));
  await expect429(await post("k-one"), "too_many_concurrent_requests");
  const other = await post("k-two");
  assert.equal(other.status, 200, "another key is not affected");
  await other.body?.cancel();
  assert.equal((await first).status, 200);
  const again = await post("k-one");
  assert.equal(again.status, 200, "the slot is free once the first request ended");
  await again.body?.cancel();
});
