/**
 * Request-cost ceilings from the operator's config: a request may ask for less, never more;
 * malicious JSON schemas (deep nesting, huge enums, many nodes) are refused with a 400 quickly.
 */
import assert from "node:assert/strict";
import { parseServiceConfig } from "../../src/config/service_config.ts";
import { FakeEngine } from "./fake_engine.ts";
import { chatBody, JSON_HEADERS, makeApp, pngDataUrl } from "./helpers.ts";

type App = ReturnType<typeof makeApp>["app"];

function post(app: App, body: string) {
  return app.request("/v1/chat/completions", { method: "POST", body, headers: JSON_HEADERS });
}

async function expect400(res: Response, param: string, code?: string) {
  const body = await res.json();
  assert.equal(res.status, 400, JSON.stringify(body));
  assert.equal(body.error.param, param);
  assert.equal(body.error.type, "invalid_request_error");
  if (code) assert.equal(body.error.code, code);
  return body.error.message as string;
}

function schemaFormat(schema: unknown) {
  return { response_format: { type: "json_schema", json_schema: { name: "x", schema } } };
}

const limits = parseServiceConfig({
  limits: {
    max_images: 1,
    max_tokens: 64,
    max_prompt_chars: 100,
    max_messages: 3,
    max_stop: 2,
    max_stop_chars: 8,
    max_schema_depth: 8,
    max_schema_nodes: 50,
    max_enum_values: 10,
    max_schema_bytes: 2000,
    max_grammar_bytes: 600,
  },
}).limits;

Deno.test("the config's limits section parses with defaults and refuses bad values", () => {
  const d = parseServiceConfig({}).limits;
  assert.equal(d.maxTokens, 4096);
  assert.equal(d.maxImages, 8);
  assert.equal(limits.maxTokens, 64);
  assert.throws(() => parseServiceConfig({ limits: { max_tokens: 0 } }), /limits\.max_tokens/);
  assert.throws(() => parseServiceConfig({ limits: { max_enum_values: "many" } }), /max_enum/);
});

Deno.test("a request can lower the ceilings but not raise them", async () => {
  const engine = new FakeEngine();
  const { app } = makeApp(engine, { limits, defaultMaxTokens: 256 });
  const ok = await post(app, chatBody({ max_tokens: 64, stop: ["a", "12345678"] }));
  assert.equal(ok.status, 200);
  await ok.body?.cancel();
  const dflt = await post(app, chatBody());
  await dflt.body?.cancel();
  assert.equal(engine.requests[1]!.maxTokens, 64, "the default is capped by the ceiling too");

  await expect400(await post(app, chatBody({ max_tokens: 65 })), "max_tokens");
  await expect400(
    await post(app, chatBody({ max_completion_tokens: 1e9 })),
    "max_completion_tokens",
  );
  await expect400(await post(app, chatBody({ stop: ["a", "b", "c"] })), "stop");
  await expect400(await post(app, chatBody({ stop: "123456789" })), "stop");
  await expect400(await post(app, chatBody({}, "x".repeat(101))), "messages", "prompt_too_long");
  const four = JSON.stringify({ messages: Array(4).fill({ role: "user", content: "hi" }) });
  await expect400(await post(app, four), "messages");
  const img = { type: "image_url", image_url: { url: await pngDataUrl(8, 8) } };
  await expect400(await post(app, chatBody({}, [img, img])), "messages", "too_many_images");
  assert.equal(engine.requests.length, 2, "nothing over a ceiling reached the engine");
});

Deno.test("malicious JSON schemas are refused with 400 quickly, never a 500 or a stall", async () => {
  const { app } = makeApp(new FakeEngine(), {});
  // 100,000 levels deep: a recursive walk would overflow the stack (a 500).
  let deep: Record<string, unknown> = { type: "string" };
  for (let i = 0; i < 100_000; i++) deep = { type: "array", items: deep };
  // A million enum values: the grammar would take minutes to build and compile.
  const huge = { type: "string", enum: Array.from({ length: 1_000_000 }, (_, i) => `v${i}`) };
  const wide = {
    type: "object",
    properties: Object.fromEntries(
      Array.from({ length: 10_000 }, (_, i) => [`p${i}`, { type: "object" }]),
    ),
  };
  for (const [name, schema] of [["deep", deep], ["huge enum", huge], ["wide", wide]] as const) {
    const body = JSON.stringify(schemaFormat(schema)).slice(0, -1) +
      `,"messages":[{"role":"user","content":"hi"}]}`;
    const t0 = performance.now();
    const message = await expect400(
      await post(app, body),
      "response_format.json_schema.schema",
      "schema_too_complex",
    );
    const ms = performance.now() - t0;
    // Measured ~100-300 ms on 2 shared cores, mostly JSON.parse of the body; a stall would be
    // tens of seconds.
    assert.ok(ms < 5000, `${name}: ${ms} ms`);
    assert.match(message, /server's limit/, name);
  }
});

Deno.test("schema ceilings come from the config: depth, nodes, enum, bytes, grammar", async () => {
  const { app } = makeApp(new FakeEngine(), { limits });
  const nest = (n: number) => {
    let s: Record<string, unknown> = { type: "integer" };
    for (let i = 0; i < n; i++) s = { type: "array", items: s };
    return s;
  };
  const param = "response_format.json_schema.schema";
  const res = await post(app, chatBody(schemaFormat(nest(2))));
  assert.equal(res.status, 200);
  await res.body?.cancel();
  await expect400(await post(app, chatBody(schemaFormat(nest(8)))), param, "schema_too_complex");
  await expect400(
    await post(app, chatBody(schemaFormat({ enum: Array.from({ length: 11 }, (_, i) => i) }))),
    param,
    "schema_too_complex",
  );
  const props = (n: number) => ({
    type: "object",
    properties: Object.fromEntries(
      Array.from({ length: n }, (_, i) => [`p${i}`, { type: "string" }]),
    ),
  });
  await expect400(await post(app, chatBody(schemaFormat(props(60)))), param, "schema_too_complex");
  await expect400(
    await post(app, chatBody(schemaFormat({ type: "string", description: "d".repeat(3000) }))),
    param,
    "schema_too_complex",
  );
  // Within every input ceiling, but its grammar is larger than max_grammar_bytes.
  const msg = await expect400(
    await post(app, chatBody(schemaFormat(props(30)))),
    param,
    "schema_too_complex",
  );
  assert.match(msg, /grammar/);
});
