/**
 * `./run serve --verbose`: detailed logs. What the flag adds that a plain start lacks is
 * llama.cpp's own log lines (the model loader's summary, print_info); without it only their
 * warnings and errors reach the console.
 */
import assert from "node:assert/strict";
import { startServe } from "../_support/run.ts";

/** Lines llama.cpp prints at info level while it loads the model. */
const NATIVE_INFO_LINES = [
  /^llama_model_loader: loaded meta data with \d+ key-value pairs and \d+ tensors from \S+tiny/m,
  /^print_info: file format = GGUF V\d/m,
];

/** Everything `./run serve --demo <flags>` printed from start to a SIGTERM after one request. */
async function serveOutput(flags: readonly string[]): Promise<string> {
  const server = await startServe([
    "--demo",
    "--port",
    "0",
    "--no-log-file",
    "--perf-log-interval",
    "0",
    ...flags,
  ]);
  try {
    const res = await fetch(`${server.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ messages: [{ role: "user", content: "hi" }], max_tokens: 2 }),
    });
    assert.equal(res.status, 200, await res.text());
    Deno.kill(server.pid, "SIGTERM");
    const status = await server.status; // resolves once all output has been read
    assert.equal(status.code, 0, server.output());
    return server.output();
  } finally {
    server.kill();
  }
}

Deno.test("./run serve --verbose prints llama.cpp's own loading lines, which a plain start does not", async () => {
  const verbose = await serveOutput(["--verbose"]);
  for (const line of NATIVE_INFO_LINES) assert.match(verbose, line);

  const plain = await serveOutput([]);
  assert.match(plain, /model loaded in \d+ ms/, "the plain server loaded the same model");
  for (const line of NATIVE_INFO_LINES) assert.doesNotMatch(plain, line);
});
