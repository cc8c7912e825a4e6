/**
 * startEdge()'s lifecycle in-process: a graceful shutdown lets the requests already inside the
 * edge finish, images still in the pipeline included.
 */
import assert from "node:assert/strict";
import { startEdge } from "../../src/edge/mod.ts";
import { parseEdgeArgs } from "../../src/edge/config.ts";
import { jpegDataUrl } from "../http/helpers.ts";
import { spawnEdge } from "./edge_helpers.ts";

Deno.test("startEdge().shutdown() lets a request whose image is being preprocessed finish", async () => {
  const upstream = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    (req) =>
      new URL(req.url).pathname === "/health"
        ? new Response("ok")
        : Response.json({ choices: [{ message: { role: "assistant", content: "ok" } }] }),
  );
  const config = parseEdgeArgs([
    "--upstream",
    `http://127.0.0.1:${upstream.addr.port}`,
    "--port",
    "0",
  ]);
  assert.notEqual(config, "help");
  const log = console.log;
  console.log = () => {}; // the "edge listening" line
  const edge = (() => {
    try {
      return startEdge(config as Exclude<typeof config, "help">);
    } finally {
      console.log = log;
    }
  })();
  try {
    // A 12 MP photo: its decode and resize take far longer than the pause below.
    const body = JSON.stringify({
      messages: [{
        role: "user",
        content: [{ type: "image_url", image_url: { url: await jpegDataUrl(4000, 3000) } }],
      }],
    });
    while (!edge.url) await new Promise((r) => setTimeout(r, 10));
    const answer = fetch(`${edge.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body,
    });
    await new Promise((r) => setTimeout(r, 300));
    const stopped = edge.shutdown();
    const res = await answer;
    assert.equal(res.status, 200, await res.clone().text());
    assert.equal((await res.json()).choices[0].message.content, "ok");
    await stopped;
  } finally {
    await edge.shutdown();
    await upstream.shutdown();
  }
});

Deno.test("the edge process exits at once on SIGTERM after upstreams refused its token", async () => {
  // A 401 is retried elsewhere; the refused attempt's timer must not keep the process alive.
  const upstream = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    (req) =>
      new URL(req.url).pathname === "/health"
        ? new Response("ok")
        : Response.json({ error: { code: "invalid_api_key" } }, { status: 401 }),
  );
  const edge = await spawnEdge([
    "--upstream",
    `http://127.0.0.1:${upstream.addr.port}`,
    "--port",
    "0",
    "--no-preprocess",
    "--upstream-timeout-ms",
    "30000",
  ], { EDGE_UPSTREAM_TOKEN: "stale" });
  try {
    const res = await fetch(`${edge.url}/v1/chat/completions`, {
      method: "POST",
      body: JSON.stringify({ messages: [{ role: "user", content: "hi" }] }),
    });
    assert.equal(res.status, 503);
    await res.body?.cancel();
    const t0 = performance.now();
    const status = await edge.stop();
    const ms = performance.now() - t0;
    assert.equal(status.success, true, edge.output());
    assert.ok(ms < 10_000, `exited ${Math.round(ms)} ms after SIGTERM`);
  } finally {
    await edge.stop();
    await upstream.shutdown();
  }
});
