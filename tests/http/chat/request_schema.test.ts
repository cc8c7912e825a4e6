/**
 * The chat body schema: OpenAI fields this server cannot honour are refused when a request asks
 * for them (a silent answer without them would look like a success), and pass at their defaults.
 */
import assert from "node:assert/strict";
import { FakeEngine } from "../fake_engine.ts";
import { chatBody, JSON_HEADERS, makeApp, pngDataUrl } from "../helpers.ts";

type App = ReturnType<typeof makeApp>["app"];

function post(app: App, extra: Record<string, unknown>) {
  return app.request("/v1/chat/completions", {
    method: "POST",
    headers: JSON_HEADERS,
    body: chatBody(extra),
  });
}

Deno.test("chatRequestSchema() refuses logprobs, logit_bias and forced tool calls by name", async () => {
  const engine = new FakeEngine();
  const { app } = makeApp(engine);
  const tools = [{ type: "function", function: { name: "f", parameters: { type: "object" } } }];
  const cases: [Record<string, unknown>, string][] = [
    [{ logprobs: true }, "logprobs"],
    [{ logprobs: true, top_logprobs: 3 }, "logprobs"],
    [{ top_logprobs: 2 }, "top_logprobs"],
    [{ logit_bias: { "50256": -100 } }, "logit_bias"],
    [{ tools, tool_choice: "required" }, "tool_choice"],
    [{ tools, tool_choice: { type: "function", function: { name: "f" } } }, "tool_choice"],
  ];
  for (const [extra, param] of cases) {
    const res = await post(app, extra);
    const body = await res.json();
    assert.equal(res.status, 400, JSON.stringify(extra));
    assert.deepEqual(
      [body.error.param, body.error.code, body.error.type],
      [param, "unsupported_value", "invalid_request_error"],
      JSON.stringify(extra),
    );
  }
  assert.equal(engine.requests.length, 0);
});

Deno.test("chatRequestSchema() accepts those fields at the defaults clients send", async () => {
  const { app } = makeApp(new FakeEngine());
  const tools = [{ type: "function", function: { name: "f", parameters: { type: "object" } } }];
  for (
    const extra of [
      { logprobs: false, top_logprobs: 0 },
      { logprobs: null, top_logprobs: null, logit_bias: null, tool_choice: null },
      { logit_bias: {} },
      { tools, tool_choice: "auto" },
      { tools, tool_choice: "none" },
      { tools },
    ]
  ) {
    const res = await post(app, extra);
    assert.equal(res.status, 200, `${JSON.stringify(extra)}: ${await res.text()}`);
  }
});

Deno.test("chatRequestSchema() takes null as absent in image_url.detail and json_schema's name", async () => {
  const engine = new FakeEngine();
  const { app } = makeApp(engine);
  const url = await pngDataUrl();
  const res = await app.request("/v1/chat/completions", {
    method: "POST",
    headers: JSON_HEADERS,
    body: chatBody({
      response_format: {
        type: "json_schema",
        json_schema: { name: null, description: null, strict: null, schema: { type: "object" } },
      },
    }, [{ type: "image_url", image_url: { url, detail: null } }]),
  });
  assert.equal(res.status, 200, await res.text());
  assert.equal(engine.requests.length, 1);
});

Deno.test("chatRequestSchema() refuses a request of too many content parts before checking them", async () => {
  const engine = new FakeEngine();
  const { app } = makeApp(engine);
  // Below the body's limit on JSON values (each part is three), far above any real request.
  const parts = Array.from({ length: 30_000 }, () => ({ type: "text", text: "" }));
  const t0 = performance.now();
  const res = await app.request("/v1/chat/completions", {
    method: "POST",
    headers: JSON_HEADERS,
    body: chatBody({}, parts),
  });
  const ms = performance.now() - t0;
  const body = await res.json();
  assert.equal(res.status, 400, JSON.stringify(body).slice(0, 300));
  assert.deepEqual([body.error.param, body.error.code], ["messages", "too_many_parts"]);
  assert.match(body.error.message, /30000 content parts; at most \d+ per request/);
  assert.equal(engine.requests.length, 0);
  assert.ok(ms < 2000, `${ms} ms`);
  // The most a request of maximal size holds passes: the limit leaves room for real requests.
  const many = Array.from({ length: 1000 }, (_, i) => ({ type: "text", text: `${i}` }));
  const ok = await app.request("/v1/chat/completions", {
    method: "POST",
    headers: JSON_HEADERS,
    body: chatBody({}, many),
  });
  assert.equal(ok.status, 200, await ok.text());
});
