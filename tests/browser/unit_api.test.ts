import assert from "node:assert/strict";
import { ApiError, getHealth, streamChat } from "../../static/js/api.js";

type Handler = (req: Request) => Response | Promise<Response>;

async function withServer(handler: Handler, fn: (base: string) => Promise<void>) {
  const ac = new AbortController();
  const server = Deno.serve(
    { port: 0, hostname: "127.0.0.1", signal: ac.signal, onListen() {} },
    handler,
  );
  try {
    await fn(`http://127.0.0.1:${server.addr.port}`);
  } finally {
    ac.abort();
    await server.finished;
  }
}

function sse(events: string[], opts: { delayMs?: number; cut?: boolean } = {}): Response {
  const enc = new TextEncoder();
  const body = new ReadableStream<Uint8Array>({
    async start(c) {
      for (const e of events) {
        c.enqueue(enc.encode(`data: ${e}\n\n`));
        if (opts.delayMs) await new Promise((r) => setTimeout(r, opts.delayMs));
      }
      if (opts.cut) c.error(new Error("cut"));
      else c.close();
    },
  });
  return new Response(body, { headers: { "content-type": "text/event-stream" } });
}

const chunk = (o: unknown) => JSON.stringify(o);

Deno.test("streamChat streams deltas, then the final chunk and usage", async () => {
  let received: unknown = null;
  await withServer(async (req) => {
    received = await req.json();
    return sse([
      chunk({ choices: [{ delta: { role: "assistant", content: "" } }] }),
      chunk({ choices: [{ delta: { content: "A " } }] }),
      chunk({ choices: [{ delta: { content: "cat." } }] }),
      chunk({
        choices: [{ delta: {}, finish_reason: "stop" }],
        timings: { total_ms: 10, completion_tokens_per_second: 20 },
        image_reports: [{ format: "png" }],
      }),
      chunk({ choices: [], usage: { prompt_tokens: 9, completion_tokens: 2, total_tokens: 11 } }),
      "[DONE]",
    ]);
  }, async (base) => {
    const deltas: string[] = [];
    let finish = "";
    const result = await streamChat({ hello: 1 }, {
      base,
      idleTimeoutMs: 5000,
      onDelta: (t) => deltas.push(t),
      onFinish: (f) => {
        finish = f.finishReason;
      },
    });
    assert.deepEqual(received, { hello: 1 });
    assert.deepEqual(deltas, ["A ", "cat."]);
    assert.equal(finish, "stop");
    assert.equal(result.text, "A cat.");
    assert.equal(result.usage?.completion_tokens, 2);
    assert.deepEqual(result.imageReports, [{ format: "png" }]);
  });
});

Deno.test("streamChat turns HTTP errors into readable ApiErrors with Retry-After", async () => {
  await withServer(() =>
    new Response(
      JSON.stringify({
        error: { message: "queue is full", type: "server_error", param: null, code: "busy" },
      }),
      { status: 429, headers: { "content-type": "application/json", "retry-after": "3" } },
    ), async (base) => {
    await assert.rejects(streamChat({}, { base, idleTimeoutMs: 5000 }), (e: unknown) => {
      assert.ok(e instanceof ApiError);
      assert.equal(e.kind, "http");
      assert.equal(e.status, 429);
      assert.equal(e.retryAfterMs, 3000);
      assert.equal(e.code, "busy");
      assert.equal(e.retryable, true);
      assert.match(e.message, /busy.*HTTP 429.*queue is full.*Try again in 3 s/);
      return true;
    });
  });
  await withServer(() => new Response("nope", { status: 400 }), async (base) => {
    await assert.rejects(streamChat({}, { base, idleTimeoutMs: 5000 }), (e: unknown) => {
      assert.ok(e instanceof ApiError && e.status === 400 && !e.retryable);
      return true;
    });
  });
});

Deno.test("streamChat reports a mid-stream error event", async () => {
  await withServer(() =>
    sse([
      chunk({ choices: [{ delta: { content: "par" } }] }),
      chunk({ error: { message: "decode failed", type: "server_error", param: null, code: null } }),
    ]), async (base) => {
    const deltas: string[] = [];
    await assert.rejects(
      streamChat({}, { base, idleTimeoutMs: 5000, onDelta: (t) => deltas.push(t) }),
      (e: unknown) =>
        e instanceof ApiError && e.kind === "stream" && /decode failed/.test(e.message),
    );
    assert.deepEqual(deltas, ["par"]);
  });
});

Deno.test("streamChat: a stream cut short is a lost connection", async () => {
  await withServer(() => sse([chunk({ choices: [{ delta: { content: "x" } }] })]), async (base) => {
    await assert.rejects(
      streamChat({}, { base, idleTimeoutMs: 5000 }),
      (e: unknown) => e instanceof ApiError && e.kind === "network" && /lost/.test(e.message),
    );
  });
});

Deno.test("streamChat times out when nothing arrives, and reports an unreachable server", async () => {
  await withServer(
    () => sse([chunk({ choices: [{ delta: { content: "x" } }] })], { delayMs: 1500 }),
    async (base) => {
      await assert.rejects(
        streamChat({}, { base, idleTimeoutMs: 300 }),
        (e: unknown) =>
          e instanceof ApiError && e.kind === "timeout" &&
          /nothing came for 0 s|stopped arriving/.test(e.message),
      );
    },
  );
  // A port nothing listens on.
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  await assert.rejects(
    streamChat({}, { base: `http://127.0.0.1:${port}`, idleTimeoutMs: 5000 }),
    (e: unknown) =>
      e instanceof ApiError && e.kind === "network" && /Could not reach the server/.test(e.message),
  );
  assert.deepEqual(await getHealth(1000, `http://127.0.0.1:${port}`), {
    state: "unreachable",
    detail: "",
  });
});

Deno.test("streamChat: the caller's abort is an 'aborted' error", async () => {
  await withServer(
    () => sse([chunk({ choices: [{ delta: { content: "x" } }] })], { delayMs: 2000 }),
    async (base) => {
      const ac = new AbortController();
      const p = streamChat({}, {
        base,
        idleTimeoutMs: 5000,
        signal: ac.signal,
        onDelta: () => ac.abort(),
      });
      await assert.rejects(p, (e: unknown) => e instanceof ApiError && e.kind === "aborted");
    },
  );
});

Deno.test("getHealth classifies ready, loading and unhealthy", async () => {
  let reply: Response = Response.json({ status: "healthy" });
  await withServer(() => reply, async (base) => {
    assert.deepEqual(await getHealth(1000, base), { state: "ready", detail: "" });
    reply = Response.json({ status: "loading" }, { status: 503 });
    assert.equal((await getHealth(1000, base)).state, "loading");
    reply = Response.json({ status: "unhealthy", reason: "model file missing" }, { status: 503 });
    assert.deepEqual(await getHealth(1000, base), {
      state: "unhealthy",
      detail: "model file missing",
    });
  });
});
