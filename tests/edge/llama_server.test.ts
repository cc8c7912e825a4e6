/**
 * llama.cpp's own llama-server (built by the native task, same pinned llama.cpp) behind the
 * edge: the edge speaks plain OpenAI to a server that is not ours. A streamed completion with
 * an image (preprocessed at the edge into a JPEG) passes through to `data: [DONE]`.
 */
import assert from "node:assert/strict";
import { REPO } from "../http/helpers.ts";
import { modelPair, realEngineMissing, TINY_DIR } from "../http/server_helpers.ts";
import { pngDataUrl } from "../http/helpers.ts";
import { freePort, readSse, spawnEdge, waitForHealth } from "./edge_helpers.ts";

function llamaServerPath(): string {
  for (const p of [`${REPO}/native/bin/llama-server`, `${REPO}/native/lib/llama-server`]) {
    try {
      if (Deno.statSync(p).isFile) return p;
    } catch { /* next */ }
  }
  throw new Error("llama-server is missing: run ./run native");
}

Deno.test("the edge relays a streamed image completion from llama.cpp's llama-server", async () => {
  const missing = realEngineMissing();
  assert.equal(missing, null, `${missing}: run ./run native && ./run fixtures --preset tiny`);
  const { model, mmproj } = modelPair(TINY_DIR);
  const port = freePort();
  const server = new Deno.Command(llamaServerPath(), {
    args: [
      "-m",
      model,
      "--mmproj",
      mmproj,
      "--port",
      String(port),
      "--host",
      "127.0.0.1",
      "-c",
      "2048",
    ],
    stdout: "null",
    stderr: "piped",
    stdin: "null",
  }).spawn();
  const log = server.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let logText = "";
  const pump = (async () => {
    for (;;) {
      const { value, done } = await log.read();
      if (done) break;
      logText += value;
    }
  })();
  const upstream = `http://127.0.0.1:${port}`;
  const edge = await spawnEdge([
    "--upstream",
    upstream,
    "--port",
    "0",
    "--health-interval-ms",
    "200",
  ]);
  try {
    await waitForHealth(edge.url, (h) => h.up === 1, 60_000).catch((e) => {
      throw new Error(`${e.message}\nllama-server log:\n${logText.slice(-2000)}`);
    });
    const res = await fetch(`${edge.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        messages: [{
          role: "user",
          content: [
            { type: "text", text: "What is in this picture?" },
            { type: "image_url", image_url: { url: await pngDataUrl(640, 480) } },
          ],
        }],
        max_tokens: 8,
        stream: true,
        stream_options: { include_usage: true },
      }),
    });
    assert.equal(res.status, 200, await res.clone().text());
    assert.equal(res.headers.get("x-edge-upstream"), upstream);
    assert.match(res.headers.get("content-type")!, /^text\/event-stream/);
    const { text, ok } = await readSse(res);
    assert.ok(ok, text.slice(-300));
    const events = text.split("\n\n").filter((e) => e.startsWith("data: {")).map((e) =>
      JSON.parse(e.slice(6))
    );
    assert.ok(events.length >= 2, text);
    assert.ok(events.every((e) => e.object === "chat.completion.chunk"));
    const usage = events.find((e) => e.usage)?.usage;
    // The image reached the model: SmolVLM's image tokens dwarf the text prompt.
    assert.ok(usage && usage.prompt_tokens > 64, JSON.stringify(usage));
    const metrics = await (await fetch(`${edge.url}/metrics`)).text();
    assert.match(metrics, /edge_images_total 1\n/);
  } finally {
    await edge.stop();
    server.kill("SIGTERM");
    await server.status;
    await pump.catch(() => {});
  }
});
