/** Where the native build is installed in the repo, and what it records about itself. */

/** native/lib/ — the FFI loader's default and the serve task's --allow-ffi directory. */
export const NATIVE_LIB_DIR = new URL("./lib/", import.meta.url).pathname.replace(/\/$/, "");

export interface NativeManifest {
  /** Cache key: commit prefix + hash of the build options and compiler. */
  readonly key: string;
  readonly commit: string;
  /** The CMake definitions the build used. */
  readonly options: readonly string[];
  /** The llama.cpp checkout (headers, vocab files for fixtures); null for external libraries. */
  readonly sourceDir: string | null;
  readonly builtAt: string;
  /** ggml's dynamic CPU backend variants: backends must be loaded from the library directory. */
  readonly portable: boolean;
  readonly cuda: boolean;
}

export async function readInstalledManifest(
  libDir: string = NATIVE_LIB_DIR,
): Promise<NativeManifest | null> {
  try {
    return JSON.parse(await Deno.readTextFile(`${libDir}/manifest.json`)) as NativeManifest;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw error;
  }
}
