/**
 * `./run fixtures`: generates the synthetic SmolVLM model pairs used by tests and benchmarks.
 *
 *   fixtures [--preset tiny|500m|all] [--type f16|f32|q8_0] [--seed N] [--out DIR]
 *            [--vocab PATH] [--force]
 *
 * Files go to `<out>/<preset>/` (default out: `<repo>/tests/fixtures/generated`, gitignored).
 * Generation is deterministic, so a pair is skipped when `<out>/<preset>/manifest.json` records
 * the same key (generator version, preset, seed, type, std) and both files still exist with the
 * recorded size and SHA-256.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { parseArgs } from "node:util";
import {
  defaultFileNames,
  GENERATOR_VERSION,
  SMOLVLM_PRESETS,
  type SmolVlmPreset,
  type SmolVlmWeightType,
  writeSmolVlmPair,
} from "./smolvlm.ts";

/** Repository root (two levels above this file). */
export const REPO_ROOT: string = decodeURIComponent(new URL("../../", import.meta.url).pathname)
  .replace(/\/$/, "");
export const DEFAULT_FIXTURES_DIR = `${REPO_ROOT}/tests/fixtures/generated`;
export const DEFAULT_SEED = 1;
const VOCAB_REL = "models/ggml-vocab-starcoder.gguf";

const PRESETS = Object.keys(SMOLVLM_PRESETS) as SmolVlmPreset[];
const TYPES: readonly SmolVlmWeightType[] = ["f16", "f32", "q8_0"];

export interface FixtureFile {
  readonly name: string;
  readonly bytes: number;
  readonly sha256: string;
}

export interface FixtureEntry {
  readonly key: string;
  readonly generatorVersion: number;
  readonly preset: SmolVlmPreset;
  readonly seed: number;
  readonly type: SmolVlmWeightType;
  readonly weightStd: number;
  readonly model: FixtureFile;
  readonly mmproj: FixtureFile;
}

export interface FixtureManifest {
  /** Keyed by weight type (`f16`, …): one pair per type per preset directory. */
  readonly entries: Record<string, FixtureEntry>;
}

/** Paths of the pair `runFixtures`/`ensureFixturePair` produce for `preset`/`type`. */
export function fixturePaths(
  preset: SmolVlmPreset,
  type: SmolVlmWeightType = "f16",
  outDir: string = DEFAULT_FIXTURES_DIR,
): { dir: string; model: string; mmproj: string } {
  const dir = `${outDir}/${preset}`;
  const n = defaultFileNames(preset, type);
  return { dir, model: `${dir}/${n.model}`, mmproj: `${dir}/${n.mmproj}` };
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

/**
 * Finds llama.cpp's `models/ggml-vocab-starcoder.gguf`: `explicit`, then
 * `$SMOLVLM_LLAMA_SRC/models/…`, then `sourceDir` from `native/lib/manifest.json` (written by
 * `./run native`). Throws an error that names the fix when none exists.
 */
export async function resolveVocabPath(explicit?: string): Promise<string> {
  const tried: string[] = [];
  if (explicit) {
    if (await exists(explicit)) return explicit;
    throw new Error(`--vocab ${explicit}: file not found`);
  }
  let env: string | undefined;
  try {
    env = Deno.env.get("SMOLVLM_LLAMA_SRC");
  } catch {
    env = undefined; // no --allow-env: skip this source
  }
  if (env) {
    const p = `${env.replace(/\/$/, "")}/${VOCAB_REL}`;
    if (await exists(p)) return p;
    tried.push(`$SMOLVLM_LLAMA_SRC → ${p}`);
  }
  const manifestPath = `${REPO_ROOT}/native/lib/manifest.json`;
  if (await exists(manifestPath)) {
    const m = JSON.parse(await Deno.readTextFile(manifestPath)) as { sourceDir?: unknown };
    if (typeof m.sourceDir === "string") {
      const src = m.sourceDir.startsWith("/") ? m.sourceDir : `${REPO_ROOT}/${m.sourceDir}`;
      const p = `${src.replace(/\/$/, "")}/${VOCAB_REL}`;
      if (await exists(p)) return p;
      tried.push(`native/lib/manifest.json sourceDir → ${p}`);
    } else {
      tried.push(`${manifestPath} (sourceDir is ${JSON.stringify(m.sourceDir ?? null)})`);
    }
  } else {
    tried.push(`${manifestPath} (missing)`);
  }
  throw new Error(
    `cannot find llama.cpp's ${VOCAB_REL} (tried: ${tried.join("; ")}). ` +
      `Run \`./run native\` first (it fetches and builds llama.cpp and records its source dir), ` +
      `or pass --vocab PATH / set SMOLVLM_LLAMA_SRC to a llama.cpp source tree.`,
  );
}

/** Streaming SHA-256 of a file (hex). */
export async function sha256File(path: string): Promise<string> {
  const h = createHash("sha256");
  const file = await Deno.open(path, { read: true });
  try {
    const buf = new Uint8Array(1 << 22);
    for (;;) {
      const n = await file.read(buf);
      if (n === null) break;
      h.update(buf.subarray(0, n));
    }
  } finally {
    file.close();
  }
  return h.digest("hex");
}

async function readManifest(path: string): Promise<FixtureManifest> {
  try {
    const m = JSON.parse(await Deno.readTextFile(path)) as Partial<FixtureManifest>;
    return { entries: m.entries && typeof m.entries === "object" ? { ...m.entries } : {} };
  } catch {
    return { entries: {} };
  }
}

async function fileMatches(dir: string, f: FixtureFile | undefined): Promise<boolean> {
  if (!f) return false;
  const path = `${dir}/${f.name}`;
  try {
    if ((await Deno.stat(path)).size !== f.bytes) return false;
  } catch {
    return false;
  }
  return (await sha256File(path)) === f.sha256;
}

export interface EnsureOptions {
  readonly preset: SmolVlmPreset;
  readonly type?: SmolVlmWeightType;
  readonly seed?: number;
  readonly outDir?: string;
  readonly vocab?: string;
  readonly force?: boolean;
  readonly log?: (line: string) => void;
}

/**
 * Generates one pair unless the manifest shows an identical, intact pair already exists.
 * Returns the pair's paths and whether it was (re)generated.
 */
export async function ensureFixturePair(
  opts: EnsureOptions,
): Promise<{ model: string; mmproj: string; generated: boolean }> {
  const type = opts.type ?? "f16";
  const seed = opts.seed ?? DEFAULT_SEED;
  const log = opts.log ?? ((l: string) => console.error(l));
  const weightStd = SMOLVLM_PRESETS[opts.preset].weightStd;
  const paths = fixturePaths(opts.preset, type, opts.outDir ?? DEFAULT_FIXTURES_DIR);
  const key = `v${GENERATOR_VERSION}/${opts.preset}/seed=${seed}/${type}/std=${weightStd}`;
  const manifestPath = `${paths.dir}/manifest.json`;
  const manifest = await readManifest(manifestPath);
  const prev = manifest.entries[type];
  if (
    !opts.force && prev?.key === key && await fileMatches(paths.dir, prev.model) &&
    await fileMatches(paths.dir, prev.mmproj)
  ) {
    log(`fixtures: ${opts.preset}/${type} up to date (${key})`);
    return { model: paths.model, mmproj: paths.mmproj, generated: false };
  }
  const vocab = await resolveVocabPath(opts.vocab);
  log(`fixtures: generating ${opts.preset}/${type} (${key}) into ${paths.dir}`);
  const t0 = performance.now();
  let lastPct = -1;
  let lastFile = "";
  const pair = await writeSmolVlmPair({
    preset: opts.preset,
    seed,
    type,
    outDir: paths.dir,
    vocabGguf: vocab,
    onProgress: (file, p) => {
      if (file !== lastFile) {
        lastFile = file;
        lastPct = -1;
      }
      const pct = Math.floor((p.bytesWritten / p.totalBytes) * 10) * 10;
      if (pct !== lastPct) {
        lastPct = pct;
        const mb = (p.totalBytes / 1048576).toFixed(1);
        log(`fixtures:   ${file} ${String(pct).padStart(3)}% of ${mb} MiB`);
      }
    },
  });
  const entry: FixtureEntry = {
    key,
    generatorVersion: GENERATOR_VERSION,
    preset: opts.preset,
    seed,
    type,
    weightStd,
    model: {
      name: pair.model.slice(paths.dir.length + 1),
      bytes: pair.modelBytes,
      sha256: await sha256File(pair.model),
    },
    mmproj: {
      name: pair.mmproj.slice(paths.dir.length + 1),
      bytes: pair.mmprojBytes,
      sha256: await sha256File(pair.mmproj),
    },
  };
  // Re-read so concurrent runs for other types in the same dir are not clobbered.
  const latest = await readManifest(manifestPath);
  latest.entries[type] = entry;
  await Deno.writeTextFile(`${manifestPath}.tmp`, JSON.stringify(latest, null, 2) + "\n");
  await Deno.rename(`${manifestPath}.tmp`, manifestPath);
  log(
    `fixtures: wrote ${pair.model} and ${pair.mmproj} in ` +
      `${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );
  return { model: pair.model, mmproj: pair.mmproj, generated: true };
}

const USAGE = `usage: fixtures [--preset tiny|500m|all] [--type f16|f32|q8_0] [--seed N]
                [--out DIR] [--vocab PATH] [--force]

Writes synthetic SmolVLM model pairs (random weights, real architecture and tokenizer) to
<out>/<preset>/ (default out: tests/fixtures/generated). Default preset: tiny; default type f16;
default seed ${DEFAULT_SEED}. Up-to-date pairs (per manifest.json) are skipped unless --force.
Vocab: --vocab, else $SMOLVLM_LLAMA_SRC/${VOCAB_REL}, else native/lib/manifest.json sourceDir.`;

/** Entry point for `./run fixtures` (tools/main.ts); returns the process exit code. */
export async function runFixtures(args: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        preset: { type: "string", default: "tiny" },
        type: { type: "string", default: "f16" },
        seed: { type: "string", default: String(DEFAULT_SEED) },
        out: { type: "string" },
        vocab: { type: "string" },
        force: { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (e) {
    console.error(`fixtures: ${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const presets = values.preset === "all" ? PRESETS : PRESETS.filter((p) => p === values.preset);
  if (presets.length === 0) {
    console.error(`fixtures: unknown preset ${values.preset}\n${USAGE}`);
    return 2;
  }
  const type = TYPES.find((t) => t === values.type);
  if (!type) {
    console.error(`fixtures: unknown type ${values.type}\n${USAGE}`);
    return 2;
  }
  const seed = Number(values.seed);
  if (!Number.isSafeInteger(seed) || seed < 0) {
    console.error(`fixtures: --seed must be a non-negative integer`);
    return 2;
  }
  const outDir = values.out?.replace(/\/$/, "") ?? DEFAULT_FIXTURES_DIR;
  try {
    for (const preset of presets) {
      const r = await ensureFixturePair({
        preset,
        type,
        seed,
        outDir,
        vocab: values.vocab,
        force: values.force,
      });
      console.log(`${preset}: model=${r.model} mmproj=${r.mmproj}`);
    }
    return 0;
  } catch (e) {
    console.error(`fixtures: ${(e as Error).message}`);
    return 1;
  }
}

if (import.meta.main) {
  Deno.exit(await runFixtures(Deno.args));
}
