/**
 * The generate stage: what names a completion. The engine numbers its generations from 1 (a new
 * process, a reloaded model, each server behind the edge), so its ids cannot be the answer's id.
 * At debug level it records each admission and the engine's account of each generation.
 */
import assert from "node:assert/strict";
import { FakeEngine } from "../fake_engine.ts";
import { chatBody, JSON_HEADERS, makeApp, parseSse } from "../helpers.ts";
import { captureLogs, rendered } from "../../_support/logs.ts";

Deno.test("startGeneration() gives each completion an id no other server or restart repeats", async () => {
  const ids: string[] = [];
  // Two servers (or one before and after a restart), each with a fresh engine.
  for (const app of [makeApp(new FakeEngine()).app, makeApp(new FakeEngine()).app]) {
    const json = await app.request("/v1/chat/completions", {
      method: "POST",
      headers: JSON_HEADERS,
      body: chatBody(),
    });
    ids.push((await json.json()).id);
    const sse = await app.request("/v1/chat/completions", {
      method: "POST",
      headers: JSON_HEADERS,
      body: chatBody({ stream: true }),
    });
    const events = parseSse(await sse.text()).filter((e) => e !== "[DONE]") as { id: string }[];
    assert.equal(new Set(events.map((e) => e.id)).size, 1, "one id for all chunks of a stream");
    ids.push(events[0]!.id);
  }
  assert.equal(new Set(ids).size, ids.length, ids.join(" "));
  for (const id of ids) assert.match(id, /^chatcmpl-[A-Za-z0-9]{16,}$/);
});

const CHAT_LINE = "chat {request_id} {status} in {duration_ms} ms";

/** Two chat requests at once on a one-slot engine: the second queues behind the first. */
async function twoAtOnce(): Promise<void> {
  const { app } = makeApp(new FakeEngine({ delayMs: 50, parallel: 1 }));
  const post = async () => {
    const res = await app.request("/v1/chat/completions", {
      method: "POST",
      headers: JSON_HEADERS,
      body: chatBody(),
    });
    assert.equal(res.status, 200);
    await res.text();
  };
  await Promise.all([post(), post()]);
}

Deno.test("startGeneration() records the admission and the generation's end at debug level", async () => {
  const records = await captureLogs("debug", twoAtOnce);
  const lines = records.filter((r) => r.rawMessage === CHAT_LINE);
  assert.equal(lines.length, 2);

  const admitted = records.filter((r) => String(r.rawMessage).includes("admitted to the engine"));
  assert.deepEqual(admitted.map((r) => r.properties.queue_position).sort(), [0, 1]);
  assert.match(
    rendered(admitted[1]!),
    /admitted to the engine as fake-2: queue position 1 \(1 running, 1 queued\)$/,
  );

  const finished = records.filter((r) => String(r.rawMessage).includes(" finished ("));
  assert.equal(finished.length, 2);
  for (const record of finished) {
    assert.equal(record.level, "debug");
    assert.deepEqual(record.category, ["smolvlm", "http"]);
    const p = record.properties;
    const line = lines.find((l) => l.properties.request_id === p.request_id);
    assert.ok(line, `a chat line for ${p.request_id}`);
    assert.equal(p.generation_id, line.properties.generation_id);
    // What the fake engine reports (fake_engine.ts), field by field.
    assert.equal(p.finish_reason, "stop");
    assert.deepEqual(
      [p.prompt_tokens, p.cached_tokens, p.image_tokens, p.completion_tokens],
      [10, 0, 0, 4],
    );
    assert.deepEqual([p.tokenize_ms, p.encode_ms, p.prefill_ms], [0.5, 1, 1]);
    assert.ok((p.decode_ms as number) >= 150, `decode ${p.decode_ms} ms for 4 deltas of 50 ms`);
    assert.equal(typeof p.queue_ms, "number");
    assert.match(
      rendered(record),
      new RegExp(
        `^chat ${p.request_id} generation ${p.generation_id} finished \\(stop\\): 10 prompt ` +
          `tokens \\(0 cached, 0 from images\\), 4 completion tokens; queue [\\d.]+ ms, ` +
          `tokenize 0.5 ms, encode 1 ms, prefill 1 ms, decode [\\d.]+ ms$`,
      ),
    );
  }
  const queueMs = finished.map((r) => r.properties.queue_ms as number).sort((a, b) => a - b);
  assert.ok(queueMs[1]! >= 150, `the second waited for the first: queued ${queueMs[1]} ms`);
});

Deno.test("startGeneration() adds nothing at info level: one line per request", async () => {
  const records = await captureLogs("info", twoAtOnce);
  assert.deepEqual(records.map((r) => [r.level, r.rawMessage]), [
    ["info", CHAT_LINE],
    ["info", CHAT_LINE],
  ]);
});
