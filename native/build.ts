/**
 * Builds llama.cpp's shared libraries (ggml, llama, mtmd) and its reference tools
 * (llama-mtmd-cli, llama-server) from the source pinned in the npm tarball of
 * node-llama-cpp@3.22.1, caches the result outside the repo keyed by commit and options, and
 * installs it into native/lib/ (where the FFI loader and the serve task's --allow-ffi look).
 *
 *   main.ts native [--cuda] [--cuda-arch 90] [--portable] [--lib-dir DIR] [--from DIR] [--jobs N]
 *                  [--force]
 *
 * --lib-dir DIR installs into DIR instead of native/lib (e.g. a portable build next to the
 * default one); --from DIR installs libraries built elsewhere instead of building.
 * Env: SMOLVLM_LIB_DIR (same as --lib-dir; a directory of libraries not built by this tool is
 * used in place), SMOLVLM_CACHE_DIR (cache root).
 */
import { parseArgs } from "node:util";
import { NATIVE_LIB_DIR, type NativeManifest, readInstalledManifest } from "./manifest.ts";

/** The pinned source: node-llama-cpp's npm tarball carries llama.cpp as a git bundle. */
export const PINNED = {
  npmPackage: "node-llama-cpp@3.22.1",
  tarballName: "node-llama-cpp-3.22.1.tgz",
  integrity:
    "sha512-bltIipuWmc123H7tMIgDGKSsSrhmhlQYeVUC48XTjVW7XGJJiJJyCdlTMzQ/LiWoPkGDpcL4FviDpgw7qfTiDw==",
  bundlePath: "package/llama/gitRelease.bundle",
  commit: "de3ff815ea7d559ee917f063901b8986f038abc6",
} as const;

const TARGETS = ["llama", "mtmd", "llama-mtmd-cli", "llama-server"] as const;

/**
 * x86 features we enable explicitly instead of -march=native: native would also switch on
 * AMX, whose ggml kernels fault on some VMs (see shared notes), so AMX is never enabled.
 */
const CPU_FEATURE_FLAGS: readonly [cpuinfoFlag: string, cmakeOption: string][] = [
  ["avx", "GGML_AVX"],
  ["avx2", "GGML_AVX2"],
  ["fma", "GGML_FMA"],
  ["f16c", "GGML_F16C"],
  ["bmi2", "GGML_BMI2"],
  ["avx_vnni", "GGML_AVX_VNNI"],
  ["avx512f", "GGML_AVX512"],
  ["avx512vbmi", "GGML_AVX512_VBMI"],
  ["avx512_vnni", "GGML_AVX512_VNNI"],
  ["avx512_bf16", "GGML_AVX512_BF16"],
];

/**
 * CPU variants of a portable build that are never installed: sapphirerapids is the only one
 * compiled with AMX (see above). AMX CPUs get the zen4 variant (AVX512 VBMI/VNNI/BF16) instead.
 */
const EXCLUDED_CPU_VARIANTS = new Set(["libggml-cpu-sapphirerapids.so"]);

export interface BuildOptions {
  cuda: boolean;
  cudaArch: string;
  /**
   * cuBLAS outside the CUDA toolkit: a directory with include/cublas_v2.h and lib/libcublas.so*
   * (e.g. the nvidia-cublas pip wheel's nvidia/cu13, for a toolkit installed without it).
   */
  cublasDir?: string;
  portable: boolean;
  jobs: number;
  force: boolean;
  /** Run cmake's configure step only (checks a toolchain, e.g. CUDA's, in seconds). */
  configureOnly?: boolean;
}

function log(message: string): void {
  console.error(`native: ${message}`);
}

export function cacheRoot(): string {
  const explicit = Deno.env.get("SMOLVLM_CACHE_DIR");
  if (explicit) return explicit;
  const xdg = Deno.env.get("XDG_CACHE_HOME");
  const home = Deno.env.get("HOME") ?? "/tmp";
  return `${xdg ?? `${home}/.cache`}/smolvlm-deno`;
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

async function run(
  cmd: string,
  args: string[],
  options: { cwd?: string; quiet?: boolean } = {},
): Promise<string> {
  const child = new Deno.Command(cmd, {
    args,
    cwd: options.cwd,
    stdout: options.quiet ? "piped" : "inherit",
    stderr: options.quiet ? "piped" : "inherit",
  });
  let output: Deno.CommandOutput;
  try {
    output = await child.output();
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new Error(`'${cmd}' is not installed (needed to build llama.cpp)`);
    }
    throw error;
  }
  const stdout = options.quiet ? new TextDecoder().decode(output.stdout) : "";
  if (!output.success) {
    const stderr = options.quiet ? new TextDecoder().decode(output.stderr) : "";
    throw new Error(`${cmd} ${args.join(" ")} failed (exit ${output.code})\n${stderr}`);
  }
  return stdout;
}

async function sha512Base64(path: string): Promise<string> {
  const bytes = await Deno.readFile(path);
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-512", bytes));
  return btoa(String.fromCharCode(...digest));
}

async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** Fetches the tarball with npm (honours the machine's registry config) and checks integrity. */
async function fetchVerifiedTarball(cache: string): Promise<string> {
  const dir = `${cache}/npm`;
  const tarball = `${dir}/${PINNED.tarballName}`;
  await Deno.mkdir(dir, { recursive: true });
  if (!(await exists(tarball))) {
    log(`downloading ${PINNED.npmPackage} from the npm registry`);
    await run("npm", ["pack", PINNED.npmPackage, "--pack-destination", dir, "--silent"], {
      quiet: true,
    });
  }
  const integrity = `sha512-${await sha512Base64(tarball)}`;
  if (integrity !== PINNED.integrity) {
    await Deno.remove(tarball);
    throw new Error(
      `integrity mismatch for ${PINNED.tarballName}: got ${integrity}, pinned ${PINNED.integrity}`,
    );
  }
  log(`tarball integrity ok (${PINNED.integrity.slice(0, 20)}…)`);
  return tarball;
}

/** Extracts the git bundle and clones it; the checkout's HEAD must be the pinned commit. */
async function ensureSource(cache: string): Promise<string> {
  const sourceDir = `${cache}/src/llama.cpp-${PINNED.commit.slice(0, 12)}`;
  if (await exists(`${sourceDir}/.git`)) {
    const head = (await run("git", ["-C", sourceDir, "rev-parse", "HEAD"], { quiet: true }))
      .trim();
    if (head === PINNED.commit) return sourceDir;
    log(`cached source is at ${head}, not the pinned commit: re-cloning`);
    await Deno.remove(sourceDir, { recursive: true });
  }
  const tarball = await fetchVerifiedTarball(cache);
  const tmp = await Deno.makeTempDir({ prefix: "smolvlm-native-" });
  try {
    await run("tar", ["-xzf", tarball, "-C", tmp, PINNED.bundlePath], { quiet: true });
    const bundle = `${tmp}/${PINNED.bundlePath}`;
    await run("git", ["bundle", "verify", bundle], { quiet: true });
    log(`cloning llama.cpp ${PINNED.commit.slice(0, 12)} from the bundle`);
    await Deno.mkdir(`${cache}/src`, { recursive: true });
    await run("git", ["clone", "--quiet", bundle, sourceDir], { quiet: true });
    await run("git", ["-C", sourceDir, "checkout", "--quiet", PINNED.commit], { quiet: true });
    const head = (await run("git", ["-C", sourceDir, "rev-parse", "HEAD"], { quiet: true }))
      .trim();
    if (head !== PINNED.commit) {
      throw new Error(`bundle HEAD is ${head}, expected the pinned ${PINNED.commit}`);
    }
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
  return sourceDir;
}

/** The CPU's feature flags (Deno needs --allow-all to read /proc directly, so ask grep). */
async function cpuFeatures(): Promise<Set<string>> {
  if (Deno.build.os !== "linux") return new Set();
  const line = await run("grep", ["-m1", "^flags", "/proc/cpuinfo"], { quiet: true });
  const flags = line.split(":")[1]?.trim().split(/\s+/) ?? [];
  if (!flags.includes("sse2")) throw new Error(`cannot read CPU flags from /proc/cpuinfo: ${line}`);
  return new Set(flags);
}

async function compilerId(): Promise<string> {
  try {
    return (await run("c++", ["--version"], { quiet: true })).split("\n")[0] ?? "unknown";
  } catch {
    return "unknown";
  }
}

/** What the CUDA build needs from the toolkit, as found on this machine. */
export interface CudaToolkit {
  /** The toolkit's root (nvcc's TOP), or null when no nvcc runs. */
  readonly root: string | null;
  /** cublas_v2.h in the toolkit's include directories. */
  readonly hasCublas: boolean;
  /** libcuda.so (the driver, or the toolkit's link stub) to link ggml's VMM memory pool. */
  readonly hasDriverLibrary: boolean;
}

/** Asks nvcc where its toolkit is, then looks for cuBLAS and the driver library in it. */
export async function probeCudaToolkit(): Promise<CudaToolkit> {
  const empty = await Deno.makeTempFile({ suffix: ".cu" });
  let root: string | null = null;
  try {
    const out = await new Deno.Command("nvcc", {
      args: ["--dryrun", "-c", empty, "-o", "/dev/null"],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stderr) + new TextDecoder().decode(out.stdout);
    root = /^#\$ TOP=(.+)$/m.exec(text)?.[1]?.trim() ?? null;
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  } finally {
    await Deno.remove(empty);
  }
  if (root === null) return { root, hasCublas: false, hasDriverLibrary: false };
  root = await Deno.realPath(root).catch(() => root!);
  const anyExists = async (paths: string[]) => {
    for (const path of paths) if (await exists(path)) return true;
    return false;
  };
  const targets = `${root}/targets/${Deno.build.arch}-linux`;
  return {
    root,
    hasCublas: await anyExists([`${root}/include/cublas_v2.h`, `${targets}/include/cublas_v2.h`]),
    hasDriverLibrary: await anyExists([
      `${root}/lib64/stubs/libcuda.so`,
      `${targets}/lib/stubs/libcuda.so`,
      `/usr/lib/${Deno.build.arch}-linux-gnu/libcuda.so`,
      "/usr/lib64/libcuda.so",
    ]),
  };
}

/** The CUDA definitions for `toolkit`; throws with the fix when the build could not link. */
export async function cudaDefinitions(
  options: Pick<BuildOptions, "cudaArch" | "cublasDir">,
  toolkit: CudaToolkit,
): Promise<string[]> {
  if (toolkit.root === null) {
    throw new Error("--cuda needs nvcc on PATH (the CUDA toolkit's compiler); none runs here");
  }
  const defs = ["GGML_CUDA=ON", `CMAKE_CUDA_ARCHITECTURES=${options.cudaArch}`];
  if (!toolkit.hasCublas) {
    const dir = options.cublasDir;
    if (!dir) {
      throw new Error(
        `the CUDA toolkit at ${toolkit.root} has no cuBLAS (cublas_v2.h), which ggml's CUDA ` +
          `backend links. Install the toolkit's cuBLAS, or pass --cublas-dir DIR with ` +
          `DIR/include/cublas_v2.h and DIR/lib/libcublas.so* (the nvidia-cublas wheel's ` +
          `nvidia/cu13 directory, unpacked)`,
      );
    }
    const library = async (name: string) => {
      for (const file of [`${name}.so`, `${name}.so.13`, `${name}.so.12`]) {
        if (await exists(`${dir}/lib/${file}`)) return `${dir}/lib/${file}`;
      }
      throw new Error(`--cublas-dir ${dir} has no lib/${name}.so*`);
    };
    if (!(await exists(`${dir}/include/cublas_v2.h`))) {
      throw new Error(`--cublas-dir ${dir} has no include/cublas_v2.h`);
    }
    defs.push(
      `CUDA_cublas_LIBRARY=${await library("libcublas")}`,
      `CUDA_cublasLt_LIBRARY=${await library("libcublasLt")}`,
      `CMAKE_CUDA_FLAGS=-I${dir}/include`,
      `CMAKE_CXX_FLAGS=-I${dir}/include`,
      // libggml-cuda finds libcublas there at run time, next to its own directory.
      `CMAKE_BUILD_RPATH=$ORIGIN;${dir}/lib`,
    );
  }
  if (!toolkit.hasDriverLibrary) {
    // Without libcuda.so to link, ggml's virtual-memory pool is out; its legacy pool works
    // everywhere (a little more fragmentation on long runs).
    defs.push("GGML_CUDA_NO_VMM=ON");
  }
  return defs;
}

export async function cmakeDefinitions(
  options: BuildOptions,
  toolkit?: CudaToolkit,
): Promise<string[]> {
  const defs = [
    "CMAKE_BUILD_TYPE=Release",
    "BUILD_SHARED_LIBS=ON",
    // Libraries and tools land in one directory and find each other there.
    "CMAKE_BUILD_RPATH=$ORIGIN",
    "LLAMA_CURL=OFF",
    "LLAMA_OPENSSL=OFF",
    "LLAMA_BUILD_TESTS=OFF",
    "LLAMA_BUILD_EXAMPLES=OFF",
    "LLAMA_BUILD_APP=OFF",
    // llama-server's web UI would be downloaded from Hugging Face; we only need its API.
    "LLAMA_USE_PREBUILT_UI=OFF",
    "GGML_NATIVE=OFF",
    // Deno runs nonblocking FFI calls on whichever pool thread is free; with OpenMP every such
    // thread grows its own spinning thread team and the teams fight over the cores (decode was
    // ~25% slower). ggml's own threadpool has no such per-caller state.
    "GGML_OPENMP=OFF",
    "GGML_AMX_TILE=OFF",
    "GGML_AMX_INT8=OFF",
    "GGML_AMX_BF16=OFF",
  ];
  if (options.portable) {
    // One libggml-cpu-<variant>.so per ISA level, chosen at load time.
    defs.push("GGML_BACKEND_DL=ON", "GGML_CPU_ALL_VARIANTS=ON");
  } else {
    const features = await cpuFeatures();
    for (const [flag, option] of CPU_FEATURE_FLAGS) {
      defs.push(`${option}=${features.has(flag) ? "ON" : "OFF"}`);
    }
  }
  if (options.cuda) {
    const cuda = await cudaDefinitions(options, toolkit ?? await probeCudaToolkit());
    // A later definition of the same variable wins on cmake's command line; keep one of each.
    const names = new Set(cuda.map((d) => d.slice(0, d.indexOf("="))));
    return [...defs.filter((d) => !names.has(d.slice(0, d.indexOf("=")))), ...cuda];
  }
  return defs;
}

async function buildKey(defs: string[]): Promise<string> {
  const identity = JSON.stringify({ commit: PINNED.commit, defs, compiler: await compilerId() });
  return `${PINNED.commit.slice(0, 12)}-${(await sha256Hex(identity)).slice(0, 12)}`;
}

/** Copies build outputs (real files, then their symlinks) and headers into `dest`. */
async function installTree(
  buildBin: string,
  sourceDir: string,
  dest: string,
): Promise<void> {
  await Deno.mkdir(`${dest}/include`, { recursive: true });
  const links: [string, string][] = [];
  for await (const entry of Deno.readDir(buildBin)) {
    const wanted = entry.name.startsWith("lib") && entry.name.includes(".so") ||
      (TARGETS as readonly string[]).includes(entry.name);
    if (!wanted || EXCLUDED_CPU_VARIANTS.has(entry.name)) continue;
    const from = `${buildBin}/${entry.name}`;
    if (entry.isSymlink) links.push([await Deno.readLink(from), entry.name]);
    else await Deno.copyFile(from, `${dest}/${entry.name}`);
  }
  for (const [target, name] of links) {
    await Deno.remove(`${dest}/${name}`).catch(() => {});
    await Deno.symlink(target, `${dest}/${name}`);
  }
  const headers = [
    "include/llama.h",
    "tools/mtmd/mtmd.h",
    "tools/mtmd/mtmd-helper.h",
  ];
  for await (const entry of Deno.readDir(`${sourceDir}/ggml/include`)) {
    if (entry.name.endsWith(".h")) headers.push(`ggml/include/${entry.name}`);
  }
  for (const header of headers) {
    const name = header.split("/").at(-1)!;
    await Deno.copyFile(`${sourceDir}/${header}`, `${dest}/include/${name}`);
  }
}

async function copyDir(from: string, to: string): Promise<void> {
  await Deno.mkdir(to, { recursive: true });
  for await (const entry of Deno.readDir(from)) {
    const src = `${from}/${entry.name}`;
    const dst = `${to}/${entry.name}`;
    if (entry.isDirectory) await copyDir(src, dst);
    else if (entry.isSymlink) {
      await Deno.remove(dst).catch(() => {});
      await Deno.symlink(await Deno.readLink(src), dst);
    } else await Deno.copyFile(src, dst);
  }
}

/**
 * Replaces `dest` with the build in `dist`. Only a directory this tool installed (it has our
 * manifest.json) or an empty/missing one is replaced, so a mistyped --lib-dir never wipes
 * someone's directory.
 */
async function installInto(dist: string, manifest: NativeManifest, dest: string): Promise<void> {
  if (await exists(dest)) {
    const ours = await exists(`${dest}/manifest.json`);
    let empty = true;
    for await (const _ of Deno.readDir(dest)) {
      empty = false;
      break;
    }
    if (!ours && !empty) {
      throw new Error(
        `${dest} is not empty and has no manifest.json from this tool: refusing to replace it ` +
          `(pick an empty or new directory for --lib-dir)`,
      );
    }
    await Deno.remove(dest, { recursive: true });
  }
  await copyDir(dist, dest);
  await Deno.writeTextFile(`${dest}/manifest.json`, JSON.stringify(manifest, null, 2) + "\n");
}

/** Uses libraries someone already built: checks they are there and installs them. */
async function useExistingLibraries(fromDir: string, dest: string): Promise<void> {
  if ((await Deno.realPath(fromDir)) === (await Deno.realPath(dest).catch(() => null))) {
    throw new Error(
      `--from and the install directory are both ${dest}: set SMOLVLM_LIB_DIR instead`,
    );
  }
  for (const lib of ["libllama.so", "libmtmd.so"]) {
    if (!(await exists(`${fromDir}/${lib}`))) {
      throw new Error(`${fromDir} has no ${lib}; point --from at llama.cpp's build/bin`);
    }
  }
  const manifest: NativeManifest = {
    key: `external:${fromDir}`,
    commit: "unknown",
    options: ["external"],
    sourceDir: null,
    builtAt: new Date().toISOString(),
    portable: await hasCpuVariants(fromDir),
    cuda: await exists(`${fromDir}/libggml-cuda.so`),
  };
  await installInto(fromDir, manifest, dest);
  log(`installed libraries from ${fromDir} into ${dest}`);
}

/** A GGML_BACKEND_DL build ships its CPU backend as libggml-cpu-<variant>.so files. */
async function hasCpuVariants(dir: string): Promise<boolean> {
  for await (const entry of Deno.readDir(dir)) {
    if (/^libggml-cpu-.+\.so$/.test(entry.name)) return true;
  }
  return false;
}

/** Builds (or takes from the cache) the libraries for `options` and installs them in `dest`. */
export async function buildNative(
  options: BuildOptions,
  dest: string = NATIVE_LIB_DIR,
): Promise<NativeManifest> {
  const cache = cacheRoot();
  const sourceDir = await ensureSource(cache);
  const defs = await cmakeDefinitions(options);
  const key = await buildKey(defs);
  const installed = await readInstalledManifest(dest).catch(() => null);
  const dist = `${cache}/dist/${key}`;
  const fresh = !options.force && !options.configureOnly;
  if (fresh && installed?.key === key && await exists(`${dest}/libmtmd.so`)) {
    log(`up to date (${key}) in ${dest}`);
    return installed;
  }
  const manifest: NativeManifest = {
    key,
    commit: PINNED.commit,
    options: defs,
    sourceDir,
    builtAt: new Date().toISOString(),
    portable: options.portable,
    cuda: options.cuda,
  };
  if (!fresh || !(await exists(`${dist}/manifest.json`))) {
    const buildDir = `${cache}/build/${key}`;
    log(
      options.configureOnly
        ? `configuring llama.cpp (${key})`
        : `building llama.cpp (${key}); this takes about 5 minutes on 2 cores`,
    );
    log(`options: ${defs.join(" ")}`);
    await run("cmake", ["-S", sourceDir, "-B", buildDir, ...defs.map((d) => `-D${d}`)], {
      quiet: true,
    });
    if (options.configureOnly) {
      log(`configured ${buildDir} (--configure-only: nothing built or installed)`);
      return manifest;
    }
    await run("cmake", [
      "--build",
      buildDir,
      "--config",
      "Release",
      "-j",
      String(options.jobs),
      "--target",
      ...TARGETS,
    ]);
    await Deno.remove(dist, { recursive: true }).catch(() => {});
    await installTree(`${buildDir}/bin`, sourceDir, dist);
    await Deno.writeTextFile(`${dist}/manifest.json`, JSON.stringify(manifest, null, 2) + "\n");
  } else {
    log(`using cached build ${dist}`);
  }
  await installInto(dist, manifest, dest);
  log(`installed ${key} into ${dest}`);
  return manifest;
}

/** A directory with llama.cpp's libraries that this tool did not install (no manifest.json). */
async function isExternalLibraryDir(dir: string): Promise<boolean> {
  return await exists(`${dir}/libllama.so`) && !(await exists(`${dir}/manifest.json`));
}

/**
 * A plain `native` (what `./run serve` runs first) asks for "a build", not for the default one:
 * libraries installed with --from, or a portable or CUDA build, already in `dest` stay. True
 * when they do; throws for a portable or CUDA build of another llama.cpp commit (rebuilding it
 * needs its own flags).
 */
async function keepOtherBuild(dest: string): Promise<boolean> {
  const installed = await readInstalledManifest(dest).catch(() => null);
  if (!installed || !(await exists(`${dest}/libmtmd.so`))) return false;
  if (installed.sourceDir === null) {
    log(`using the libraries installed in ${dest} with --from`);
    return true;
  }
  if (!(installed.portable || installed.cuda)) return false;
  const kind = [installed.portable && "portable", installed.cuda && "CUDA"].filter(Boolean)
    .join(" ");
  if (installed.commit !== PINNED.commit) {
    throw new Error(
      `${dest} holds a ${kind} build of llama.cpp ${installed.commit.slice(0, 12)}, not the ` +
        `pinned ${PINNED.commit.slice(0, 12)}: rebuild it with its flags (\`./run native ` +
        `${installed.cuda ? "--cuda " : ""}${installed.portable ? "--portable " : ""}--lib-dir ` +
        `${dest}\`), or remove ${dest} and run \`./run native\` for the default CPU build`,
    );
  }
  log(
    `using the ${kind} build in ${dest} (${installed.key}); remove ${dest} and run ` +
      `\`./run native\` for the default CPU build`,
  );
  return true;
}

export async function runNative(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      cuda: { type: "boolean", default: false },
      "cuda-arch": { type: "string", default: "80;86;89;90" },
      "cublas-dir": { type: "string" },
      "configure-only": { type: "boolean", default: false },
      portable: { type: "boolean", default: false },
      "lib-dir": { type: "string" },
      from: { type: "string" },
      jobs: { type: "string" },
      force: { type: "boolean", default: false },
    },
  });
  const envDir = Deno.env.get("SMOLVLM_LIB_DIR") || undefined;
  const dest = values["lib-dir"] ?? envDir ?? NATIVE_LIB_DIR;
  try {
    if (values.from) {
      await useExistingLibraries(values.from, dest);
      return 0;
    }
    if (!values["lib-dir"] && envDir && await isExternalLibraryDir(envDir)) {
      // The loader reads SMOLVLM_LIB_DIR directly: libraries built elsewhere are used in place.
      log(`using the libraries in SMOLVLM_LIB_DIR=${envDir} (not built by this tool)`);
      return 0;
    }
    const kindAsked = values.cuda || values.portable || values.force || values["configure-only"];
    if (!kindAsked && await keepOtherBuild(dest)) return 0;
    await buildNative({
      cuda: values.cuda,
      cudaArch: values["cuda-arch"],
      cublasDir: values["cublas-dir"],
      configureOnly: values["configure-only"],
      portable: values.portable,
      jobs: Number(values.jobs ?? navigator.hardwareConcurrency),
      force: values.force,
    }, dest);
    return 0;
  } catch (error) {
    console.error(`native: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
}
