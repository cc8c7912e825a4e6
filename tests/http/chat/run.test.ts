/**
 * A chat request's run: at debug level, whoever aborts it (the client leaving, shutdown, a
 * timeout) leaves a record of why and when, next to the request's one line.
 */
import assert from "node:assert/strict";
import { RequestTracker } from "../../../src/http/tracker.ts";
import { captureLogs, rendered } from "../../_support/logs.ts";
import { FakeEngine } from "../fake_engine.ts";
import { chatBody, JSON_HEADERS, makeApp } from "../helpers.ts";

const ABORTED = "chat {request_id} aborted ({reason}) after {ms} ms";

Deno.test("ChatRun records a client that leaves mid-stream at debug level", async () => {
  const engine = new FakeEngine({ delayMs: 20, deltas: Array(50).fill("x") });
  const records = await captureLogs("debug", async () => {
    const { app } = makeApp(engine);
    const res = await app.request("/v1/chat/completions", {
      method: "POST",
      headers: JSON_HEADERS,
      body: chatBody({ stream: true }),
    });
    const reader = res.body!.getReader();
    await reader.read();
    await reader.cancel();
    await new Promise((r) => setTimeout(r, 50));
  });
  const line = records.find((r) =>
    r.rawMessage === "chat {request_id} {status} in {duration_ms} ms"
  );
  assert.equal(line?.properties.status, 499);
  const aborted = records.filter((r) => r.rawMessage === ABORTED);
  assert.equal(aborted.length, 1);
  assert.equal(aborted[0]!.level, "debug");
  assert.equal(aborted[0]!.properties.request_id, line!.properties.request_id);
  assert.match(rendered(aborted[0]!), /^chat req\S+ aborted \(disconnect\) after [\d.]+ ms$/);
  assert.deepEqual(engine.aborted, ["fake-1"]);
});

Deno.test("ChatRun records an abort by shutdown; at info level it does not", async () => {
  for (const level of ["debug", "info"] as const) {
    const tracker = new RequestTracker();
    const records = await captureLogs(level, async () => {
      const engine = new FakeEngine({ delayMs: 20, deltas: Array(50).fill("x") });
      const { app } = makeApp(engine, {}, tracker);
      const answer = app.request("/v1/chat/completions", {
        method: "POST",
        headers: JSON_HEADERS,
        body: chatBody(),
      });
      while (engine.started.length === 0) await new Promise((r) => setTimeout(r, 5));
      assert.equal(tracker.abortAll("shutdown"), 1);
      assert.equal((await answer).status, 503);
    });
    const aborted = records.filter((r) => r.rawMessage === ABORTED);
    if (level === "info") {
      assert.deepEqual(aborted, []);
      continue;
    }
    assert.equal(aborted.length, 1);
    assert.equal(aborted[0]!.properties.reason, "shutdown");
    assert.equal(typeof aborted[0]!.properties.ms, "number");
  }
});
