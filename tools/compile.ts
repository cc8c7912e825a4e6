/**
 * `deno task compile [--target T] [--output PATH]`: one executable with the service, the
 * frontend, the wasm codecs and the native libraries (binary.ts; src/binary/ says how it runs).
 *
 * Steps: check the target against the native libraries' format (they are built for one
 * platform), find Deno's runtime for binaries (denort), stage the entry tree in a temporary
 * directory with the libraries embedded as bytes imports (stageBinary(), which the
 * entry-module test uses too), then `deno compile` it with the baked-in flags of
 * src/binary/permissions.ts.
 *
 * denort: `deno compile` downloads it from dl.deno.land unless DENORT_BIN names one or Deno's
 * download cache holds it (`$DENO_DIR/dl/release/v<version>/denort-<target>.zip`, read from
 * Deno 2.9.6's cli/standalone/binary.rs). No npm package ships it, and without internet the
 * download ends in a DNS error, so this task checks first and fails at once, saying what to
 * provide.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { BINARY_RUNTIME_FLAGS, binaryPermissionFlags } from "../src/binary/permissions.ts";
import { sha256Hex } from "../src/binary/extract.ts";
import { NATIVE_LIB_DIR } from "../native/manifest.ts";

export const REPO_ROOT = decodeURIComponent(new URL("../", import.meta.url).pathname)
  .replace(/\/$/, "");

/** `deno compile --target` values (Deno 2.9.6). */
export const DENO_TARGETS = [
  "x86_64-unknown-linux-gnu",
  "aarch64-unknown-linux-gnu",
  "x86_64-apple-darwin",
  "aarch64-apple-darwin",
  "x86_64-pc-windows-msvc",
] as const;

/** Worker entry modules: not reached by static imports, so named to `deno compile --include`. */
export const WORKER_ENTRIES = [
  "src/engine/worker/engine_worker.ts",
  "src/image/worker.ts",
  "src/image/pipeline_worker.ts",
] as const;

/** What the stage copies from the repository (the entry module's tree). */
const STAGE_SOURCES = ["binary.ts", "deno.json", "deno.lock", "src", "ffi", "static"] as const;
const STAGE_FILES_EXTRA = ["native/manifest.ts"] as const;
/** Not part of the product graph (AssemblyScript sources of the prebuilt wasm kernels). */
const STAGE_SKIP = ["src/image/kernels/assembly"];

/** npm packages only the tests and tools import: the binary does not carry them. */
const DEV_PACKAGES = ["openai", "playwright-core"];
/** Not in the stage's npm cache either: the kernels' compiler (`deno task kernels`). */
const BUILD_PACKAGES = ["assemblyscript", "binaryen"];
/**
 * Package folders the stage's npm cache leaves out: `deno compile` 2.9.6 overflows its stack on
 * bintrees' test data (a prom-client dependency), and no package's tests belong in a binary.
 */
const NPM_SKIP_DIRS = new Set(["test", "tests", "__tests__"]);

/** A failure the user can fix; the message is the whole explanation. */
export class CompileError extends Error {}

/**
 * Which files of the library directory travel: ggml (every backend and CPU variant), llama,
 * mtmd and the build manifest. llama.cpp's own tools' libraries (libllama-common,
 * libllama-server-impl) stay behind.
 */
export function isPayloadFile(name: string): boolean {
  return name === "manifest.json" ||
    /^(lib)?(ggml(-[a-z0-9_-]+)?|llama|mtmd)\.(so|dylib|dll)(\.[0-9]+)*$/.test(name);
}

/** The targets a library file can run on, from its header (ELF, Mach-O or PE). */
export function targetsForLibrary(header: Uint8Array): string[] {
  const isElf = header[0] === 0x7f && header[1] === 0x45 && header[2] === 0x4c &&
    header[3] === 0x46;
  if (isElf) {
    const machine = header[5] === 2 ? (header[18]! << 8) | header[19]! : header[18]! |
      (header[19]! << 8);
    if (machine === 0x3e) return ["x86_64-unknown-linux-gnu"];
    if (machine === 0xb7) return ["aarch64-unknown-linux-gnu"];
    return [];
  }
  const magic = (header[0]! | (header[1]! << 8) | (header[2]! << 16) | (header[3]! << 24)) >>> 0;
  if (magic === 0xfeedfacf) {
    const cpu = (header[4]! | (header[5]! << 8) | (header[6]! << 16) | (header[7]! << 24)) >>> 0;
    if (cpu === 0x01000007) return ["x86_64-apple-darwin"];
    if (cpu === 0x0100000c) return ["aarch64-apple-darwin"];
    return [];
  }
  if (header[0] === 0x4d && header[1] === 0x5a) return ["x86_64-pc-windows-msvc"];
  return [];
}

function libraryName(): string {
  return Deno.build.os === "darwin"
    ? "libllama.dylib"
    : Deno.build.os === "windows"
    ? "llama.dll"
    : "libllama.so";
}

/** Refuses a target the native libraries in `libDir` were not built for. */
export async function checkTarget(target: string, libDir: string): Promise<void> {
  if (!(DENO_TARGETS as readonly string[]).includes(target)) {
    throw new CompileError(
      `unknown --target ${target}; Deno's targets: ${DENO_TARGETS.join(", ")}`,
    );
  }
  const lib = `${libDir}/${libraryName()}`;
  let header: Uint8Array;
  try {
    const file = await Deno.open(lib);
    header = new Uint8Array(64);
    await file.read(header);
    file.close();
  } catch {
    throw new CompileError(`${lib} is missing: build the native libraries first (./run native)`);
  }
  const fits = targetsForLibrary(header);
  if (!fits.includes(target)) {
    throw new CompileError(
      `cannot compile for ${target}: the native libraries in ${libDir} are built for ` +
        `${fits.join(", ") || "an unknown platform"}, and the binary must carry libraries for ` +
        `the platform it runs on. Build llama.cpp on (or for) ${target}, install it with ` +
        `./run native, and compile there.`,
    );
  }
}

/** Deno's cache directory as this deno reports it (honours DENO_DIR). */
export async function denoDir(): Promise<string> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json"],
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const info = JSON.parse(new TextDecoder().decode(out.stdout)) as { denoDir?: string };
  if (!out.success || !info.denoDir) throw new Error("`deno info --json` did not name DENO_DIR");
  return info.denoDir;
}

/** Where `deno compile` looks for a cached denort archive. */
export function cachedRuntimePath(dir: string, target: string): string {
  return `${dir}/dl/release/v${Deno.version.deno}/denort-${target}.zip`;
}

export interface Runtime {
  readonly source: "DENORT_BIN" | "cache";
  readonly path: string;
}

async function isFile(path: string): Promise<boolean> {
  return await Deno.stat(path).then((i) => i.isFile, () => false);
}

/** The denort `deno compile` will use, or a CompileError saying what to provide. */
export async function resolveRuntime(
  target: string,
  env: { denortBin?: string; denoDir: string },
): Promise<Runtime> {
  const version = Deno.version.deno;
  if (env.denortBin) {
    if (!(await isFile(env.denortBin))) {
      throw new CompileError(`DENORT_BIN=${env.denortBin} is not a file`);
    }
    const [bin, self] = await Promise.all([
      Deno.realPath(env.denortBin),
      Deno.realPath(Deno.execPath()),
    ]);
    if (bin === self) {
      throw new CompileError(
        `DENORT_BIN names the deno CLI itself (${self}); a binary built on it starts a REPL ` +
          `instead of the service. DENORT_BIN must be denort ${version} for ${target}, the ` +
          `runtime unpacked from denort-${target}.zip.`,
      );
    }
    return { source: "DENORT_BIN", path: env.denortBin };
  }
  const cached = cachedRuntimePath(env.denoDir, target);
  if (await isFile(cached)) return { source: "cache", path: cached };
  throw new CompileError(
    `deno compile needs Deno's runtime for binaries (denort ${version} for ${target}), which ` +
      `it would download from https://dl.deno.land/release/v${version}/denort-${target}.zip; ` +
      `no npm package ships it, and this task does not try the network. Provide it in one of ` +
      `two ways: set DENORT_BIN to the denort executable unpacked from that zip, or copy the ` +
      `zip itself to ${cached} (Deno's download cache; DENO_DIR moves it). On a machine with ` +
      `internet access, running \`deno compile\` once for that target fills the cache.`,
  );
}

async function copyTree(from: string, to: string, skip: readonly string[]): Promise<void> {
  const info = await Deno.lstat(from);
  if (skip.some((s) => from === `${REPO_ROOT}/${s}`)) return;
  if (info.isDirectory) {
    await Deno.mkdir(to, { recursive: true });
    for await (const entry of Deno.readDir(from)) {
      await copyTree(`${from}/${entry.name}`, `${to}/${entry.name}`, skip);
    }
  } else if (info.isFile) {
    await Deno.copyFile(from, to);
  }
}

interface PayloadEntry {
  readonly name: string;
  readonly sha256?: string;
  readonly target?: string;
}

/** The generated src/binary/native_payload.ts: bytes imports plus recorded hashes. */
export function payloadModule(entries: readonly PayloadEntry[]): string {
  const files = entries.filter((e) => e.sha256 !== undefined);
  const links = entries.filter((e) => e.target !== undefined);
  const lines = [
    "// Generated by tools/compile.ts stageBinary(): the native libraries, embedded.",
    'import type { NativePayload } from "./native_payload_types.ts";',
    ...files.map((f, i) =>
      `import f${i} from "../../native_embed/${f.name}" with { type: "bytes" };`
    ),
    'export type { EmbeddedFile, EmbeddedLink, NativePayload } from "./native_payload_types.ts";',
    "export const NATIVE_PAYLOAD: NativePayload | null = {",
    "  files: [",
    ...files.map((f, i) =>
      `    { name: ${JSON.stringify(f.name)}, sha256: ${JSON.stringify(f.sha256)}, bytes: f${i} },`
    ),
    "  ],",
    "  links: [",
    ...links.map((l) =>
      `    { name: ${JSON.stringify(l.name)}, target: ${JSON.stringify(l.target)} },`
    ),
    "  ],",
    "};",
    "",
  ];
  return lines.join("\n");
}

export interface Stage {
  readonly dir: string;
  /** The DENO_DIR `deno compile` runs with: the npm packages, without their tests. */
  readonly denoDir: string;
  /** The entry module inside the stage. */
  readonly entry: string;
  /** Bytes of source files and of native libraries copied. */
  readonly sourceBytes: number;
  readonly libraryBytes: number;
}

async function treeBytes(path: string): Promise<number> {
  const info = await Deno.lstat(path);
  if (!info.isDirectory) return info.isFile ? info.size : 0;
  let total = 0;
  for await (const e of Deno.readDir(path)) total += await treeBytes(`${path}/${e.name}`);
  return total;
}

/**
 * Copies what the binary embeds into `dir`: the entry tree (binary.ts, src/, ffi/, static/,
 * native/manifest.ts, deno.json, deno.lock) and the native libraries, with
 * src/binary/native_payload.ts replaced by the generated embedding.
 */
export async function stageBinary(
  dir: string,
  libDir: string = NATIVE_LIB_DIR,
  globalDenoDir?: string,
): Promise<Stage> {
  globalDenoDir ??= await denoDir();
  await Deno.mkdir(dir, { recursive: true });
  for (const s of STAGE_SOURCES) {
    await copyTree(`${REPO_ROOT}/${s}`, `${dir}/${s}`, STAGE_SKIP);
  }
  for (const f of STAGE_FILES_EXTRA) {
    await Deno.mkdir(`${dir}/${f.slice(0, f.lastIndexOf("/"))}`, { recursive: true });
    await Deno.copyFile(`${REPO_ROOT}/${f}`, `${dir}/${f}`);
  }
  const sourceBytes = await treeBytes(dir);
  const entries: PayloadEntry[] = [];
  await Deno.mkdir(`${dir}/native_embed`, { recursive: true });
  let libraryBytes = 0;
  const names: string[] = [];
  for await (const e of Deno.readDir(libDir)) if (isPayloadFile(e.name)) names.push(e.name);
  for (const name of names.sort()) {
    const path = `${libDir}/${name}`;
    const info = await Deno.lstat(path);
    if (info.isSymlink) {
      // Chains (libllama.so → .so.0 → .so.0.1) point at the final file.
      const real = await Deno.realPath(path);
      entries.push({ name, target: real.slice(real.lastIndexOf("/") + 1) });
    } else if (info.isFile) {
      const bytes = await Deno.readFile(path);
      await Deno.writeFile(`${dir}/native_embed/${name}`, bytes);
      entries.push({ name, sha256: await sha256Hex(bytes) });
      libraryBytes += bytes.byteLength;
    }
  }
  if (!entries.some((e) => e.name === libraryName())) {
    throw new CompileError(`${libDir} holds no ${libraryName()}: run ./run native first`);
  }
  await Deno.writeTextFile(
    `${dir}/deno.json`,
    stageConfig(await Deno.readTextFile(`${dir}/deno.json`)),
  );
  // The payload's types stay in a module of their own so the generated one can re-export them.
  const types = await Deno.readTextFile(`${dir}/src/binary/native_payload.ts`);
  await Deno.writeTextFile(`${dir}/src/binary/native_payload_types.ts`, types);
  await Deno.writeTextFile(`${dir}/src/binary/native_payload.ts`, payloadModule(entries));
  const stageDenoDir = `${dir}/.deno`;
  await stageNpmCache(`${globalDenoDir}/npm`, `${stageDenoDir}/npm`);
  return { dir, denoDir: stageDenoDir, entry: `${dir}/binary.ts`, sourceBytes, libraryBytes };
}

/**
 * Copies Deno's npm cache (registry/package/version/...) without the dev and build packages and
 * without each version's test folders.
 */
async function stageNpmCache(from: string, to: string): Promise<void> {
  const skipped = new Set([...DEV_PACKAGES, ...BUILD_PACKAGES]);
  const walk = async (src: string, dst: string, depth: number): Promise<void> => {
    const info = await Deno.lstat(src);
    if (info.isFile) return await Deno.copyFile(src, dst);
    if (!info.isDirectory) return;
    await Deno.mkdir(dst, { recursive: true });
    for await (const e of Deno.readDir(src)) {
      // depth 1: packages (and @scopes); depth 3: a version's top-level folders.
      if (depth === 1 && skipped.has(e.name)) continue;
      if (depth === 3 && e.isDirectory && NPM_SKIP_DIRS.has(e.name)) continue;
      if (depth === 2 && src.slice(src.lastIndexOf("/") + 1).startsWith("@") && e.isDirectory) {
        await walk(`${src}/${e.name}`, `${dst}/${e.name}`, 2); // @scope/name: one level deeper
        continue;
      }
      await walk(`${src}/${e.name}`, `${dst}/${e.name}`, depth + 1);
    }
  };
  for await (const registry of Deno.readDir(from)) {
    if (registry.isDirectory) await walk(`${from}/${registry.name}`, `${to}/${registry.name}`, 1);
  }
}

/**
 * The environment `deno compile` runs with for a stage: the stage's DENO_DIR, and denort (from
 * DENORT_BIN or the global download cache, which the stage's DENO_DIR does not have).
 */
export function compileEnv(stage: Stage, runtime: Runtime): Record<string, string> {
  return runtime.source === "DENORT_BIN"
    ? { DENO_DIR: stage.denoDir, DENORT_BIN: runtime.path }
    : { DENO_DIR: stage.denoDir };
}

/**
 * The stage's deno.json: the repository's import map and compiler options, no tasks, and npm
 * packages from Deno's global cache instead of a node_modules folder (which `deno compile`
 * would embed whole, test tooling included: 52 MB against the few MB the graph uses).
 */
export function stageConfig(repoConfig: string): string {
  const config = JSON.parse(repoConfig) as Record<string, unknown>;
  delete config.tasks;
  config.nodeModulesDir = "none";
  const imports = config.imports as Record<string, string>;
  for (const name of DEV_PACKAGES) {
    delete imports[name];
    delete imports[`${name}/`];
  }
  return JSON.stringify(config, null, 2) + "\n";
}

/** `deno compile`'s arguments for a stage. */
export function compileArgs(stage: Stage, target: string, output: string): string[] {
  return [
    "compile",
    "--no-check",
    "--cached-only",
    `--config=${stage.dir}/deno.json`,
    ...BINARY_RUNTIME_FLAGS,
    ...binaryPermissionFlags(),
    ...WORKER_ENTRIES.map((w) => `--include=${stage.dir}/${w}`),
    `--target=${target}`,
    `--output=${output}`,
    stage.entry,
  ];
}

export const COMPILE_USAGE = `usage: deno task compile [--target TARGET] [--output PATH]
  --target   one of ${DENO_TARGETS.join(", ")}
             (default: this machine, ${Deno.build.target}); the native libraries in native/lib
             must be built for it
  --output   where the executable goes (default dist/smolvlm, .exe on Windows)
Needs Deno's runtime for binaries: DENORT_BIN, or its zip in Deno's download cache.`;

export async function main(args: string[]): Promise<number> {
  let values;
  try {
    values = parseArgs({
      args,
      options: {
        target: { type: "string" },
        output: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    }).values;
  } catch (e) {
    console.error(`compile: ${(e as Error).message}\n${COMPILE_USAGE}`);
    return 2;
  }
  if (values.help) {
    console.log(COMPILE_USAGE);
    return 0;
  }
  const target = values.target ?? Deno.build.target;
  const output = values.output ??
    `${REPO_ROOT}/dist/smolvlm${target.includes("windows") ? ".exe" : ""}`;
  let runtime: Runtime;
  try {
    await checkTarget(target, NATIVE_LIB_DIR);
    runtime = await resolveRuntime(target, {
      denortBin: Deno.env.get("DENORT_BIN") || undefined,
      denoDir: await denoDir(),
    });
  } catch (e) {
    if (!(e instanceof CompileError)) throw e;
    console.error(`compile: ${e.message}`);
    return 1;
  }
  console.log(`compile: denort from ${runtime.source} (${runtime.path})`);
  const stageDir = await Deno.makeTempDir({ prefix: "smolvlm-binary-stage-" });
  try {
    const stage = await stageBinary(stageDir);
    await Deno.mkdir(output.slice(0, Math.max(1, output.lastIndexOf("/"))), { recursive: true });
    if (runtime.source === "cache") {
      // deno compile looks for it under the DENO_DIR it runs with: the stage's.
      const inStage = cachedRuntimePath(stage.denoDir, target);
      await Deno.mkdir(inStage.slice(0, inStage.lastIndexOf("/")), { recursive: true });
      await Deno.copyFile(runtime.path, inStage);
    }
    const status = await new Deno.Command(Deno.execPath(), {
      args: compileArgs(stage, target, output),
      cwd: stage.dir,
      env: compileEnv(stage, runtime),
      stdout: "inherit",
      stderr: "inherit",
    }).spawn().status;
    if (!status.success) return status.code || 1;
    const size = (await Deno.stat(output)).size;
    console.log(`compile: ${output} (${(size / 1e6).toFixed(1)} MB)`);
    return 0;
  } finally {
    await Deno.remove(stageDir, { recursive: true }).catch(() => {});
  }
}

if (import.meta.main) Deno.exitCode = await main(Deno.args);
