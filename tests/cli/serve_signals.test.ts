/** `./run serve` under a process manager: SIGTERM to the pid it started ends everything. */
import assert from "node:assert/strict";
import { alive, descendants, startServe } from "../_support/run.ts";

Deno.test("./run serve --demo exits 0 on SIGTERM, releases its port and leaves no process", async () => {
  const server = await startServe(["--demo", "--port", "0", "--no-log-file"]);
  try {
    const health = await fetch(`${server.url}/health`);
    await health.body?.cancel();
    const tree = descendants(server.pid);
    assert.ok(tree.length >= 1, "./run serve has its server below it");

    Deno.kill(server.pid, "SIGTERM");
    const status = await server.status;

    assert.equal(status.code, 0, server.output());
    assert.match(server.output(), /shutting down \(SIGTERM\)/);
    const port = Number(new URL(server.url).port);
    await assert.rejects(
      Deno.connect({ hostname: "127.0.0.1", port }),
      Deno.errors.ConnectionRefused,
      "the port is released",
    );
    const left = [server.pid, ...tree].filter(alive);
    assert.deepEqual(left, [], "no process of the tree is left");
  } finally {
    server.kill();
  }
});
