/**
 * startEdge() in-process: a graceful shutdown lets the requests already inside the edge finish,
 * images still in the pipeline included; the Host allow-list it is started with applies.
 */
import assert from "node:assert/strict";
import { startEdge } from "../../src/edge/mod.ts";
import { parseEdgeArgs } from "../../src/edge/config.ts";
import { jpegDataUrl } from "../http/helpers.ts";
import { rawGet } from "../http/server_helpers.ts";
import { fakeUpstream, spawnEdge } from "./edge_helpers.ts";

Deno.test("startEdge().shutdown() lets a request whose image is being preprocessed finish", async () => {
  const upstream = fakeUpstream(() =>
    Response.json({ choices: [{ message: { role: "assistant", content: "ok" } }] })
  );
  const config = parseEdgeArgs([
    "--upstream",
    upstream.url,
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
  const upstream = fakeUpstream(() =>
    Response.json({ error: { code: "invalid_api_key" } }, { status: 401 })
  );
  const edge = await spawnEdge([
    "--upstream",
    upstream.url,
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

Deno.test("the edge process exits after --shutdown-grace-ms when a client stops reading a stream", async () => {
  // An upstream stream that never ends, and a client that reads one chunk, then nothing.
  const encoder = new TextEncoder();
  let ticker: ReturnType<typeof setInterval> | undefined;
  const upstream = fakeUpstream(() => {
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        ticker = setInterval(() => {
          try {
            controller.enqueue(encoder.encode(`data: {"choices":[]}\n\n`));
          } catch {
            clearInterval(ticker);
          }
        }, 50);
      },
      cancel: () => clearInterval(ticker),
    });
    return new Response(body, { headers: { "content-type": "text/event-stream" } });
  });
  const edge = await spawnEdge([
    "--upstream",
    upstream.url,
    "--port",
    "0",
    "--no-preprocess",
    "--shutdown-grace-ms",
    "500",
  ]);
  let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  try {
    const res = await fetch(`${edge.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ stream: true, messages: [{ role: "user", content: "hi" }] }),
    });
    assert.equal(res.status, 200);
    reader = res.body!.getReader();
    await reader.read();
    const t0 = performance.now();
    const status = await edge.stop();
    const ms = performance.now() - t0;
    assert.equal(status.success, true, edge.output());
    assert.ok(ms < 10_000, `exited ${Math.round(ms)} ms after SIGTERM`);
    assert.match(edge.output(), /grace of 500 ms over/);
  } finally {
    await reader?.cancel().catch(() => {});
    await edge.stop();
    clearInterval(ticker);
    await upstream.shutdown();
  }
});

Deno.test("startEdge() answers only allowed Hosts: its --allowed-host names, IP literals, none at all", async () => {
  const upstream = fakeUpstream(() => Response.json({}));
  const config = parseEdgeArgs([
    "--upstream",
    upstream.url,
    "--port",
    "0",
    "--no-preprocess",
    "--allowed-host",
    "edge.example.com",
  ]);
  assert.ok(config !== "help");
  const log = console.log;
  console.log = () => {}; // the "edge listening" line
  const edge = (() => {
    try {
      return startEdge(config);
    } finally {
      console.log = log;
    }
  })();
  try {
    while (!edge.url) await new Promise((r) => setTimeout(r, 10));
    const status = async (host: string | null, version?: "1.0") =>
      (await rawGet(edge.url, "/metrics", { host, version })).status;
    assert.equal(await status("evil.example:8080"), 403);
    assert.equal(await status("edge.example.com:8080"), 200);
    assert.equal(await status(new URL(edge.url).host), 200);
    assert.equal(await status(null, "1.0"), 200, "an HTTP/1.0 probe without Host");
  } finally {
    await edge.shutdown();
    await upstream.shutdown();
  }
});
