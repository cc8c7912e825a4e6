/**
 * Every `./run ...` command in README.md, run through `./run` (deno.json's tasks) the way a user
 * types it. Placeholders (M, P, I, IN, OUT.png, F) and the real-weights paths under models/
 * become the tiny synthetic pair and temp files; a fixed port becomes a free one (other servers
 * may hold 8000 on a shared machine). Everything else runs as written.
 */
import assert from "node:assert/strict";
import { encodeJpegRgb } from "../../src/image/jpeg_encode.ts";
import { freePort, REPO_ROOT, syntheticImage, TINY } from "../_support/fixtures.ts";
import { run, startServe } from "../_support/run.ts";

/** Commands the suite cannot run from inside itself, and why. */
const NOT_RUN: Record<string, string> = {
  "./run test": "it is this suite; .ci/run runs it from a fresh clone",
  "./run check": ".ci/run runs it before the suite",
  "./run bench": "minutes of full-CPU measurement; tools/bench has its own checks",
  "./run native --portable --lib-dir native/lib-portable":
    "most of an hour of compiling on 2 cores; tests/native/serve_builds.test.ts serves from it " +
    "when it is installed",
  "./run native --cuda":
    "needs a CUDA toolkit with cuBLAS and hours of nvcc on 2 cores; tests/native/build.test.ts " +
    "checks its cmake definitions, tests/native/serve_builds.test.ts serves from it when it is " +
    "installed in native/lib-cuda, and CI never depends on a GPU",
  "./run pull NAME":
    "it needs huggingface.co; tests/models/serve_models.test.ts pulls from a local " +
    "server that answers like the hub",
  "./run edge --upstream http://127.0.0.1:8001 --port 8080":
    "it runs until stopped in front of a server; tests/edge/two_backends.test.ts starts the edge " +
    "exactly as its task does, in front of two real servers",
};

function readmeCommands(): string[] {
  const text = Deno.readTextFileSync(`${REPO_ROOT}/README.md`);
  const commands = new Set<string>();
  for (const m of text.matchAll(/^(\.\/run [^#\n]*?)\s*(#.*)?$/gm)) commands.add(m[1]!.trim());
  for (const m of text.matchAll(/`(\.\/run [^`]+)`/g)) commands.add(m[1]!.trim());
  return [...commands].map((c) => c.replace(/\s+/g, " "));
}

interface Inputs {
  readonly dir: string;
  readonly photo: string;
}

function concrete(command: string, inputs: Inputs): string[] {
  // Optional parts in [brackets] are dropped; `|` alternatives are not commands.
  const words = command.replace(/\[[^\]]*\]/g, "").trim().split(" ").slice(1);
  const map: Record<string, string> = {
    M: TINY.model,
    P: TINY.mmproj,
    I: inputs.photo,
    IN: inputs.photo,
    "OUT.png": `${inputs.dir}/out.png`,
  };
  const out = words.map((w) => {
    if (w in map) return map[w]!;
    if (/^models\/mmproj.*\.gguf$/.test(w)) return TINY.mmproj;
    if (/^models\/.*\.gguf$/.test(w)) return TINY.model;
    return w;
  });
  const port = out.indexOf("--port");
  if (port >= 0) out[port + 1] = String(freePort());
  return out;
}

Deno.test("README.md's commands all run through ./run as written", async (t) => {
  const commands = readmeCommands();
  assert.ok(commands.includes("./run serve --demo"), commands.join("\n"));
  assert.ok(commands.includes("./run test"));
  const dir = await Deno.makeTempDir({ prefix: "smolvlm-readme-" });
  const img = syntheticImage(320, 240);
  const photo = `${dir}/photo.jpg`;
  await Deno.writeFile(photo, encodeJpegRgb(img.data, img.width, img.height, { quality: 90 }));
  const tasks = Object.keys(
    JSON.parse(Deno.readTextFileSync(`${REPO_ROOT}/deno.json`)).tasks as Record<string, string>,
  );
  try {
    for (const command of commands) {
      await t.step(command, async () => {
        const task = command.split(" ")[1]!;
        assert.ok(tasks.includes(task), `deno.json has a '${task}' task`);
        if (command in NOT_RUN) return;
        const args = concrete(command, { dir, photo });
        if (task === "serve" && !args.includes("--help")) {
          if (!args.includes("--port")) args.push("--port", String(freePort()));
          const server = await startServe([...args.slice(1), "--no-log-file"]);
          try {
            const info = await (await fetch(`${server.url}/v1/info`)).json();
            assert.equal(info.model.vision, true);
          } finally {
            Deno.kill(server.pid, "SIGTERM");
            assert.equal((await server.status).code, 0, server.output());
          }
          return;
        }
        const r = await run(args);
        assert.equal(r.code, 0, `${args.join(" ")}\n${r.stdout}\n${r.stderr}`);
        if (task === "describe") assert.match(r.stderr, /\[describe\] .*prompt \d+ tokens/);
        if (task === "preprocess") assert.match(r.stdout, /orientation:/);
        if (args.includes("--help")) assert.match(r.stdout, /^usage: \.\/run /);
      });
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
