/**
 * The app in-process with a fake engine: every endpoint, the error mapping, streaming bytes,
 * queue-full, timeouts and client disconnects. The same behaviours run against the real
 * engine in server.test.ts.
 */
import assert from "node:assert/strict";
import { EngineHolder } from "../../src/http/engine_state.ts";
import { RequestTracker } from "../../src/http/app.ts";
import { JSON_OBJECT_GBNF } from "../../src/http/json_schema_grammar.ts";
import { ContextOverflowError } from "../../src/engine/errors.ts";
import { FakeEngine } from "./fake_engine.ts";
import { chatBody, type Ev, JSON_HEADERS, makeApp, parseSse, pngDataUrl, REPO } from "./helpers.ts";

function post(
  app: ReturnType<typeof makeApp>["app"],
  body: string,
  headers: HeadersInit = JSON_HEADERS,
) {
  return app.request("/v1/chat/completions", { method: "POST", body, headers });
}

async function expectError(res: Response, status: number, param?: string | null, code?: string) {
  const body = await res.json();
  assert.equal(res.status, status, JSON.stringify(body));
  assert.equal(typeof body.error.message, "string");
  assert.ok(body.error.message.length > 0);
  assert.ok("type" in body.error && "param" in body.error && "code" in body.error);
  if (param !== undefined) assert.equal(body.error.param, param);
  if (code !== undefined) assert.equal(body.error.code, code);
  return body;
}

Deno.test("GET /health answers the seed's exact body when ready", async () => {
  const { app } = makeApp(new FakeEngine());
  const res = await app.request("/health");
  assert.equal(res.status, 200);
  const body = await res.json();
  assert.deepEqual(Object.keys(body), ["status", "active_model", "timestamp"]);
  assert.equal(body.status, "healthy");
  assert.equal(body.active_model, "smolvlm");
  assert.equal(new Date(body.timestamp).toISOString(), body.timestamp);
});

Deno.test("GET /health is 503 loading, then 503 unhealthy with a reason", async () => {
  const holder = new EngineHolder();
  const { app } = makeApp(holder);
  let res = await app.request("/health");
  assert.equal(res.status, 503);
  assert.equal((await res.json()).status, "loading");
  res = await post(app, chatBody());
  await expectError(res, 503, null, "model_loading");
  assert.ok(res.headers.get("retry-after"));
  holder.setFailed("model file is corrupt");
  res = await app.request("/health");
  assert.equal(res.status, 503);
  const body = await res.json();
  assert.equal(body.status, "unhealthy");
  assert.equal(body.reason, "model file is corrupt");
});

Deno.test("GET /v1/models and /v1/models/{id} in OpenAI format", async () => {
  const { app } = makeApp(new FakeEngine());
  const list = await (await app.request("/v1/models")).json();
  assert.equal(list.object, "list");
  assert.equal(list.data[0].id, "smolvlm");
  assert.equal(list.data[0].object, "model");
  for (const id of ["smolvlm", "SmolVLM2-500M-Video", "smolvlm2_500m_video"]) {
    const res = await app.request(`/v1/models/${id}`);
    assert.equal(res.status, 200);
    assert.equal((await res.json()).id, "smolvlm");
  }
  await expectError(await app.request("/v1/models/gpt-4o"), 404, "model", "model_not_found");
});

Deno.test("GET /v1/info reports model, tiling, build, uptime, queue and config", async () => {
  const { app } = makeApp(new FakeEngine(), { apiKey: null });
  const info = await (await app.request("/v1/info")).json();
  assert.equal(info.model.id, "smolvlm");
  assert.equal(info.model.context_size, 4096);
  assert.equal(info.tiling.max_image_size, 1024);
  assert.equal(info.tiling.image_max_tokens, 256);
  assert.equal(info.build.backend, "CPU");
  assert.equal(typeof info.uptime_seconds, "number");
  assert.equal(info.queue.depth, 0);
  assert.equal(info.config.timeout, 60);
});

Deno.test("POST /v1/chat/completions returns a completion with timings and image_reports", async () => {
  const engine = new FakeEngine();
  const { app } = makeApp(engine);
  const url = await pngDataUrl(40, 30);
  const res = await post(
    app,
    chatBody({ max_tokens: 16, temperature: 0, seed: 7, stop: "END" }, [
      { type: "text", text: "Describe" },
      { type: "image_url", image_url: { url } },
      { type: "image_url", image_url: url },
    ]),
  );
  assert.equal(res.status, 200);
  const body = await res.json();
  assert.equal(body.object, "chat.completion");
  assert.match(body.id, /^chatcmpl-/);
  assert.equal(body.model, "smolvlm");
  assert.equal(body.choices[0].message.role, "assistant");
  assert.equal(body.choices[0].message.content, "Hello, world!");
  assert.equal(body.choices[0].finish_reason, "stop");
  assert.equal(body.usage.total_tokens, body.usage.prompt_tokens + body.usage.completion_tokens);
  for (
    const k of [
      "preprocess_ms",
      "encode_ms",
      "prefill_ms",
      "decode_ms",
      "queue_ms",
      "total_ms",
      "prompt_tokens_per_second",
      "completion_tokens_per_second",
    ]
  ) assert.equal(typeof body.timings[k], "number", k);
  assert.equal(body.image_reports.length, 2);
  assert.deepEqual(body.image_reports[0].original, { width: 40, height: 30 });
  assert.equal(body.image_reports[0].format, "png");
  const report = body.image_reports[0];
  for (const k of ["cols", "rows", "passes"]) assert.equal(typeof report.tiles[k], "number", k);
  assert.equal(typeof report.orientation, "number");
  assert.ok("crop_box" in report);
  assert.equal(typeof report.stages_ms.decode, "number");
  const req = engine.requests[0]!;
  assert.equal(req.maxTokens, 16);
  assert.deepEqual(req.stop, ["END"]);
  assert.equal(req.sampling?.temperature, 0);
  assert.equal(req.sampling?.seed, 7);
  const parts = req.messages[0]!.content as readonly { type: string; image?: { width: number } }[];
  assert.deepEqual(parts.map((p) => p.type), ["text", "image", "image"]);
  assert.equal(parts[1]!.image!.width, report.processed.width);
});

Deno.test("POST /v1/chat/completions streams SSE chunks with exact framing", async () => {
  const { app } = makeApp(new FakeEngine({ deltas: ["A", "B"] }));
  const res = await post(app, chatBody({ stream: true, stream_options: { include_usage: true } }));
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type")!, /^text\/event-stream/);
  const text = await res.text();
  assert.ok(text.endsWith("data: [DONE]\n\n"));
  for (const ev of text.split("\n\n").slice(0, -1)) assert.match(ev, /^data: /);
  const events = parseSse(text) as Ev[];
  assert.equal(events.length, 6);
  const [first, a, b, fin, usage, done] = events;
  assert.equal(first!.object, "chat.completion.chunk");
  assert.deepEqual(first!.choices[0].delta, { role: "assistant", content: "" });
  assert.equal(first!.usage, null);
  assert.equal(a!.choices[0].delta.content, "A");
  assert.equal(b!.choices[0].delta.content, "B");
  assert.equal(fin!.choices[0].finish_reason, "stop");
  assert.deepEqual(fin!.choices[0].delta, {});
  assert.equal(typeof fin!.timings.decode_ms, "number");
  assert.deepEqual(fin!.image_reports, []);
  assert.deepEqual(usage!.choices, []);
  assert.equal(usage!.usage.completion_tokens, 2);
  assert.equal(done, "[DONE]");
  assert.equal(new Set(events.slice(0, 5).map((e) => e.id)).size, 1);
});

Deno.test("streaming without include_usage has no usage chunk and max_tokens gives length", async () => {
  const { app } = makeApp(new FakeEngine({ deltas: ["a", "b", "c"] }));
  const res = await post(app, chatBody({ stream: true, max_completion_tokens: 2 }));
  const events = parseSse(await res.text()) as Ev[];
  assert.equal(events.length, 5);
  assert.equal(events[3]!.choices[0].finish_reason, "length");
  assert.equal("usage" in events[3]!, false);
});

Deno.test("errors: malformed JSON, wrong types, empty messages each get 400 naming the field", async () => {
  const { app } = makeApp(new FakeEngine());
  await expectError(await post(app, "{not json"), 400, null, "invalid_json");
  await expectError(await post(app, ""), 400, null, "invalid_json");
  await expectError(await post(app, "[1,2]"), 400, null);
  await expectError(await post(app, chatBody({ temperature: "hot" })), 400, "temperature");
  await expectError(await post(app, chatBody({ max_tokens: 1.5 })), 400, "max_tokens");
  await expectError(await post(app, chatBody({ stream: "yes" })), 400, "stream");
  await expectError(await post(app, chatBody({ stop: [1] })), 400, "stop");
  await expectError(await post(app, chatBody({ top_p: 3 })), 400, "top_p");
  await expectError(await post(app, chatBody({ n: 2 })), 400, "n", "unsupported_value");
  await expectError(await post(app, JSON.stringify({ messages: [] })), 400, "messages");
  await expectError(await post(app, JSON.stringify({ messages: "hi" })), 400, "messages");
  await expectError(
    await post(app, JSON.stringify({ messages: [{ role: "robot", content: "x" }] })),
    400,
    "messages[0].role",
  );
  await expectError(await post(app, chatBody({}, 42)), 400, "messages[0].content");
  await expectError(
    await post(app, chatBody({}, [{ type: "text", text: 5 }])),
    400,
    "messages[0].content[0].text",
  );
  await expectError(
    await post(app, chatBody({}, [{ type: "image_url", image_url: { url: 5 } }])),
    400,
    "messages[0].content[0].image_url.url",
  );
  // Unknown fields and nulls are ignored, as OpenAI does.
  const ok = await post(app, chatBody({ frobnicate: true, user: "u", top_k: null, n: 1 }));
  assert.equal(ok.status, 200);
  await ok.body?.cancel();
});

Deno.test("errors: bad base64, non-image bytes, http URLs, bad image_processing", async () => {
  const { app } = makeApp(new FakeEngine());
  const img = (url: string) => [{ type: "image_url", image_url: { url } }];
  await expectError(
    await post(app, chatBody({}, img("data:image/png;base64,@@@not base64@@@"))),
    400,
    "messages[0].content[0].image_url.url",
    "invalid_data_url",
  );
  await expectError(
    await post(
      app,
      chatBody({}, img(`data:image/png;base64,${btoa("hello, I am text, not a picture")}`)),
    ),
    415,
    "messages[0].content[0].image_url.url",
    "unsupported_image_type",
  );
  await expectError(
    await post(app, chatBody({}, img("https://example.com/cat.jpg"))),
    400,
    "messages[0].content[0].image_url.url",
    "remote_images_disabled",
  );
  await expectError(
    await post(app, chatBody({}, img("file:///etc/passwd"))),
    400,
    "messages[0].content[0].image_url.url",
  );
  const url = await pngDataUrl(8, 8);
  await expectError(
    await post(
      app,
      chatBody({ image_processing: { noise_reduction: { diameter: "big" } } }, img(url)),
    ),
    400,
    "image_processing.noise_reduction.diameter",
    "invalid_image_config",
  );
  await expectError(
    await post(app, chatBody({ image_processing: { size: [1024] } }, img(url))),
    400,
    "image_processing.size",
  );
  const ok = await post(app, chatBody({ image_processing: { smart_crop: false } }, img(url)));
  assert.equal(ok.status, 200);
  await ok.body?.cancel();
});

Deno.test("errors: unknown model 404, oversized body 413, wrong method 405, unknown route 404", async () => {
  const { app } = makeApp(new FakeEngine(), { maxBodyBytes: 1000 });
  await expectError(
    await post(app, chatBody({ model: "gpt-4o" })),
    404,
    "model",
    "model_not_found",
  );
  await expectError(
    await post(app, chatBody({}, "x".repeat(2000))),
    413,
    null,
    "request_too_large",
  );
  const chunked = new ReadableStream({
    start(c) {
      c.enqueue(new TextEncoder().encode(chatBody({}, "y".repeat(5000))));
      c.close();
    },
  });
  await expectError(
    await app.request("/v1/chat/completions", {
      method: "POST",
      body: chunked,
      headers: JSON_HEADERS,
    }),
    413,
  );
  const get = await app.request("/v1/chat/completions");
  await expectError(get, 405);
  await expectError(await app.request("/v1/nope"), 404);
  // The app keeps serving.
  const ok = await post(app, chatBody());
  assert.equal(ok.status, 200);
  await ok.body?.cancel();
});

Deno.test("engine errors map to statuses: context overflow is 400", async () => {
  const { app } = makeApp(new FakeEngine({ fail: new ContextOverflowError(5000, 4096) }));
  await expectError(await post(app, chatBody()), 400, "messages", "context_length_exceeded");
  const res = await post(app, chatBody({ stream: true }));
  await expectError(res, 400, "messages", "context_length_exceeded");
});

Deno.test("response_format json_object and json_schema hand a grammar to the engine", async () => {
  const engine = new FakeEngine({ deltas: ["{}"] });
  const { app } = makeApp(engine);
  let res = await post(app, chatBody({ response_format: { type: "json_object" } }));
  assert.equal(res.status, 200);
  await res.body?.cancel();
  assert.equal(engine.requests[0]!.sampling?.grammar, JSON_OBJECT_GBNF);
  res = await post(
    app,
    chatBody({
      response_format: {
        type: "json_schema",
        json_schema: {
          name: "x",
          schema: { type: "object", properties: { a: { type: "integer" } }, required: ["a"] },
        },
      },
    }),
  );
  assert.equal(res.status, 200);
  await res.body?.cancel();
  assert.match(engine.requests[1]!.sampling!.grammar!, /^root ::= /);
  await expectError(
    await post(
      app,
      chatBody({
        response_format: {
          type: "json_schema",
          json_schema: { schema: { type: "string", pattern: "a+" } },
        },
      }),
    ),
    400,
    "response_format.json_schema.schema",
  );
});

Deno.test("queue full answers 429 with Retry-After at once", async () => {
  const engine = new FakeEngine({ delayMs: 100, maxQueue: 0, deltas: ["a", "b"] });
  const { app } = makeApp(engine);
  const first = post(app, chatBody());
  await new Promise((r) => setTimeout(r, 20));
  const t0 = performance.now();
  const res = await post(app, chatBody());
  const ms = performance.now() - t0;
  await expectError(res, 429, null, "queue_full");
  assert.ok(Number(res.headers.get("retry-after")) >= 1);
  assert.ok(ms < 50, `429 took ${ms} ms`);
  assert.equal((await first).status, 200);
});

Deno.test("timeout: 504 when not streaming, an error event when streaming", async () => {
  const engine = new FakeEngine({ delayMs: 200, deltas: ["a", "b", "c"] });
  const { app } = makeApp(engine, { timeoutMs: 100 });
  await expectError(await post(app, chatBody()), 504, null, "timeout");
  const res = await post(app, chatBody({ stream: true }));
  // Timed out before the first token: still a proper 504.
  await expectError(res, 504, null, "timeout");
  const engine2 = new FakeEngine({ delayMs: 60, deltas: ["a", "b", "c", "d", "e"] });
  const { app: app2 } = makeApp(engine2, { timeoutMs: 150 });
  const res2 = await post(app2, chatBody({ stream: true }));
  assert.equal(res2.status, 200);
  const events = parseSse(await res2.text()) as Ev[];
  const err = events.at(-2)!;
  assert.equal(err.error.code, "timeout");
  assert.equal(err.error.type, "timeout_error");
  assert.equal(events.at(-1), "[DONE]");
  assert.equal(engine2.aborted.length, 1);
});

Deno.test("client disconnect mid-stream aborts the generation and frees the slot", async () => {
  const engine = new FakeEngine({ delayMs: 30, deltas: Array(100).fill("x"), maxQueue: 0 });
  const tracker = new RequestTracker();
  const { app } = makeApp(engine, {}, tracker);
  await using server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen() {} }, app.fetch);
  const base = `http://127.0.0.1:${server.addr.port}`;
  const ctl = new AbortController();
  const res = await fetch(`${base}/v1/chat/completions`, {
    method: "POST",
    body: chatBody({ stream: true }),
    headers: JSON_HEADERS,
    signal: ctl.signal,
  });
  const reader = res.body!.getReader();
  await reader.read();
  await reader.read();
  ctl.abort();
  await reader.cancel().catch(() => {});
  const t0 = performance.now();
  while (engine.aborted.length === 0 && performance.now() - t0 < 2000) {
    await new Promise((r) => setTimeout(r, 5));
  }
  assert.equal(engine.aborted.length, 1);
  assert.ok(performance.now() - t0 < 200, "generation stopped within about one token");
  // The slot is free: the next request starts at once (no 429, no queue wait).
  const next = await fetch(`${base}/v1/chat/completions`, {
    method: "POST",
    body: chatBody({ max_tokens: 1 }),
    headers: JSON_HEADERS,
  });
  assert.equal(next.status, 200);
  const body = await next.json();
  assert.ok(body.timings.queue_ms < 20, `queued ${body.timings.queue_ms} ms`);
  assert.equal(tracker.size, 0);
});

Deno.test("Deno.serve() aborts a chat request's signal when its client leaves, not after its answer", async () => {
  const engine = new FakeEngine({ delayMs: 30, deltas: Array(100).fill("x") });
  const { app } = makeApp(engine);
  const requests: Request[] = [];
  await using server = Deno.serve(
    { port: 0, hostname: "127.0.0.1", onListen() {} },
    (req, info) => {
      requests.push(req);
      return app.fetch(req, info);
    },
  );
  const url = `http://127.0.0.1:${server.addr.port}/v1/chat/completions`;

  // Answered: under Deno's legacy abort the signal fired now too (and Deno printed a warning).
  const ok = await fetch(url, {
    method: "POST",
    body: chatBody({ max_tokens: 2 }),
    headers: JSON_HEADERS,
  });
  assert.equal(ok.status, 200);
  await ok.text();
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(requests[0]!.signal.aborted, false, "aborted after a successful answer");

  // A client that leaves before its (non-streamed) answer still stops the generation.
  const ctl = new AbortController();
  const left = fetch(url, {
    method: "POST",
    body: chatBody(),
    headers: JSON_HEADERS,
    signal: ctl.signal,
  })
    .catch(() => null);
  while (engine.started.length < 2) await new Promise((r) => setTimeout(r, 5));
  ctl.abort();
  await left;
  const t0 = performance.now();
  while (engine.aborted.length === 0 && performance.now() - t0 < 2000) {
    await new Promise((r) => setTimeout(r, 5));
  }
  assert.equal(requests[1]!.signal.aborted, true);
  assert.equal(engine.aborted.length, 1);
});

Deno.test("API key: /v1/* needs the bearer token, /health does not", async () => {
  const { app } = makeApp(new FakeEngine(), { apiKey: "s3cret" });
  await expectError(await post(app, chatBody()), 401, null, "invalid_api_key");
  await expectError(
    await app.request("/v1/models", { headers: { authorization: "Bearer nope" } }),
    401,
  );
  const ok = await app.request("/v1/models", { headers: { authorization: "Bearer s3cret" } });
  assert.equal(ok.status, 200);
  assert.equal((await app.request("/health")).status, 200);
});

Deno.test("GET /metrics is Prometheus text with requests, tokens, latency and queue depth", async () => {
  const { app } = makeApp(new FakeEngine());
  await (await post(app, chatBody())).text();
  const res = await app.request("/metrics");
  assert.match(res.headers.get("content-type")!, /^text\/plain; version=0\.0\.4/);
  const text = await res.text();
  assert.match(
    text,
    /smolvlm_http_requests_total\{method="POST",route="\/v1\/chat\/completions",status="200"\} 1/,
  );
  assert.match(text, /smolvlm_completion_tokens_total 4/);
  assert.match(text, /smolvlm_http_request_duration_seconds_bucket\{[^}]*le="\+Inf"[^}]*\} 1/);
  assert.match(text, /smolvlm_queue_depth 0/);
  assert.match(text, /# TYPE smolvlm_generation_duration_seconds histogram/);
});

Deno.test("static: / serves index.html; traversal attempts never leave the root", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/index.html`, "<h1>hi</h1>");
  await Deno.mkdir(`${dir}/sub`);
  await Deno.writeTextFile(`${dir}/sub/app.js`, "x=1");
  await Deno.symlink(`${REPO}/deno.json`, `${dir}/escape.json`);
  try {
    const { app } = makeApp(new FakeEngine(), { staticDir: dir });
    const index = await app.request("/");
    assert.equal(index.status, 200);
    assert.match(index.headers.get("content-type")!, /text\/html/);
    assert.equal(await index.text(), "<h1>hi</h1>");
    const js = await app.request("/sub/app.js");
    assert.match(js.headers.get("content-type")!, /javascript/);
    await js.text();
    for (
      const p of [
        "/..%2fdeno.json",
        "/%2e%2e/deno.json",
        "/sub/..%2f..%2fdeno.json",
        "/%2e%2e%2f%2e%2e%2fetc/passwd",
        "/..%5c..%5cdeno.json",
        "/%252e%252e/deno.json",
        "/escape.json",
        "/sub%00.js",
      ]
    ) {
      const res = await app.request(`http://localhost${p}`);
      assert.equal(res.status, 404, p);
      assert.doesNotMatch(await res.text(), /"tasks"|root:/, p);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
