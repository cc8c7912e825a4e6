/**
 * What the single binary does before it becomes `serve`: reads its own flags (the native
 * library cache), refuses what its baked-in permissions cannot honour (the demo model, a
 * static directory, image hosts), makes relative paths absolute against the working directory
 * (the service's own defaults are relative to the source tree, which a binary does not have),
 * extracts and verifies the native libraries, and switches the page to the embedded files.
 *
 * @module
 */
import { runServe } from "../cli/serve.ts";
import { resolveRelativePathsFrom } from "../config/service_config.ts";
import { type EmbeddedStaticFile, serveEmbeddedStatic } from "../http/static_files.ts";
import { extractNativeLibraries, NativeExtractionError } from "./extract.ts";
import type { NativePayload } from "./native_payload.ts";
import { BINARY_PATHS, CACHE_DIR_ENV } from "./permissions.ts";

export const BINARY_USAGE =
  `usage: smolvlm serve --model models/M.gguf --mmproj models/P.gguf [options]
  The single binary runs the service with its frontend and native libraries built in.
  It may read models/, .cache/huggingface/ and config/ and write logs/ and .cache/smolvlm-deno/
  under the directory it is started in (from your home directory these are the usual per-user
  places), listen on loopback or 0.0.0.0, and nothing else.
  --lib-cache DIR   where the native libraries are extracted (default .cache/smolvlm-deno, or
                    env ${CACHE_DIR_ENV}); it must lie inside .cache/smolvlm-deno
  Every other option is serve's (smolvlm serve --help), except --demo, --static-dir and
  --allow-image-host, which the binary cannot grant.`;

export class BinaryUsageError extends Error {}

const REFUSED: Readonly<Record<string, string>> = {
  "--demo": "the binary does not carry the demo model; put the GGUF files under models/ and " +
    "pass --model and --mmproj",
  "--static-dir": "the binary serves the frontend built into it",
  "--allow-image-host": "the binary has no outbound network grant; send images inline " +
    "(data: URLs) instead",
};

export interface PreparedArgs {
  /** Arguments for `serve`. */
  readonly serveArgs: string[];
  /** Absolute directory for the native library cache. */
  readonly cacheDir: string;
}

function absolute(path: string, cwd: string): string {
  return path.startsWith("/") ? path : `${cwd}/${path}`;
}

function optionName(arg: string): string {
  const eq = arg.indexOf("=");
  return eq > 0 ? arg.slice(0, eq) : arg;
}

/** Splits the binary's arguments (after `serve`) into serve's arguments and the cache dir. */
export function prepareServeArgs(
  args: readonly string[],
  cwd: string,
  cacheFromEnv: string | undefined,
): PreparedArgs {
  const serveArgs: string[] = [];
  let cacheDir = cacheFromEnv || BINARY_PATHS.cache;
  let logDirGiven = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const name = optionName(arg);
    const inline = name === arg ? undefined : arg.slice(name.length + 1);
    const reason = REFUSED[name];
    if (reason) throw new BinaryUsageError(`${name}: ${reason}`);
    if (name === "--lib-cache" || name === "--log-dir") {
      const value = inline ?? args[++i];
      if (value === undefined || value === "") {
        throw new BinaryUsageError(`${name} needs a directory`);
      }
      if (name === "--lib-cache") cacheDir = value;
      else {
        logDirGiven = true;
        serveArgs.push("--log-dir", absolute(value, cwd));
      }
      continue;
    }
    if (name === "--no-log-file") logDirGiven = true;
    serveArgs.push(arg);
  }
  if (!logDirGiven) serveArgs.push("--log-dir", `${cwd}/${BINARY_PATHS.logs}`);
  return { serveArgs, cacheDir: absolute(cacheDir, cwd) };
}

function envCacheDir(): string | undefined {
  try {
    return Deno.env.get(CACHE_DIR_ENV) || undefined;
  } catch {
    return undefined;
  }
}

/** Runs the binary; returns the exit code. */
export async function runBinary(
  args: readonly string[],
  payload: NativePayload | null,
  staticFiles: Readonly<Record<string, EmbeddedStaticFile>>,
): Promise<number> {
  const [command, ...rest] = args;
  if (command === undefined || command === "help" || command === "--help" || command === "-h") {
    console.log(BINARY_USAGE);
    return command === undefined ? 2 : 0;
  }
  if (command !== "serve") {
    console.error(`unknown command '${command}'\n${BINARY_USAGE}`);
    return 2;
  }
  if (rest.includes("--help") || rest.includes("-h")) return await runServe(["--help"]);
  let prepared: PreparedArgs;
  try {
    prepared = prepareServeArgs(rest, Deno.cwd(), envCacheDir());
  } catch (e) {
    if (!(e instanceof BinaryUsageError)) throw e;
    console.error(`serve: ${e.message}\n${BINARY_USAGE}`);
    return 2;
  }
  if (payload === null) {
    console.error(
      "serve: this entry module carries no native libraries; build the binary with " +
        "`deno task compile` (the source tree runs with `./run serve`)",
    );
    return 1;
  }
  const writable = await Deno.permissions.query({ name: "write", path: prepared.cacheDir });
  if (writable.state !== "granted") {
    console.error(
      `serve: the native library cache ${prepared.cacheDir} is outside what the binary may ` +
        `write; use a directory inside ${Deno.cwd()}/${BINARY_PATHS.cache}`,
    );
    return 1;
  }
  let dir: string;
  try {
    const extraction = await extractNativeLibraries(payload, prepared.cacheDir);
    dir = extraction.dir;
    if (extraction.replaced) console.error(`serve: replaced ${dir}: ${extraction.replaced}`);
    if (extraction.extracted) console.error(`serve: native libraries extracted to ${dir}`);
  } catch (e) {
    if (!(e instanceof NativeExtractionError || e instanceof Deno.errors.NotCapable)) throw e;
    console.error(`serve: ${e.message}`);
    return 1;
  }
  // The engine's worker thread opens the libraries; the environment reaches every thread.
  Deno.env.set("SMOLVLM_LIB_DIR", dir);
  serveEmbeddedStatic(staticFiles);
  // A config file's relative paths (log_dir, auth.api_keys_file) mean the working directory.
  resolveRelativePathsFrom(Deno.cwd());
  return await runServe(prepared.serveArgs);
}
