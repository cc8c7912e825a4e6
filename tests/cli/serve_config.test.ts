/**
 * `./run serve` and `./run config` as a user types them: host and port from SMOLVLM_* variables
 * and from a config file work under the launcher's exact permissions (the launcher resolves the
 * same layers the server does), and `config` prints each value with its source.
 */
import assert from "node:assert/strict";
import { freePort } from "../_support/fixtures.ts";
import { run, startServe } from "../_support/run.ts";

Deno.test("./run serve --demo listens on 0.0.0.0 at the port SMOLVLM_HOST / SMOLVLM_PORT name", async () => {
  const port = freePort();
  const server = await startServe(["--demo", "--no-log-file"], 180_000, {
    SMOLVLM_HOST: "0.0.0.0",
    SMOLVLM_PORT: String(port),
  });
  try {
    assert.equal(new URL(server.url).port, String(port));
    const health = await fetch(`http://127.0.0.1:${port}/health`);
    assert.equal(health.status, 200);
    await health.body?.cancel();
    assert.match(server.output(), new RegExp(`listening on http://0\\.0\\.0\\.0:${port}`));
  } finally {
    server.kill();
    await server.status;
  }
});

Deno.test("./run config prints each value with its source; a bad value names key, value, source", async () => {
  const dir = await Deno.makeTempDir({ prefix: "smolvlm-config-" });
  try {
    const file = `${dir}/service.json`;
    await Deno.writeTextFile(file, JSON.stringify({ port: 9100, timeout: 30, host: "0.0.0.0" }));
    const ok = await run(["config", "--config", file, "--port", "9200", "--model", "/m.gguf"]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /^port\s+= 9200\s+\(flag --port\)$/m);
    assert.match(ok.stdout, new RegExp(`^timeout\\s+= 30\\s+\\(file ${file}\\)$`, "m"));
    assert.match(ok.stdout, /^inference\.context_size\s+= 4096\s+\(default\)$/m);
    assert.match(ok.stdout, /^reload_grace\s+= 30\s+\(default\)$/m);
    const json = await run(["config", "--json", "--config", file, "--model", "/m.gguf"]);
    assert.equal(json.code, 0, json.stderr);
    assert.deepEqual(JSON.parse(json.stdout).host, { value: "0.0.0.0", source: `file ${file}` });
    const bad = await run(["config", "--config", file, "--model", "/m.gguf", "--timeout", "soon"]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /timeout: got "soon" from flag --timeout: .*expected number/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
