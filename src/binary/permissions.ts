/**
 * The single binary's baked-in Deno flags, one definition for `deno task compile`
 * (tools/compile.ts) and for the entry-module test that runs the same entry under `deno run`.
 *
 * Deno bakes permission flags into a compiled binary as the strings given (no `$HOME` or
 * `$XDG_CACHE_HOME` expansion) and resolves relative entries against the working directory
 * when the binary starts. So the allow-lists are paths relative to the directory the binary
 * is started in — its deployment directory (a service's WorkingDirectory); started from a
 * user's home they are exactly the per-user defaults (`~/.cache/smolvlm-deno`,
 * `~/.cache/huggingface`, `~/models`):
 *
 * - read:  `.cache/smolvlm-deno` (the extracted native libraries), `models`,
 *          `.cache/huggingface` (the Hugging Face cache), `config`
 * - write: `.cache/smolvlm-deno` (extraction), `logs`
 * - net:   loopback and 0.0.0.0 (the listen address, any port); no outbound hosts, so image
 *          URLs (`--allow-image-host`) are refused by the binary
 * - env:   the API key, the cache-directory override, and SMOLVLM_LIB_DIR (the binary sets it
 *          to the extraction directory for the engine's worker thread)
 * - ffi:   unscoped, as for `./run serve` (src/cli/permissions.ts says why)
 *
 * Deno adds one grant itself when a compiled binary starts: read access to its embedded file
 * system (cli/rt/run.rs, grant_vfs_read_access), where the worker threads' modules live. Under
 * `deno run` the copied entry tree plays that role, so `embeddedRoot` names it.
 *
 * @module
 */
import { permissionFlags, SERVE_ENV } from "../cli/permissions.ts";

/** Paths relative to the binary's working directory. */
export const BINARY_PATHS = {
  cache: ".cache/smolvlm-deno",
  models: "models",
  huggingFace: ".cache/huggingface",
  config: "config",
  logs: "logs",
} as const;

/** Overrides the native-library cache directory (must lie inside a granted path). */
export const CACHE_DIR_ENV = "SMOLVLM_CACHE_DIR";

export const BINARY_NET: readonly string[] = ["127.0.0.1", "localhost", "0.0.0.0"];

/**
 * Non-permission runtime flags: the native libraries are embedded as `bytes` imports, still
 * behind `--unstable-raw-imports` in Deno 2.9.6 (text imports are stable); and the request
 * signal that aborts only when a client leaves (deno.json's `unstable`, spelled out here too).
 */
export const BINARY_RUNTIME_FLAGS: readonly string[] = [
  "--unstable-raw-imports",
  "--unstable-no-legacy-abort",
];

/**
 * The permission flags baked into the binary; `embeddedRoot` stands for the read grant Deno
 * adds for a compiled binary's embedded files (pass it only when running the entry module
 * under `deno run`).
 */
export function binaryPermissionFlags(opts: { embeddedRoot?: string } = {}): string[] {
  return permissionFlags({
    net: BINARY_NET,
    read: [
      BINARY_PATHS.cache,
      BINARY_PATHS.models,
      BINARY_PATHS.huggingFace,
      BINARY_PATHS.config,
      ...(opts.embeddedRoot ? [opts.embeddedRoot] : []),
    ],
    write: [BINARY_PATHS.cache, BINARY_PATHS.logs],
    env: [...SERVE_ENV, CACHE_DIR_ENV],
    ffi: true,
  });
}
