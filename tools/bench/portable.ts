/**
 * Portable build benchmark: the same engine run on the host build (native/lib, compiled for
 * this CPU's features) and on the portable build (native/lib-portable, ggml's CPU variants chosen
 * at load), alternating, in one run. Each measurement is a child process with SMOLVLM_LIB_DIR set,
 * since a process loads one set of libraries. 500m preset, a ~400-word text prompt, 64 greedy
 * tokens; the first generation of each child is a warm-up.
 *
 *   deno task bench:portable [--runs 3]
 *
 * Needs `./run native --portable --lib-dir native/lib-portable` first (about an hour on 2 cores).
 */
import { parseArgs } from "node:util";
import { fixturePaths } from "../gguf/cli.ts";
import { readInstalledManifest } from "../../native/manifest.ts";
import { writeBenchmarksSection } from "./sections.ts";

const REPO = decodeURIComponent(new URL("../../", import.meta.url).pathname).replace(/\/$/, "");
const BUILDS = [
  { name: "host build", dir: "native/lib" },
  { name: "portable build", dir: "native/lib-portable" },
] as const;

interface Sample {
  readonly variant: string | null;
  readonly prefillTokensPerSecond: number;
  readonly decodeTokensPerSecond: number;
}

/** The child: one engine on whatever SMOLVLM_LIB_DIR names, one warm-up, then `generations`. */
async function child(generations: number): Promise<void> {
  const { loadEngine } = await import("../../src/engine/mod.ts");
  const model = fixturePaths("500m").model;
  await using engine = await loadEngine({ modelPath: model, threads: 2, nativeLog: "silent" });
  const words = ["sea", "sky", "stone", "light"];
  const text = Array.from({ length: 400 }, (_, i) => words[i % 4]).join(" ");
  const samples: Sample[] = [];
  for (let i = 0; i <= generations; i++) {
    const result = await engine.generate({
      messages: [{ role: "user", content: [{ type: "text", text: `${i} ${text}` }] }],
      maxTokens: 64,
      sampling: { temperature: 0 },
    }).result;
    if (i === 0) continue;
    samples.push({
      variant: engine.info.backends?.cpu.variant ?? null,
      prefillTokensPerSecond: result.timings.prefillTokensPerSecond,
      decodeTokensPerSecond: result.timings.decodeTokensPerSecond,
    });
  }
  console.log(JSON.stringify(samples));
}

async function measure(dir: string, generations: number): Promise<Sample[]> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-read",
      "--allow-env",
      "--allow-ffi",
      import.meta.filename!,
      "--child",
      String(generations),
    ],
    env: { SMOLVLM_LIB_DIR: `${REPO}/${dir}` },
    stderr: "inherit",
  }).output();
  if (!out.success) throw new Error(`the ${dir} child failed (exit ${out.code})`);
  const lines = new TextDecoder().decode(out.stdout).trim().split("\n");
  return JSON.parse(lines.at(-1)!) as Sample[];
}

const median = (values: number[]) => {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: Deno.args,
    options: { runs: { type: "string", default: "3" }, child: { type: "string" } },
  });
  if (values.child) return await child(Number(values.child));
  const runs = Number(values.runs);
  const manifest = await readInstalledManifest(`${REPO}/native/lib-portable`).catch(() => null);
  if (manifest?.portable !== true) {
    console.error(
      "bench portable: native/lib-portable holds no portable build; build it with " +
        "`./run native --portable --lib-dir native/lib-portable` (about an hour on 2 cores)",
    );
    Deno.exit(1);
  }
  const samples = new Map<string, Sample[]>(BUILDS.map((b) => [b.dir, []]));
  for (let run = 0; run < runs; run++) {
    const order = run % 2 === 0 ? BUILDS : [...BUILDS].reverse();
    for (const build of order) samples.get(build.dir)!.push(...await measure(build.dir, 2));
    console.error(`bench portable: run ${run + 1}/${runs} done`);
  }
  const row = (b: (typeof BUILDS)[number]) => {
    const s = samples.get(b.dir)!;
    return {
      variant: s[0]?.variant ?? "(built for this host)",
      prefill: median(s.map((x) => x.prefillTokensPerSecond)),
      decode: median(s.map((x) => x.decodeTokensPerSecond)),
    };
  };
  const [host, portable] = [row(BUILDS[0]), row(BUILDS[1])];
  const load = Deno.loadavg().map((x) => x.toFixed(2)).join(" / ");
  const markdown = [
    "## Portable build: ggml's CPU variants against the host build (500m preset, f16)",
    "",
    `Measured ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC on ` +
    `${navigator.hardwareConcurrency} cores (load average when done: ${load}). 2 threads, a ` +
    `~400-word text prompt, 64 greedy tokens; ${runs} runs x 2 generations per build, ` +
    `alternating, median. The host build is compiled for this CPU's SIMD features; the portable ` +
    `build carries one libggml-cpu per x86-64 level and loads the best one this CPU runs.`,
    "",
    "| build | CPU variant | prefill tok/s | decode tok/s |",
    "|---|---|---:|---:|",
    `| host (native/lib) | ${host.variant} | ${host.prefill.toFixed(1)} | ${
      host.decode.toFixed(2)
    } |`,
    `| portable (native/lib-portable) | ${portable.variant} | ${portable.prefill.toFixed(1)} | ${
      portable.decode.toFixed(2)
    } |`,
    `| portable / host | | ${(portable.prefill / host.prefill).toFixed(3)} | ${
      (portable.decode / host.decode).toFixed(3)
    } |`,
    "",
    "Commands (paths relative to the repo):",
    "",
    "```",
    "./run native --portable --lib-dir native/lib-portable",
    `deno task bench:portable --runs ${runs}`,
    "```",
  ].join("\n");
  await writeBenchmarksSection("portable", markdown);
  console.log(markdown);
}

if (import.meta.main) await main();
