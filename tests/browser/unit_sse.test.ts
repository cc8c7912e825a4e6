import assert from "node:assert/strict";
import { parseChatEvent, readErrorBody, readSse, SseParser } from "../../static/js/sse.js";

Deno.test("SseParser joins events split anywhere, with any line ending", () => {
  const text =
    'data: {"a":1}\n\n: comment\r\ndata: line1\r\ndata: line2\r\n\r\nevent: x\rdata: y\r\r' +
    "data: [DONE]\n\n";
  for (let size = 1; size <= text.length; size++) {
    const p = new SseParser();
    const events = [];
    for (let i = 0; i < text.length; i += size) events.push(...p.push(text.slice(i, i + size)));
    events.push(...p.end());
    assert.deepEqual(
      events.map((e) => [e.event, e.data]),
      [["message", '{"a":1}'], ["message", "line1\nline2"], ["x", "y"], ["message", "[DONE]"]],
      `piece size ${size}`,
    );
  }
});

Deno.test("SseParser dispatches a last event with no blank line at end()", () => {
  const p = new SseParser();
  assert.deepEqual(p.push("data: tail"), []);
  assert.deepEqual(p.end().map((e) => e.data), ["tail"]);
});

Deno.test("parseChatEvent reads deltas, the final chunk, usage, errors and [DONE]", () => {
  assert.deepEqual(parseChatEvent("[DONE]"), { kind: "done" });
  const first = parseChatEvent(JSON.stringify({
    object: "chat.completion.chunk",
    choices: [{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: null }],
  }));
  assert.ok(first.kind === "chunk" && first.role === "assistant" && first.content === "");
  const piece = parseChatEvent(JSON.stringify({ choices: [{ delta: { content: "Hel" } }] }));
  assert.ok(piece.kind === "chunk" && piece.content === "Hel" && piece.finishReason === null);
  const final = parseChatEvent(JSON.stringify({
    choices: [{ delta: {}, finish_reason: "length" }],
    timings: { total_ms: 12, completion_tokens_per_second: 40 },
    image_reports: [{ format: "jpeg" }],
  }));
  assert.ok(final.kind === "chunk");
  if (final.kind === "chunk") {
    assert.equal(final.finishReason, "length");
    assert.equal(final.timings?.["total_ms"], 12);
    assert.deepEqual(final.imageReports, [{ format: "jpeg" }]);
  }
  const usage = parseChatEvent(
    JSON.stringify({
      choices: [],
      usage: { prompt_tokens: 5, completion_tokens: 3, total_tokens: 8 },
    }),
  );
  assert.ok(usage.kind === "chunk" && usage.usage?.completion_tokens === 3);
  const err = parseChatEvent(
    JSON.stringify({ error: { message: "boom", type: "server_error", code: 7 } }),
  );
  assert.deepEqual(err, {
    kind: "error",
    error: { message: "boom", type: "server_error", code: "7", param: null },
  });
  assert.equal(parseChatEvent("{not json").kind, "invalid");
});

Deno.test("readErrorBody", () => {
  assert.equal(readErrorBody({ error: "plain" })?.message, "plain");
  assert.equal(readErrorBody({ nope: 1 }), null);
  assert.equal(readErrorBody(null), null);
});

Deno.test("readSse yields events from a byte stream split inside UTF-8 characters", async () => {
  const bytes = new TextEncoder().encode('data: {"t":"héllo ☃"}\n\ndata: [DONE]\n\n');
  const stream = new ReadableStream<Uint8Array>({
    start(c) {
      for (let i = 0; i < bytes.length; i += 3) c.enqueue(bytes.slice(i, i + 3));
      c.close();
    },
  });
  const got = [];
  for await (const e of readSse(stream)) got.push(e.data);
  assert.deepEqual(got, ['{"t":"héllo ☃"}', "[DONE]"]);
});

Deno.test("readSse cancels the stream when the consumer stops early", async () => {
  let cancelled = false;
  const stream = new ReadableStream<Uint8Array>({
    pull(c) {
      c.enqueue(new TextEncoder().encode("data: x\n\n"));
    },
    cancel() {
      cancelled = true;
    },
  });
  for await (const _ of readSse(stream)) break;
  assert.equal(cancelled, true);
});
