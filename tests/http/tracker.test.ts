/**
 * The request tracker counts live chat requests for admission, the per-caller cap and shutdown.
 * A client names its requests (`X-Request-Id`), so the name cannot be what tells them apart.
 */
import assert from "node:assert/strict";
import { RequestTracker } from "../../src/http/app.ts";
import { FakeEngine } from "./fake_engine.ts";
import { chatBody, JSON_HEADERS, makeApp } from "./helpers.ts";

const sameId = { ...JSON_HEADERS, "x-request-id": "my-request" };

Deno.test("RequestTracker counts requests that share an X-Request-Id apart", async () => {
  const engine = new FakeEngine({ delayMs: 40, parallel: 4, deltas: ["a", "b", "c"] });
  const tracker = new RequestTracker();
  const { app } = makeApp(engine, {
    rateLimits: { windowMs: 60_000, perAddress: 0, perKey: 0, concurrentPerKey: 2 },
  }, tracker);
  const post = () =>
    app.request("/v1/chat/completions", { method: "POST", body: chatBody(), headers: sameId });
  const running = [post(), post()];
  await new Promise((r) => setTimeout(r, 10));
  assert.equal(tracker.size, 2);
  const third = await post();
  assert.equal(third.status, 429, "the caller's cap holds whatever the requests are named");
  assert.equal((await third.json()).error.code, "too_many_concurrent_requests");
  for (const res of await Promise.all(running)) {
    assert.equal(res.status, 200);
    await res.body?.cancel();
  }
  assert.equal(tracker.size, 0);
});

Deno.test("RequestTracker.abortAll() reaches every request that shares an X-Request-Id", async () => {
  const engine = new FakeEngine({ delayMs: 30, parallel: 2, deltas: Array(100).fill("x") });
  const tracker = new RequestTracker();
  const { app } = makeApp(engine, {}, tracker);
  const post = () =>
    app.request("/v1/chat/completions", { method: "POST", body: chatBody(), headers: sameId });
  const both = Promise.all([post(), post()]);
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(tracker.size, 2);
  assert.equal(tracker.abortAll("shutdown"), 2);
  const statuses = (await both).map((r) => r.status);
  for (const s of statuses) assert.notEqual(s, 200, `${statuses}`);
  assert.equal(tracker.size, 0);
});

Deno.test("RequestTracker.inEngineOfSession() counts a session's requests while the engine holds them", () => {
  const tracker = new RequestTracker();
  const [a, b, other] = [new AbortController(), new AbortController(), new AbortController()];
  tracker.add(a, "addr:1", "addr:1 cam");
  tracker.add(b, "addr:1", "addr:1 cam");
  tracker.add(other, "addr:1");
  assert.equal(tracker.inEngineOfSession("addr:1 cam"), 0, "none handed to the engine yet");
  tracker.enteredEngine(a);
  tracker.enteredEngine(b);
  tracker.enteredEngine(other);
  assert.equal(tracker.inEngineOfSession("addr:1 cam"), 2);
  // A finished generation whose answer is still being read holds no engine place to take over.
  tracker.leftEngine(a);
  assert.equal(tracker.inEngineOfSession("addr:1 cam"), 1);
  tracker.delete(b);
  assert.equal(tracker.inEngineOfSession("addr:1 cam"), 0);
});
