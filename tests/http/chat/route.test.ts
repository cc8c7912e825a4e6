/**
 * The chat route's realtime sessions: X-Session-Id names a stream of frames within one caller.
 * The engine supersedes a request by an equal session name, so the name it gets must not let
 * one API key (or client address) stop another's requests by sending the same header.
 */
import assert from "node:assert/strict";
import { FakeEngine } from "../fake_engine.ts";
import { chatBody, JSON_HEADERS, makeApp, pngDataUrl } from "../helpers.ts";

Deno.test("chatRoutes() keeps each caller's X-Session-Id apart at the engine", async () => {
  const engine = new FakeEngine({ delayMs: 1 });
  const { app } = makeApp(engine, { apiKeys: ["k-one", "k-two"] });
  const post = async (key: string, session: string) => {
    const res = await app.request("/v1/chat/completions", {
      method: "POST",
      body: chatBody(),
      headers: { ...JSON_HEADERS, authorization: `Bearer ${key}`, "x-session-id": session },
    });
    assert.equal(res.status, 200);
    await res.body?.cancel();
  };
  await post("k-one", "cam-1");
  await post("k-two", "cam-1");
  await post("k-one", "cam-1");
  await post("k-one", "cam-2");
  const [one, two, oneAgain, other] = engine.requests.map((r) => r.sessionId);
  assert.ok(one !== undefined && two !== undefined);
  assert.notEqual(one, two, "another key's request with the same header is another session");
  assert.equal(oneAgain, one, "the same caller's next frame is the same session");
  assert.notEqual(other, one);
  assert.ok(!one.includes("k-one"), "the key itself never leaves the HTTP layer");
});

Deno.test("chatRoutes() sends no session to the engine without X-Session-Id", async () => {
  const engine = new FakeEngine({ delayMs: 1 });
  const { app } = makeApp(engine);
  const res = await app.request("/v1/chat/completions", {
    method: "POST",
    body: chatBody(),
    headers: JSON_HEADERS,
  });
  assert.equal(res.status, 200);
  await res.body?.cancel();
  assert.equal(engine.requests[0]?.sessionId, undefined);
});

Deno.test("chatRoutes() orders a session's frames by arrival, not by when their images are ready", async () => {
  const engine = new FakeEngine({ delayMs: 1 });
  const { app } = makeApp(engine);
  const post = async (content: unknown) => {
    const res = await app.request("/v1/chat/completions", {
      method: "POST",
      body: JSON.stringify({ messages: [{ role: "user", content }], max_tokens: 2 }),
      headers: { ...JSON_HEADERS, "x-session-id": "cam-1" },
    });
    await res.body?.cancel();
  };
  const image = { type: "image_url", image_url: { url: await pngDataUrl(640, 480) } };
  const older = post([{ type: "text", text: "first" }, image]); // its image takes a while
  await new Promise((resolve) => setTimeout(resolve, 5));
  await Promise.all([older, post("second")]);
  const arrival = (text: string) =>
    engine.requests.find((r) => JSON.stringify(r.messages).includes(text))?.arrivedAt;
  const [first, second] = [arrival("first"), arrival("second")];
  assert.ok(first !== undefined && second !== undefined && first < second, `${first} ${second}`);
});
