/**
 * `./run serve` startup: a model that cannot load is loud; a missing projector is said; so is a
 * video decoder without its memory cap.
 */
import assert from "node:assert/strict";
import { TINY } from "../_support/fixtures.ts";
import { run, startServe } from "../_support/run.ts";
import { dataUrl, makeClip } from "../video/clips.ts";

Deno.test("./run serve exits 1 with the reason when the model cannot load", async () => {
  // The projector given as the text model: the GGUF check refuses it before llama.cpp sees it.
  const r = await run(["serve", "--model", TINY.mmproj, "--port", "0", "--no-log-file"]);
  const out = r.stdout + r.stderr;
  assert.equal(r.code, 1, out);
  assert.match(
    out,
    /is a vision projector \(architecture clip\), not a text model; pass it with --mmproj/,
  );
  assert.match(r.stderr, /^serve: the model failed to load: /m);
});

Deno.test("./run serve --model without --mmproj warns that images will be refused", async () => {
  const server = await startServe(["--model", TINY.model, "--port", "0", "--no-log-file"]);
  try {
    assert.match(server.output(), /no --mmproj given: .*refuses requests with images/);
    const info = await (await fetch(`${server.url}/v1/info`)).json();
    assert.equal(info.model.vision, false);
  } finally {
    Deno.kill(server.pid, "SIGTERM");
    assert.equal((await server.status).code, 0);
  }
});

Deno.test("./run serve caps each ffmpeg child's memory through prlimit; without prlimit it starts and says so", async () => {
  const clip = await makeClip(1, { size: "640x480" });
  const ask = async (url: string) => {
    const res = await fetch(`${url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        messages: [{
          role: "user",
          content: [{ type: "video_url", video_url: dataUrl("video/mp4", clip) }, {
            type: "text",
            text: "What happens?",
          }],
        }],
        max_tokens: 2,
      }),
    });
    return { status: res.status, body: await res.json() };
  };
  const args = ["--demo", "--port", "0", "--no-log-file", "--max-decoder-memory-mb", "20"];
  const capped = await startServe(args);
  try {
    const info = await (await fetch(`${capped.url}/v1/info`)).json();
    assert.equal(info.video.decoder, "ffmpeg");
    assert.equal(info.video.memory_cap_enforced, true);
    assert.equal(info.video.max_decoder_memory_mb, 20);
    const refused = await ask(capped.url);
    assert.equal(refused.status, 422, JSON.stringify(refused.body));
    assert.equal(refused.body.error.code, "video_decode_out_of_memory");
    assert.doesNotMatch(capped.output(), /prlimit/);
  } finally {
    Deno.kill(capped.pid, "SIGTERM");
    assert.equal((await capped.status).code, 0);
  }
  const uncapped = await startServe(args, 180_000, { PRLIMIT_PATH: "/nonexistent/prlimit" });
  try {
    assert.match(uncapped.output(), /prlimit \(util-linux\) not found: .*WITHOUT the 20 MB/);
    const info = await (await fetch(`${uncapped.url}/v1/info`)).json();
    assert.equal(info.video.decoder, "ffmpeg");
    assert.equal(info.video.memory_cap_enforced, false);
    const decoded = await ask(uncapped.url);
    assert.equal(decoded.status, 200, JSON.stringify(decoded.body));
  } finally {
    Deno.kill(uncapped.pid, "SIGTERM");
    assert.equal((await uncapped.status).code, 0);
  }
});
