/** `./run serve` startup: a model that cannot load is loud; a missing projector is said. */
import assert from "node:assert/strict";
import { TINY } from "../_support/fixtures.ts";
import { run, startServe } from "../_support/run.ts";

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
