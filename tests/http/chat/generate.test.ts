/**
 * The generate stage: what names a completion. The engine numbers its generations from 1 (a new
 * process, a reloaded model, each server behind the edge), so its ids cannot be the answer's id.
 */
import assert from "node:assert/strict";
import { FakeEngine } from "../fake_engine.ts";
import { chatBody, JSON_HEADERS, makeApp, parseSse } from "../helpers.ts";

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
