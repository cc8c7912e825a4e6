/** The launcher's permission flags for the edge: exact hosts, two env vars, no FFI/write/run. */
import assert from "node:assert/strict";
import { UsageError } from "../../src/edge/config.ts";
import { edgeRunArgs } from "../../tools/launch_edge.ts";
import { REPO } from "../http/helpers.ts";
import { fakeUpstream } from "./edge_helpers.ts";

Deno.test("edgeRunArgs() grants net to the listen address and each upstream host only", () => {
  const args = [
    "--upstream",
    "http://10.0.0.5:8000,https://gpu.example.com",
    "--upstream",
    "http://[::1]:9000/",
    "--host",
    "0.0.0.0",
    "--port",
    "8080",
  ];
  const run = edgeRunArgs(args);
  assert.notEqual(run, "help");
  const flags = (run as string[]).filter((a) => a.startsWith("--allow"));
  assert.deepEqual(flags, [
    "--allow-net=0.0.0.0:8080,10.0.0.5:8000,gpu.example.com:443,[::1]:9000",
    "--allow-env=EDGE_UPSTREAM_TOKEN,EDGE_API_KEY",
    `--allow-read=${REPO}/src/image`,
  ]);
  assert.deepEqual((run as string[]).slice(-args.length - 1), [`${REPO}/edge.ts`, ...args]);
});

Deno.test("edgeRunArgs() with --no-preprocess grants no read at all", () => {
  const run = edgeRunArgs(["--upstream", "http://127.0.0.1:8001", "--no-preprocess"]) as string[];
  assert.ok(!run.some((a) => a.startsWith("--allow-read")), run.join(" "));
});

Deno.test("edgeRunArgs() refuses a missing, malformed or duplicate upstream", () => {
  assert.throws(() => edgeRunArgs([]), UsageError);
  assert.throws(() => edgeRunArgs(["--upstream", "ftp://x"]), /must be http/);
  assert.throws(() => edgeRunArgs(["--upstream", "http://a:1,http://a:1/"]), /twice/);
  assert.throws(() => edgeRunArgs(["--upstream", "http://a:1", "--port", "70000"]), UsageError);
});

/** The launcher running the edge; `group`: in a process group of its own (as under a terminal). */
function spawnLauncher(group = false, upstream = "http://127.0.0.1:9"): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${REPO}/tools/launch_edge.ts`, "--upstream", upstream]
      .concat(["--port", "0", "--no-preprocess", "--health-interval-ms", "100"]),
    stdout: "piped",
    stderr: "inherit",
    stdin: "null",
    detached: group,
  }).spawn();
}

/** The edge's address, from the launcher's output as it starts. */
async function listeningUrl(lines: ReadableStreamDefaultReader<string>): Promise<string> {
  let out = "";
  for (;;) {
    const { value, done } = await lines.read();
    if (done) throw new Error(`the edge never listened: ${out}`);
    out += value;
    const url = /edge listening on (http:\/\/[\d.:]+)/.exec(out)?.[1];
    if (url) return url;
  }
}

Deno.test("the edge launcher passes a SIGINT sent to it alone on to the edge, and both exit", async () => {
  const launcher = spawnLauncher();
  const lines = launcher.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const url = await listeningUrl(lines);
  // An answer means edge.ts has run past its signal listeners (it answers from the event loop).
  await (await fetch(`${url}/health`)).body?.cancel();
  launcher.kill("SIGINT");
  const status = await launcher.status;
  await lines.cancel();
  assert.equal(status.success, true, `launcher: ${JSON.stringify(status)}`);
  // The edge itself is gone too: nothing listens on its port any more.
  await assert.rejects(fetch(`${url}/health`));
});

Deno.test("Ctrl-C (SIGINT to the launcher and the edge at once) drains the edge and exits 0", async () => {
  // An upstream that answers after 1.5 s: the request is still in flight when Ctrl-C comes.
  const upstream = fakeUpstream(async () => {
    await new Promise((r) => setTimeout(r, 1500));
    return Response.json({ choices: [{ message: { role: "assistant", content: "late" } }] });
  });
  const launcher = spawnLauncher(true, upstream.url);
  const lines = launcher.stdout.pipeThrough(new TextDecoderStream()).getReader();
  try {
    const url = await listeningUrl(lines);
    await new Promise((r) => setTimeout(r, 300)); // a health check has marked the upstream up
    const answer = fetch(`${url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ messages: [{ role: "user", content: "hi" }] }),
    });
    await new Promise((r) => setTimeout(r, 300));
    // The terminal signals the whole process group; the launcher forwards its copy too, so the
    // edge sees SIGINT twice within moments: one drain, not "second signal: exit at once".
    Deno.kill(-launcher.pid, "SIGINT");
    const res = await answer;
    assert.equal(res.status, 200);
    assert.equal((await res.json()).choices[0].message.content, "late");
    const status = await launcher.status;
    assert.equal(status.code, 0, `launcher: ${JSON.stringify(status)}`);
  } finally {
    await lines.cancel();
    await upstream.shutdown();
  }
});
