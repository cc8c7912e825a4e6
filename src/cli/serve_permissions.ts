/**
 * The exact Deno permission flags the `serve` task runs under (deny-by-default). deno.json's
 * `serve` task and the tests that spawn the server use this one list; paths are relative to
 * the repository root (the task's working directory).
 *
 * - net: bind the API on 0.0.0.0:8000 (the default public bind) or any port on loopback.
 *   http(s) image fetching needs its allow-listed hosts added here by the operator.
 * - read: the frontend, the model directories, the config directory, the native libraries,
 *   the image pipeline's worker modules and the two wasm codec packages it loads at run time.
 *   Not the repo root, not the rest of src/, not $HOME.
 * - write: logs/ only.
 * - ffi: unscoped `--allow-ffi`. Deno 2.9.6 refuses every pointer operation
 *   (Deno.UnsafePointer.of/create/value, UnsafePointerView, UnsafeCallback) unless ffi is
 *   granted without a path list, and llama.cpp cannot be driven without them; measured with
 *   `--allow-ffi=native/lib`: dlopen works, then UnsafePointer.create throws NotCapable. Which
 *   libraries get loaded is still fixed by the code (native/lib, or SMOLVLM_LIB_DIR).
 * - env: the native library override and the API key, nothing else.
 *
 * @module
 */

export const SERVE_NET: readonly string[] = ["0.0.0.0:8000", "127.0.0.1", "localhost"];

export const SERVE_READ: readonly string[] = [
  "static",
  "models",
  "config",
  "tests/fixtures/generated",
  "native/lib",
  // The image pipeline: its worker modules (src/image/worker.ts and what it imports), and the
  // wasm decoders codecs.ts reads at run time; createRequire's resolution walks
  // src/image/node_modules and src/node_modules (which do not exist) on the way.
  "src/image",
  "src/node_modules",
  "node_modules/.deno/imagescript@1.3.1",
  "node_modules/.deno/@cwasm+webp@0.1.5",
];

export const SERVE_WRITE: readonly string[] = ["logs"];
/** Empty: unscoped --allow-ffi (see above). Put "native/lib" here once Deno scopes pointer ops. */
export const SERVE_FFI: readonly string[] = [];
export const SERVE_ENV: readonly string[] = ["SMOLVLM_LIB_DIR", "SMOLVLM_API_KEY"];

/** The flags, in the order the task writes them. */
export const SERVE_PERMISSION_FLAGS: readonly string[] = [
  `--allow-net=${SERVE_NET.join(",")}`,
  `--allow-read=${SERVE_READ.join(",")}`,
  `--allow-write=${SERVE_WRITE.join(",")}`,
  SERVE_FFI.length ? `--allow-ffi=${SERVE_FFI.join(",")}` : "--allow-ffi",
  `--allow-env=${SERVE_ENV.join(",")}`,
];

/** The whole task command line (for deno.json). */
export const SERVE_TASK = `deno run ${SERVE_PERMISSION_FLAGS.join(" ")} main.ts serve`;

if (import.meta.main) console.log(SERVE_TASK);
