/**
 * Models as `./run serve` and `./run pull` see them: the paragraph when a hub model is not
 * available, a hub model pulled from a local hub then served from the cache with exact read
 * grants, a pair from a directory outside the repo named only by flags, and corrupt files that
 * end the start with the reason.
 */
import assert from "node:assert/strict";
import { REPO_ROOT, TINY } from "../_support/fixtures.ts";
import { run, startServe } from "../_support/run.ts";
import { planServe } from "../../tools/launch.ts";
import { repoFolder } from "../../src/models/hf_cache.ts";
import { sha256Hex, startFakeHub } from "./fake_hub.ts";

const DEFAULT_REPO = "ggml-org/SmolVLM2-500M-Video-Instruct-GGUF";

function closedPort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** The `serve:`/`pull:` error: one paragraph (no blank line inside), the last thing printed. */
function errorParagraph(stderr: string): string {
  const start = stderr.search(/^(serve|pull): model /m);
  assert.ok(start >= 0, `no model paragraph in:\n${stderr}`);
  const paragraph = stderr.slice(start).trim();
  assert.ok(!paragraph.includes("\n"), `one paragraph, got:\n${paragraph}`);
  return paragraph;
}

Deno.test("./run serve with no model and an unreachable hub says what it tried and exits 1", async () => {
  const home = await Deno.makeTempDir({ prefix: "hf-home-" });
  const port = closedPort();
  try {
    const r = await run(["serve", "--port", "0", "--no-log-file"], 120_000, {
      HF_HOME: home,
      HF_ENDPOINT: `http://127.0.0.1:${port}`,
    });
    assert.equal(r.code, 1, r.stderr);
    const p = errorParagraph(r.stderr);
    assert.match(p, new RegExp(`tried http://127\\.0\\.0\\.1:${port}/${DEFAULT_REPO}`));
    assert.match(
      p,
      /SmolVLM2-500M-Video-Instruct-Q8_0\.gguf and mmproj-SmolVLM2-500M-Video-Instruct-Q8_0\.gguf/,
    );
    assert.ok(
      p.includes(`${repoFolder(`${home}/hub`, DEFAULT_REPO)}/snapshots/<commit>/<file>`),
      p,
    );
    assert.match(p, /--model PATH and --mmproj PATH/);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("./run serve --model REPO:QUANT with HF_HUB_OFFLINE searches only the cache and exits 1", async () => {
  const home = await Deno.makeTempDir({ prefix: "hf-home-" });
  try {
    const r = await run(
      ["serve", "--model", "ggml-org/SmolVLM-256M-Instruct-GGUF:Q4_K_M", "--no-log-file"],
      120_000,
      { HF_HOME: home, HF_HUB_OFFLINE: "1" },
    );
    assert.equal(r.code, 1, r.stderr);
    const p = errorParagraph(r.stderr);
    assert.match(p, /HF_HUB_OFFLINE is set, so only the cache was searched/);
    assert.match(p, /SmolVLM-256M-Instruct-Q4_K_M\.gguf/);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("main.ts serve started directly with no model prints the paragraph and exits 1", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-read=static,models,src,ffi,native",
      "--allow-env=SMOLVLM_LIB_DIR,SMOLVLM_API_KEY",
      "main.ts",
      "serve",
      "--no-log-file",
    ],
    cwd: REPO_ROOT,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 1, stderr);
  assert.match(errorParagraph(stderr), /smolvlm2-500m-video|SmolVLM2-500M-Video-Instruct-GGUF/);
});

Deno.test("./run serve --model ALIAS pulls from the hub into the cache, then serves it with exact reads", async () => {
  const home = await Deno.makeTempDir({ prefix: "hf-home-" });
  const files = [
    { path: "SmolVLM-256M-Instruct-Q8_0.gguf", bytes: await Deno.readFile(TINY.model) },
    { path: "mmproj-SmolVLM-256M-Instruct-Q8_0.gguf", bytes: await Deno.readFile(TINY.mmproj) },
  ];
  const commit = "fedcba9876543210fedcba9876543210fedcba98";
  await using hub = startFakeHub({ repo: "ggml-org/SmolVLM-256M-Instruct-GGUF", commit, files });
  const env = { HF_HOME: home, HF_ENDPOINT: hub.endpoint };
  const serve = await startServe(
    ["--model", "smolvlm-256m", "--port", "0", "--no-log-file"],
    180_000,
    env,
  );
  try {
    const folder = repoFolder(`${home}/hub`, "ggml-org/SmolVLM-256M-Instruct-GGUF");
    assert.equal(await Deno.readTextFile(`${folder}/refs/main`), commit);
    const res = await fetch(`${serve.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ messages: [{ role: "user", content: "Hi" }], max_tokens: 3 }),
    });
    assert.equal(res.status, 200, await res.clone().text());
    await res.body?.cancel();
    const info = await (await fetch(`${serve.url}/v1/info`)).json();
    assert.ok(
      JSON.stringify(info).includes(`${folder}/snapshots/${commit}/`),
      JSON.stringify(info),
    );
  } finally {
    serve.kill();
    await serve.status;
  }
  // The plan the launcher made: the snapshot entries and their blobs, not the cache.
  const saved = {
    HF_HOME: Deno.env.get("HF_HOME"),
    HF_HUB_OFFLINE: Deno.env.get("HF_HUB_OFFLINE"),
  };
  Deno.env.set("HF_HOME", home);
  Deno.env.set("HF_HUB_OFFLINE", "1");
  try {
    const plan = await planServe(["--model", "smolvlm-256m", "--no-log-file"]);
    const read = plan.flags.find((f) => f.startsWith("--allow-read="))!.slice(13).split(",");
    const folder = repoFolder(`${home}/hub`, "ggml-org/SmolVLM-256M-Instruct-GGUF");
    for (const f of files) {
      const entry = `${folder}/snapshots/${commit}/${f.path}`;
      assert.ok(read.includes(entry), read.join("\n"));
      // A symlinked entry also grants its blob (a hard-linked one is the blob's inode itself).
      const blob = `${folder}/blobs/${sha256Hex(f.bytes)}`;
      assert.equal(read.includes(blob), (await Deno.lstat(entry)).isSymlink, read.join("\n"));
      assert.deepEqual(await Deno.readFile(entry), f.bytes);
    }
    assert.ok(
      !read.some((p) => p === folder || p === `${home}/hub` || p === home),
      read.join("\n"),
    );
    assert.equal(plan.args?.includes("smolvlm-256m"), false, "the server gets the cached paths");
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      v === undefined ? Deno.env.delete(k) : Deno.env.set(k, v);
    }
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("./run serve serves a model pair from a directory outside the repo named only by flags", async () => {
  const dir = await Deno.makeTempDir({ prefix: "models-elsewhere-" });
  assert.ok(!dir.startsWith(REPO_ROOT));
  await Deno.copyFile(TINY.model, `${dir}/text.gguf`);
  await Deno.copyFile(TINY.mmproj, `${dir}/vision.gguf`);
  const serve = await startServe([
    "--model",
    `${dir}/text.gguf`,
    "--mmproj",
    `${dir}/vision.gguf`,
    "--port",
    "0",
    "--no-log-file",
  ]);
  try {
    const res = await fetch(`${serve.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ messages: [{ role: "user", content: "Hello" }], max_tokens: 3 }),
    });
    assert.equal(res.status, 200, await res.clone().text());
    await res.body?.cancel();
  } finally {
    serve.kill();
    await serve.status;
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("./run serve ends with the reason when a model file is corrupt or the pair is swapped", async () => {
  const dir = await Deno.makeTempDir({ prefix: "models-corrupt-" });
  try {
    const bytes = await Deno.readFile(TINY.model);
    await Deno.writeFile(`${dir}/truncated.gguf`, bytes.subarray(0, bytes.length >> 1));
    const bad = bytes.slice();
    bad.set([0x47, 0x47, 0x4d, 0x4c], 0);
    await Deno.writeFile(`${dir}/magic.gguf`, bad);
    await Deno.copyFile(TINY.mmproj, `${dir}/mmproj.gguf`);
    await Deno.copyFile(TINY.model, `${dir}/text.gguf`);
    const cases: [string[], RegExp][] = [
      [
        ["--model", `${dir}/truncated.gguf`, "--mmproj", `${dir}/mmproj.gguf`],
        /truncated|past the end/,
      ],
      [["--model", `${dir}/magic.gguf`], /not a GGUF file/],
      [
        ["--model", `${dir}/text.gguf`, "--mmproj", `${dir}/text.gguf`],
        /is a text model .*--mmproj/,
      ],
    ];
    for (const [args, reason] of cases) {
      const r = await run(["serve", ...args, "--port", "0", "--no-log-file"], 120_000);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /serve: the model failed to load: /);
      assert.match(r.stderr, reason);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
