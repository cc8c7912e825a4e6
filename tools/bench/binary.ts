/**
 * Single-binary benchmark: what `deno task compile` embeds (sizes by part, and the total
 * `deno compile` reports for the staged tree) and cold-start time. The binary itself cannot be
 * built without Deno's runtime for binaries (denort), so the start is measured on the entry
 * module under `deno run` with the binary's exact flags, as tests/binary/entry_module.test.ts
 * runs it: spawn → "listening" → /health 200 (model loaded), first run (empty cache:
 * extraction included) and warm run (verified cache), plus the extraction alone.
 *
 * Alone: deno task bench:binary (writes the "## Single binary" section of BENCHMARKS.md).
 *
 * @module
 */
import { BINARY_RUNTIME_FLAGS, binaryPermissionFlags } from "../../src/binary/permissions.ts";
import { extractNativeLibraries, sha256Hex } from "../../src/binary/extract.ts";
import type { NativePayload } from "../../src/binary/native_payload.ts";
import { findModelPair } from "../../src/cli/serve_args.ts";
import { compileArgs, denoDir, REPO_ROOT, stageBinary } from "../compile.ts";
import { writeBenchmarksSection } from "./sections.ts";

const RUNS = Number(Deno.env.get("BINARY_BENCH_RUNS") ?? 3);
const mb = (n: number) => (n / 1e6).toFixed(2);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function treeBytes(path: string): Promise<number> {
  const info = await Deno.lstat(path);
  if (!info.isDirectory) return info.isFile ? info.size : 0;
  let total = 0;
  for await (const e of Deno.readDir(path)) total += await treeBytes(`${path}/${e.name}`);
  return total;
}

/** spawn → listening → healthy, in ms; stops the process afterwards. */
async function startOnce(args: string[], cwd: string, env: Record<string, string>) {
  const t0 = performance.now();
  const child = new Deno.Command(Deno.execPath(), {
    args,
    cwd,
    env,
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let out = "";
  let listenMs = 0;
  let url = "";
  const ready = new Promise<void>((resolve, reject) => {
    const pump = async (s: ReadableStream<Uint8Array>) => {
      const dec = new TextDecoder();
      for await (const c of s) {
        out += dec.decode(c, { stream: true });
        const m = /listening on (http:\/\/[\d.:]+)/.exec(out);
        if (m && !url) {
          url = m[1]!;
          listenMs = performance.now() - t0;
          resolve();
        }
      }
    };
    void pump(child.stdout);
    void pump(child.stderr);
    child.status.then(() => reject(new Error(`exited before listening:\n${out}`)));
  });
  await ready;
  for (;;) {
    const res = await fetch(`${url}/health`);
    await res.body?.cancel();
    if (res.status === 200) break;
    await new Promise((r) => setTimeout(r, 10));
  }
  const healthyMs = performance.now() - t0;
  child.kill("SIGTERM");
  await child.status;
  return { listenMs, healthyMs };
}

if (import.meta.main) {
  const root = await Deno.makeTempDir({ prefix: "smolvlm-bench-binary-" });
  try {
    const stage = await stageBinary(`${root}/stage`);
    const compiled = await new Deno.Command(Deno.execPath(), {
      args: compileArgs(stage, Deno.build.target, `${root}/smolvlm`),
      cwd: stage.dir,
      env: { DENORT_BIN: Deno.execPath(), NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const report = new TextDecoder().decode(compiled.stdout) +
      new TextDecoder().decode(compiled.stderr);
    const embedded = /Files: ([\d.]+)MB/.exec(report)?.[1];
    const npm = /\.deno_compile_node_modules \(([\d.]+)MB/.exec(report)?.[1];
    if (!compiled.success || !embedded) throw new Error(`deno compile failed:\n${report}`);
    const denoSize = (await Deno.stat(Deno.execPath())).size;
    const standInSize = (await Deno.stat(`${root}/smolvlm`)).size;
    const staticBytes = await treeBytes(`${stage.dir}/static`);

    // Extraction alone, in-process, from the staged libraries.
    const files = [];
    for await (const e of Deno.readDir(`${stage.dir}/native_embed`)) {
      const bytes = await Deno.readFile(`${stage.dir}/native_embed/${e.name}`);
      files.push({ name: e.name, sha256: await sha256Hex(bytes), bytes });
    }
    const payload: NativePayload = { files, links: [] };
    const extractMs: number[] = [];
    const verifyMs: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const cache = `${root}/extract-${i}`;
      let t = performance.now();
      await extractNativeLibraries(payload, cache);
      extractMs.push(performance.now() - t);
      t = performance.now();
      await extractNativeLibraries(payload, cache);
      verifyMs.push(performance.now() - t);
    }

    const pair = await findModelPair(`${REPO_ROOT}/tests/fixtures/generated/tiny`);
    const home = await Deno.makeTempDir({ dir: root });
    const env = { HOME: home, DENO_DIR: await denoDir(), NO_COLOR: "1" };
    const args = [
      "run",
      "--cached-only",
      `--config=${stage.dir}/deno.json`,
      ...BINARY_RUNTIME_FLAGS,
      ...binaryPermissionFlags({ embeddedRoot: stage.dir }),
      stage.entry,
      "serve",
      "--model",
      "models/model.gguf",
      "--mmproj",
      "models/mmproj.gguf",
      "--port",
      "0",
      "--no-log-file",
    ];
    const cold: { listenMs: number; healthyMs: number }[] = [];
    const warm: { listenMs: number; healthyMs: number }[] = [];
    // One unmeasured start fills Deno's transpile cache for the stage (a binary ships its
    // modules already transpiled).
    for (let i = -1; i < RUNS; i++) {
      const work = await Deno.makeTempDir({ dir: root });
      await Deno.mkdir(`${work}/models`);
      await Deno.copyFile(pair.model, `${work}/models/model.gguf`);
      await Deno.copyFile(pair.mmproj, `${work}/models/mmproj.gguf`);
      const first = await startOnce(args, work, env);
      const second = await startOnce(args, work, env);
      if (i >= 0) {
        cold.push(first);
        warm.push(second);
      }
    }
    const row = (name: string, xs: { listenMs: number; healthyMs: number }[]) =>
      `| ${name} | ${median(xs.map((x) => x.listenMs)).toFixed(0)} | ${
        median(xs.map((x) => x.healthyMs)).toFixed(0)
      } |`;
    const date = new Date().toISOString().slice(0, 10);
    await writeBenchmarksSection(
      "binary",
      `## Single binary

Measured ${date} on this machine (2 shared CPU cores, other work running: figures are upper bounds). Deno's runtime for binaries (denort) cannot be downloaded here, so no runnable binary was built; what was measured instead is below, and the gap is stated.

### Size

| part | MB |
|---|---:|
| native libraries (ggml, llama, mtmd; CPU build) | ${mb(stage.libraryBytes)} |
| npm packages the graph uses (hono, zod, imagescript, codecs, logtape) | ${npm ?? "?"} |
| frontend (static/) | ${mb(staticBytes)} |
| all files \`deno compile\` embeds (sources, page, wasm, libraries, npm) | ${embedded} |
| Deno runtime it is appended to | the deno CLI here is ${mb(denoSize)}; denort is smaller |

The binary is denort plus ${
        mb(standInSize - denoSize)
      } MB (the ${embedded} MB of files, plus the transpiled modules and Deno's index): \`deno compile\` ran on the staged tree with the deno CLI standing in for denort, and that stand-in build measured ${
        mb(standInSize)
      } MB.

### Cold start

The entry module under \`deno run\` with the binary's exact flags, tiny model, median of ${RUNS}: spawn → "listening", and spawn → \`/health\` 200 (model loaded). "First run" has an empty library cache (extraction and verification included); "warm" finds the cache and verifies its hashes.

| start | listening ms | healthy ms |
|---|---:|---:|
${row("first run (extraction)", cold)}
${row("warm (cache verified)", warm)}

Extraction alone: ${median(extractMs).toFixed(0)} ms to write and verify ${
        mb(stage.libraryBytes)
      } MB; ${median(verifyMs).toFixed(0)} ms to verify an existing cache.

Gap: a real binary skips \`deno run\`'s module resolution and reads its modules pre-transpiled from itself, so its start should be at or below these figures; it was not measured (no denort).

Alone: \`deno task bench:binary\`.`,
    );
    console.log("wrote the Single binary section of BENCHMARKS.md");
  } finally {
    await Deno.remove(root, { recursive: true }).catch(() => {});
  }
}
