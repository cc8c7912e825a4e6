/**
 * `./run serve --verbose`: detailed logs. What the flag adds that a plain start lacks is
 * llama.cpp's own log lines (the model loader's summary, print_info), without which only their
 * warnings and errors reach the console, and the service's own debug records.
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

/** What a --verbose and a plain start printed, each run once for the tests below. */
let outputs: Promise<{ verbose: string; plain: string }> | undefined;
function serveOutputs(): Promise<{ verbose: string; plain: string }> {
  return outputs ??= (async () => ({
    verbose: await serveOutput(["--verbose"]),
    plain: await serveOutput([]),
  }))();
}

Deno.test("./run serve --verbose prints llama.cpp's own loading lines, which a plain start does not", async () => {
  const { verbose, plain } = await serveOutputs();
  for (const line of NATIVE_INFO_LINES) assert.match(verbose, line);
  assert.match(plain, /model loaded in \d+ ms/, "the plain server loaded the same model");
  for (const line of NATIVE_INFO_LINES) assert.doesNotMatch(plain, line);
});

Deno.test("./run serve --verbose prints the service's debug records, which a plain start does not", async () => {
  const { verbose, plain } = await serveOutputs();
  assert.match(verbose, /\[DBG\] smolvlm\.engine: model load: text_model took [\d.]+ ms$/m);
  assert.match(
    verbose,
    /\[DBG\] smolvlm\.http: chat (req_\S+) admitted to the engine as gen-1: queue position 0 /,
  );
  assert.match(
    verbose,
    /\[DBG\] smolvlm\.http: chat req_\S+ generation gen-1 finished \((stop|length)\): \d+ prompt tokens \(0 cached, 0 from images\), \d+ completion tokens; queue [\d.]+ ms, tokenize [\d.]+ ms, encode 0 ms, prefill [\d.]+ ms, decode [\d.]+ ms$/m,
  );
  assert.doesNotMatch(plain, /\[DBG\]/);
});

Deno.test("./run serve answers a request without Deno's legacy request.signal warning", async () => {
  // Printed once a handler has read request.signal and a response completes, unless the server
  // runs with Deno's no-legacy-abort behaviour (deno.json).
  const { verbose, plain } = await serveOutputs();
  for (const output of [verbose, plain]) {
    assert.doesNotMatch(output, /request\.signal aborts on successful responses/);
  }
});
