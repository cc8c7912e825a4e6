/**
 * The streamed answer's start: a request still without a token after COMMIT_AFTER_MS commits to
 * 200 and writes SSE comments until its first token, so a client that leaves while its request is
 * queued is noticed (Deno reports such a client only when a write to it fails) and the queue
 * place is freed.
 */
import assert from "node:assert/strict";
import { FakeEngine } from "../fake_engine.ts";
import {
  chatBody,
  type Ev,
  JSON_HEADERS,
  makeApp,
  metricSample,
  parseSse,
  pngDataUrl,
} from "../helpers.ts";
import { M500_DIR, modelPair, realEngineMissing, spawnServer } from "../server_helpers.ts";

const COMMENT = ": waiting for the first token\n\n";

/** `p`, or a failure naming `what` after `ms`. */
async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) =>
    timer = setTimeout(() => reject(new Error(`${what} within ${ms} ms`)), ms)
  );
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
}

async function queueDepth(base: string): Promise<number> {
  return metricSample(await (await fetch(`${base}/metrics`)).text(), "smolvlm_queue_depth");
}

Deno.test({
  name: "respondSse() commits a queued stream, frees its place when the client leaves",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async (t) => {
    const missing = realEngineMissing(M500_DIR);
    if (missing) throw new Error(`the 500m test model is needed: ${missing}`);
    const { model, mmproj } = modelPair(M500_DIR);
    // The 500m model decodes slowly enough that a long answer holds the only slot for minutes.
    const server = await spawnServer(
      ["--model", model, "--mmproj", mmproj, "--no-log-file", "--context-size", "2048"].concat(
        ["--parallel", "1", "--timeout", "600"],
      ),
      { timeoutMs: 240_000 },
    );
    const holder = new AbortController();
    try {
      const running = await fetch(`${server.url}/v1/chat/completions`, {
        method: "POST",
        headers: JSON_HEADERS,
        body: chatBody({ max_tokens: 1500, temperature: 0, stream: true }),
        signal: holder.signal,
      });
      const runningReader = running.body!.getReader();
      await runningReader.read(); // it holds the only slot
      const ask = async (signal?: AbortSignal) =>
        await fetch(`${server.url}/v1/chat/completions`, {
          method: "POST",
          headers: JSON_HEADERS,
          // An image makes the body large: Deno reports such a client's exit only on a write.
          body: chatBody({ stream: true, max_tokens: 4, temperature: 0 }, [
            { type: "image_url", image_url: { url: await pngDataUrl(64, 48) } },
            { type: "text", text: "What is it?" },
          ]),
          signal,
        });
      const dec = new TextDecoder();

      await t.step("a client that leaves while queued frees its place", async () => {
        const leaving = new AbortController();
        const queued = await within(ask(leaving.signal), 10_000, "no 200 for a queued stream");
        assert.equal(queued.status, 200, "a queued stream commits");
        const reader = queued.body!.getReader();
        let seen = "";
        while (!seen.includes(COMMENT)) {
          const { value, done } = await reader.read();
          assert.ok(!done, `ended before any comment: ${seen}`);
          seen += dec.decode(value);
        }
        assert.equal(await queueDepth(server.url), 1);
        leaving.abort();
        const deadline = Date.now() + 10_000;
        while (await queueDepth(server.url) !== 0) {
          assert.ok(Date.now() < deadline, "the queued request still holds its place after 10 s");
          await new Promise((r) => setTimeout(r, 200));
        }
      });

      await t.step("a committed stream sends comments only before its first token", async () => {
        const res = await within(ask(), 10_000, "no 200 for a queued stream");
        assert.equal(res.status, 200);
        const reader = res.body!.getReader();
        let text = "";
        while (!text.includes(COMMENT)) {
          const { value, done } = await reader.read();
          assert.ok(!done, `ended before any comment: ${text}`);
          text += dec.decode(value);
        }
        holder.abort(); // the slot frees; the queued request runs
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          text += dec.decode(value, { stream: true });
        }
        const [role, ...rest] = text.split("\n\n").filter((e) => e !== "");
        assert.equal((parseSse(`${role}\n\n`)[0] as Ev).choices[0].delta.role, "assistant");
        const comments = rest.filter((e) => e.startsWith(":"));
        assert.ok(comments.length >= 1);
        assert.ok(comments.every((e) => `${e}\n\n` === COMMENT));
        const afterComments = rest.slice(comments.length);
        assert.ok(afterComments.every((e) => e.startsWith("data: ")), "no comment after a token");
        assert.equal(afterComments.at(-1), "data: [DONE]");
        const finish = (parseSse(text) as Ev[])
          .filter((e) => typeof e === "object" && e.choices?.[0]?.finish_reason);
        assert.equal(finish.length, 1);
      });
    } finally {
      holder.abort();
      assert.equal((await server.stop()).code, 0);
    }
  },
});

/** The events of an SSE body, comments included, in order. */
function events(text: string): string[] {
  return text.split("\n\n").filter((e) => e !== "");
}

Deno.test("respondSse() writes comments only while a committed stream has no token", async () => {
  // First delta after 2.6 s: commit at 1 s, one comment at 2 s.
  const { app } = makeApp(new FakeEngine({ deltas: ["a"], delayMs: 2600 }));
  const res = await app.request("/v1/chat/completions", {
    method: "POST",
    headers: JSON_HEADERS,
    body: chatBody({ stream: true }),
  });
  assert.equal(res.status, 200);
  const list = events(await res.text());
  assert.deepEqual(list.map((e) => e.startsWith(":") ? e : e.slice(0, 6)), [
    "data: ",
    COMMENT.trim(),
    "data: ",
    "data: ",
    "data: ",
  ]);
  assert.equal((parseSse(`${list[2]}\n\n`)[0] as Ev).choices[0].delta.content, "a");
  assert.equal(list.at(-1), "data: [DONE]");
});

Deno.test("respondSse() stops the generation of a client that leaves before its first token", async () => {
  const engine = new FakeEngine({ deltas: ["a"], delayMs: 3000 });
  const { app } = makeApp(engine);
  const res = await app.request("/v1/chat/completions", {
    method: "POST",
    headers: JSON_HEADERS,
    body: chatBody({ stream: true }),
  });
  const reader = res.body!.getReader();
  const role = new TextDecoder().decode((await reader.read()).value);
  assert.ok(role.includes('"role":"assistant"'));
  await reader.cancel();
  const deadline = Date.now() + 2000;
  while (engine.aborted.length === 0) {
    assert.ok(Date.now() < deadline, "the generation was not stopped");
    await new Promise((r) => setTimeout(r, 20));
  }
});

Deno.test("respondSse() sends an engine error after the commit as an error event", async () => {
  const fail = new Error("the engine broke");
  const { app } = makeApp(new FakeEngine({ deltas: ["a"], delayMs: 1300, fail, failAfter: 0 }));
  const res = await app.request("/v1/chat/completions", {
    method: "POST",
    headers: JSON_HEADERS,
    body: chatBody({ stream: true }),
  });
  assert.equal(res.status, 200, "committed before the error");
  const list = parseSse(await res.text()) as Ev[];
  assert.equal(list[0]?.choices[0].delta.role, "assistant");
  assert.equal(typeof list.at(-2)?.error?.message, "string");
  assert.equal(list.at(-1), "[DONE]");
});

Deno.test("respondSse() answers an error before the commit with its own status", async () => {
  const fail = new Error("the engine broke");
  const { app } = makeApp(new FakeEngine({ deltas: ["a"], delayMs: 10, fail, failAfter: 0 }));
  const res = await app.request("/v1/chat/completions", {
    method: "POST",
    headers: JSON_HEADERS,
    body: chatBody({ stream: true }),
  });
  assert.equal(res.status, 500);
  assert.equal(typeof (await res.json()).error.message, "string");
});
