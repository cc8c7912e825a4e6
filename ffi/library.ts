/**
 * Opens libggml, libggml-base, libllama and libmtmd once per process, and registers ggml's
 * backends. The directory is SMOLVLM_LIB_DIR when set, else native/lib/ next to this repo (where
 * `deno task native` installs the build).
 */
import { NATIVE_LIB_DIR } from "../native/manifest.ts";
import { type CpuBackendFunctions, findCpuBackend } from "./cpu_backend.ts";
import { ggmlBaseSymbols } from "./ggml_base_symbols.ts";
import { ggmlSymbols } from "./ggml_symbols.ts";
import { llamaSymbols } from "./llama_symbols.ts";
import { mtmdSymbols } from "./mtmd_symbols.ts";

export type LlamaLib = Deno.DynamicLibrary<typeof llamaSymbols>["symbols"];
export type MtmdLib = Deno.DynamicLibrary<typeof mtmdSymbols>["symbols"];
export type GgmlBaseLib = Deno.DynamicLibrary<typeof ggmlBaseSymbols>["symbols"];
export type GgmlLib = Deno.DynamicLibrary<typeof ggmlSymbols>["symbols"];

export interface NativeLibraries {
  readonly dir: string;
  readonly llama: LlamaLib;
  readonly mtmd: MtmdLib;
  readonly ggml: GgmlLib;
  readonly ggmlBase: GgmlBaseLib;
  /** The CPU backend's functions (from whichever CPU variant is loaded); null without one. */
  readonly cpu: CpuBackendFunctions | null;
  /** True when the backends were loaded from `dir` at run time (a GGML_BACKEND_DL build). */
  readonly dynamicBackends: boolean;
}

export class NativeLibraryError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "NativeLibraryError";
  }
}

const SUFFIX = Deno.build.os === "darwin" ? "dylib" : Deno.build.os === "windows" ? "dll" : "so";

function libraryDir(): string {
  let fromEnv: string | undefined;
  try {
    fromEnv = Deno.env.get("SMOLVLM_LIB_DIR");
  } catch (error) {
    // No --allow-env for it: the default directory is the only choice.
    if (!(error instanceof Deno.errors.NotCapable)) throw error;
  }
  return fromEnv ?? NATIVE_LIB_DIR;
}

function open<S extends Deno.ForeignLibraryInterface>(
  path: string,
  symbols: S,
): Deno.DynamicLibrary<S> {
  try {
    return Deno.dlopen(path, symbols);
  } catch (error) {
    if (error instanceof Deno.errors.PermissionDenied || error instanceof Deno.errors.NotCapable) {
      throw error;
    }
    throw new NativeLibraryError(
      `cannot load ${path}: ${error instanceof Error ? error.message : error}\n` +
        `  tried: ${path} (SMOLVLM_LIB_DIR=${Deno.env.get("SMOLVLM_LIB_DIR") ?? "unset"})\n` +
        `  fix: run \`./run native\` to build llama.cpp into native/lib, or set ` +
        `SMOLVLM_LIB_DIR to a directory with libllama.${SUFFIX} and libmtmd.${SUFFIX}`,
      { cause: error },
    );
  }
}

let loaded: NativeLibraries | null = null;

/** Loads the libraries and initialises llama's backends; later calls return the same handles. */
export function loadNativeLibraries(): Promise<NativeLibraries> {
  try {
    return Promise.resolve(openLibraries());
  } catch (error) {
    return Promise.reject(error);
  }
}

function openLibraries(): NativeLibraries {
  if (loaded) return loaded;
  const dir = libraryDir();
  const ggml = open(`${dir}/libggml.${SUFFIX}`, ggmlSymbols).symbols;
  const ggmlBase = open(`${dir}/libggml-base.${SUFFIX}`, ggmlBaseSymbols).symbols;
  // A build with linked-in backends registers them when the registry is first touched; a
  // GGML_BACKEND_DL (portable) build starts empty and ggml picks the best CPU variant (and any
  // GPU backend) from the directory. Loading twice (a second engine) registers nothing twice.
  const dynamicBackends = ggml.ggml_backend_reg_count() === 0n;
  if (dynamicBackends) ggml.ggml_backend_load_all_from_path(cString(dir));
  if (ggml.ggml_backend_dev_count() === 0n) {
    throw new NativeLibraryError(
      `no ggml backend could be loaded from ${dir} (no libggml-cpu*.${SUFFIX} this CPU can run)\n` +
        `  fix: rebuild with \`./run native --portable\`, or \`./run native\` on this machine`,
    );
  }
  const cpu = findCpuBackend({
    regByName: (name) => ggml.ggml_backend_reg_by_name(name),
    procAddress: (reg, name) => ggmlBase.ggml_backend_reg_get_proc_address(reg, name),
  });
  const llama = open(`${dir}/libllama.${SUFFIX}`, llamaSymbols).symbols;
  const mtmd = open(`${dir}/libmtmd.${SUFFIX}`, mtmdSymbols).symbols;
  llama.llama_backend_init();
  loaded = { dir, llama, mtmd, ggml, ggmlBase, cpu, dynamicBackends };
  return loaded;
}

/** The libraries loadNativeLibraries() opened; throws when it has not run yet. */
export function loadedLibraries(): NativeLibraries {
  if (loaded === null) throw new NativeLibraryError("native libraries are not loaded yet");
  return loaded;
}

const encoder = new TextEncoder();

/** A NUL-terminated UTF-8 copy of `text` for `const char *` parameters. */
export function cString(text: string): Uint8Array<ArrayBuffer> {
  const bytes = encoder.encode(text);
  const out = new Uint8Array(bytes.length + 1);
  out.set(bytes);
  return out;
}

/** Reads a NUL-terminated C string; null for a NULL pointer. */
export function readCString(pointer: Deno.PointerValue): string | null {
  return pointer === null ? null : Deno.UnsafePointerView.getCString(pointer);
}
