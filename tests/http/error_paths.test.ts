/**
 * Every error path answers OpenAI's error JSON with the right status, through the app's one
 * error handler: the same shape, content type, request id and security headers everywhere.
 */
import assert from "node:assert/strict";
import { ContextOverflowError, NativeCallError } from "../../src/engine/errors.ts";
import { FakeEngine } from "./fake_engine.ts";
import { chatBody, JSON_HEADERS, makeApp } from "./helpers.ts";

type App = ReturnType<typeof makeApp>["app"];

function post(app: App, body: string, headers: HeadersInit = JSON_HEADERS) {
  return app.request("/v1/chat/completions", { method: "POST", body, headers });
}

/** Asserts the OpenAI error shape and returns the body's `error`. */
async function openAiError(res: Response, status: number) {
  const text = await res.text();
  assert.equal(res.status, status, text);
  assert.match(res.headers.get("content-type") ?? "", /^application\/json/);
  assert.ok(res.headers.get("x-request-id"), "went through the app's middleware");
  assert.equal(res.headers.get("x-content-type-options"), "nosniff");
  const body = JSON.parse(text);
  assert.deepEqual(Object.keys(body), ["error"]);
  assert.deepEqual(Object.keys(body.error).sort(), ["code", "message", "param", "type"]);
  assert.equal(typeof body.error.message, "string");
  assert.ok(body.error.message.length > 0);
  return body.error as { message: string; type: string; param: string | null; code: string };
}

Deno.test("every error path answers OpenAI error JSON with its status", async () => {
  const { app } = makeApp(new FakeEngine(), { maxBodyBytes: 4000, apiKey: "k-1" });
  const auth = { ...JSON_HEADERS, authorization: "Bearer k-1" };

  let e = await openAiError(await post(app, "{not json", auth), 400);
  assert.equal(e.code, "invalid_json");

  e = await openAiError(
    await post(
      app,
      chatBody({}, [{ type: "input_audio", input_audio: { data: "x", format: "wav" } }]),
      auth,
    ),
    400,
  );
  assert.equal(e.param, "messages[0].content[0].type");
  assert.match(e.message, /'input_audio' is not supported/);

  e = await openAiError(await post(app, chatBody({}, "x".repeat(5000)), auth), 413);
  assert.equal(e.code, "request_too_large");

  e = await openAiError(
    await post(app, chatBody(), { ...JSON_HEADERS, authorization: "Bearer no" }),
    401,
  );
  assert.equal(e.code, "invalid_api_key");

  e = await openAiError(await post(app, chatBody({ model: "gpt-4o" }), auth), 404);
  assert.deepEqual([e.param, e.code], ["model", "model_not_found"]);

  e = await openAiError(await app.request("/v1/nope", { headers: auth }), 404);
  assert.equal(e.code, "unknown_url");

  const get = await app.request("/v1/chat/completions", { headers: auth });
  assert.equal(get.headers.get("allow"), "POST");
  e = await openAiError(get, 405);
  assert.equal(e.code, "method_not_allowed");
});

Deno.test("engine errors and timeouts answer through the same handler", async () => {
  const failing = makeApp(new FakeEngine({ fail: new NativeCallError("decode_failed", "boom") }));
  let e = await openAiError(await post(failing.app, chatBody()), 500);
  assert.deepEqual([e.type, e.code], ["server_error", "decode_failed"]);

  const overflow = makeApp(new FakeEngine({ fail: new ContextOverflowError(5000, 4096) }));
  e = await openAiError(await post(overflow.app, chatBody({ stream: true })), 400);
  assert.equal(e.code, "context_length_exceeded");

  const slow = makeApp(new FakeEngine({ delayMs: 200 }), { timeoutMs: 50 });
  e = await openAiError(await post(slow.app, chatBody()), 504);
  assert.deepEqual([e.type, e.code], ["timeout_error", "timeout"]);
});

Deno.test("an unexpected exception is a 500 that hides its details", async () => {
  const { app } = makeApp(new FakeEngine({ fail: new Error("secret internals at /x/y") }));
  const e = await openAiError(await post(app, chatBody()), 500);
  assert.equal(e.code, "internal_error");
  assert.doesNotMatch(e.message, /secret/);
});

Deno.test("only the error handler builds error responses", async () => {
  const callers: string[] = [];
  for await (const path of walk(new URL("../../src/http/", import.meta.url).pathname)) {
    const text = await Deno.readTextFile(path);
    if (/\berrorHeaders\(/.test(text.replace(/export function errorHeaders\(/, ""))) {
      callers.push(path.slice(path.indexOf("src/http/")));
    }
  }
  assert.deepEqual(callers, ["src/http/error_handler.ts"]);
});

async function* walk(dir: string): AsyncGenerator<string> {
  for await (const e of Deno.readDir(dir)) {
    if (e.isDirectory) yield* walk(`${dir}/${e.name}`);
    else if (e.name.endsWith(".ts")) yield `${dir}/${e.name}`.replace(/\/+/g, "/");
  }
}

Deno.test("a JSON body sent with another content type (curl -d) is read as JSON", async () => {
  const { app } = makeApp(new FakeEngine());
  const res = await app.request("/v1/chat/completions", {
    method: "POST",
    body: chatBody(),
    headers: { "content-type": "application/x-www-form-urlencoded" },
  });
  assert.equal(res.status, 200);
  assert.equal((await res.json()).object, "chat.completion");
});
