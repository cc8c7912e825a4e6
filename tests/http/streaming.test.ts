/**
 * SSE backpressure: a reader that stops reading stops the pulls, and the request's timeout
 * still ends it — the stream closes with an error event and the slot is freed — so a slow
 * reader can hold neither memory nor capacity without bound.
 */
import assert from "node:assert/strict";
import { RequestTracker } from "../../src/http/app.ts";
import { FakeEngine } from "./fake_engine.ts";
import { chatBody, type Ev, JSON_HEADERS, makeApp, parseSse } from "./helpers.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

Deno.test("respondSse() pulls nothing for a reader that stops, and the timeout frees it", async () => {
  const engine = new FakeEngine({ delayMs: 1, deltas: Array(400).fill("x") });
  const tracker = new RequestTracker();
  const { app } = makeApp(engine, { timeoutMs: 600 }, tracker);
  const res = await app.request("/v1/chat/completions", {
    method: "POST",
    body: chatBody({ stream: true }),
    headers: JSON_HEADERS,
  });
  assert.equal(res.status, 200);
  const reader = res.body!.getReader();
  await reader.read(); // the role chunk; then the reader stops reading
  await sleep(300);
  assert.ok(engine.yielded <= 2, `the stream pulled ${engine.yielded} deltas nobody read`);
  assert.equal(tracker.size, 1);
  // The timeout ends the request although the reader never read again.
  const t0 = performance.now();
  while (tracker.size > 0 && performance.now() - t0 < 5000) await sleep(10);
  assert.equal(tracker.size, 0, "the slot is freed by the timeout");
  let rest = "";
  const dec = new TextDecoder();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    rest += dec.decode(value);
  }
  const events = parseSse(rest) as Ev[];
  assert.ok(events.length <= 4, `${events.length} events were queued for the reader`);
  assert.equal((events.at(-2) as Ev).error.code, "timeout");
  assert.equal(events.at(-1), "[DONE]");
});

Deno.test("a body that trickles in without a Content-Length meets the request timeout", async () => {
  const tracker = new RequestTracker();
  const { app } = makeApp(new FakeEngine(), { timeoutMs: 200 }, tracker);
  let cancelled = false;
  const trickle = new ReadableStream<Uint8Array>({
    start(c) {
      c.enqueue(new TextEncoder().encode('{"messages":[{"role":"user","content":"'));
    },
    cancel() {
      cancelled = true;
    },
  });
  const t0 = performance.now();
  const res = await app.request("/v1/chat/completions", {
    method: "POST",
    body: trickle,
    headers: JSON_HEADERS,
  });
  const body = await res.json();
  assert.equal(res.status, 504, JSON.stringify(body));
  assert.equal(body.error.code, "timeout");
  assert.ok(performance.now() - t0 < 3000);
  assert.ok(cancelled, "the upload was cancelled");
  assert.equal(tracker.size, 0);
});
