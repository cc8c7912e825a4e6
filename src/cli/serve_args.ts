/**
 * `serve`'s command line: the options table, the usage text and the resolution of flags + config
 * file into one ServiceConfig. Shared by `main.ts serve` and the launcher that derives the exact
 * Deno permission flags from the same arguments (tools/launch/), so both read them identically.
 *
 * @module
 */
import { parseArgs } from "node:util";
import {
  type ConfigInputs,
  processEnv,
  resolveConfig,
  type ResolvedServiceConfig,
} from "../config/resolve.ts";
import { ConfigError, REPO_ROOT, type ServiceConfig } from "../config/service_config.ts";
import { hubEnv } from "../models/hf_cache.ts";
import { resolveCachedModel } from "../models/resolve.ts";
import { DEFAULT_MODEL_SPEC, isLocalModelPath, ModelSpecError } from "../models/spec.ts";

/** serve's flags, for node:util parseArgs (the launcher parses with the same table). */
export const SERVE_OPTIONS = {
  help: { type: "boolean", short: "h" },
  model: { type: "string" },
  mmproj: { type: "string" },
  demo: { type: "boolean" },
  config: { type: "string" },
  host: { type: "string" },
  port: { type: "string" },
  "allowed-host": { type: "string", multiple: true },
  timeout: { type: "string" },
  "max-queue": { type: "string" },
  parallel: { type: "string" },
  "context-size": { type: "string" },
  threads: { type: "string" },
  "gpu-layers": { type: "string" },
  "max-image-size": { type: "string" },
  "max-tokens": { type: "string" },
  "api-key": { type: "string" },
  "allow-image-host": { type: "string", multiple: true },
  "shutdown-grace": { type: "string" },
  "reload-grace": { type: "string" },
  "static-dir": { type: "string" },
  "log-dir": { type: "string" },
  "no-log-file": { type: "boolean" },
  "log-level": { type: "string" },
  "max-body-bytes": { type: "string" },
  "max-decoder-memory-mb": { type: "string" },
  verbose: { type: "boolean", short: "v" },
  "perf-log-interval": { type: "string" },
} as const;

export const SERVE_USAGE =
  `usage: ./run serve [--model M.gguf --mmproj P.gguf | --model REPO:QUANT | --demo] [options]
  --model PATH          text model GGUF (any path; ./run grants read access to exactly this file)
  --model NAME          a Hugging Face GGUF repo with a quantization (ggml-org/SmolVLM-500M-Instruct-GGUF:Q8_0)
                        or an alias (smolvlm-256m, smolvlm-500m, smolvlm-2.2b, smolvlm2-256m-video,
                        smolvlm2-500m-video, smolvlm2-2.2b; :QUANT, default Q8_0); ./run downloads it
                        into the Hugging Face cache on first use. Default: ${DEFAULT_MODEL_SPEC}
  --mmproj PATH         vision projector GGUF (without it the server refuses images)
  --demo                serve the tiny synthetic model (random weights; written on first use)
  --config FILE         JSON config (seed shape: model_name, model_id, port, timeout, inference, ...)
  --host HOST           bind address (default 127.0.0.1; 0.0.0.0 for all interfaces)
  --port N              port (default 8000; 0 picks a free one)
  --allowed-host NAME   also answer requests whose Host is NAME (repeatable or comma-separated;
                        *.example.com: its subdomains; *: any). Without it only localhost, IP
                        addresses and the --host name are answered: 403 host_not_allowed to
                        anything else (DNS-rebinding protection; config server.allowed_hosts)
  --timeout SECONDS     per-request time limit (default 60): reading, image processing and
                        generation count; waiting in the engine's queue does not (a full
                        queue answers 429 with Retry-After at once instead)
  --max-queue N         requests allowed to wait for the engine (default 8)
  --parallel N          generations decoded together, continuous batching (default 1; config
                        inference.parallel; the seed's inference.batch_size is its older name)
  --context-size N      context window in tokens (default 4096)
  --threads N           CPU threads (default: all cores)
  --gpu-layers N        text-model layers on the GPU: -1 all, 0 none (default: all, and the
                        vision encoder, when a GPU is present; config inference.gpu_layers)
  --max-image-size PX   longest image side for tiling (default 1024)
  --max-tokens N        default completion budget (default 256)
  --api-key KEY         require "Authorization: Bearer KEY" on /v1/* (or env SMOLVLM_API_KEY)
  --allow-image-host H  allow http(s) image URLs from host H (repeatable or comma-separated;
                        ./run grants the net access)
  --shutdown-grace S    seconds in-flight requests get on SIGTERM (default 10)
  --reload-grace S      seconds running generations get on a reload (SIGHUP, POST /admin/reload)
                        before they are stopped with 503 model_reloading (default 30)
  --static-dir DIR      frontend directory (default static/)
  --log-dir DIR         log directory (default logs/); --no-log-file for console only
  --log-level LEVEL     debug|info|warning|error (default info)
  --verbose, -v         detailed logs: debug level and llama.cpp's own log lines
  --perf-log-interval S seconds between performance log lines (default 60; 0 = off)
  --max-decoder-memory-mb MB
                        memory each ffmpeg/ffprobe child decoding a video_url may map (default
                        1024; config video.max_decoder_memory_mb): enforced by the kernel through
                        util-linux prlimit; a clip that needs more is a 422
Every option can also come from the config file and from an environment variable
(SMOLVLM_PORT, SMOLVLM_HOST, ...; SMOLVLM_CONFIG names the file): flags win over the
environment, which wins over the file. \`./run config [options]\` prints the result and
where each value came from.`;

/** Where `--demo` looks for the tiny synthetic model. */
export const DEMO_DIR = `${REPO_ROOT}/tests/fixtures/generated/tiny`;

/** Bad command-line usage (exit code 2). */
export class UsageError extends Error {}

/** Finds the model and mmproj GGUFs in a fixtures directory (names vary by preset/type). */
export async function findModelPair(dir: string): Promise<{ model: string; mmproj: string }> {
  const ggufs: string[] = [];
  try {
    for await (const e of Deno.readDir(dir)) {
      if (e.isFile && e.name.endsWith(".gguf")) ggufs.push(e.name);
    }
  } catch {
    throw new ConfigError("", `no model files in ${dir}; run \`./run fixtures\` first`);
  }
  ggufs.sort();
  const mmproj = ggufs.find((n) => n.startsWith("mmproj"));
  const model = ggufs.find((n) => !n.startsWith("mmproj"));
  if (!model || !mmproj) {
    throw new ConfigError(
      "",
      `${dir} lacks a model and an mmproj GGUF; run \`./run fixtures\``,
    );
  }
  return { model: `${dir}/${model}`, mmproj: `${dir}/${mmproj}` };
}

function absolute(p: string): string {
  return p.startsWith("/") ? p : `${Deno.cwd()}/${p}`;
}

/** Checks a model file is readable under the granted permissions; one-line errors. */
export async function checkModelFile(path: string, what: string): Promise<void> {
  const status = await Deno.permissions.query({ name: "read", path });
  if (status.state !== "granted") {
    throw new ConfigError(
      "",
      `${what} ${path} is outside the directories the server may read; start it with ` +
        `\`./run serve\`, which grants read access to exactly the files named, or put it ` +
        `under models/`,
    );
  }
  try {
    const info = await Deno.stat(path);
    if (!info.isFile) throw new ConfigError("", `${what} ${path} is not a file`);
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    throw new ConfigError("", `${what} ${path} does not exist`);
  }
}

/** What resolveServeConfig reads besides the arguments (tests inject an environment). */
export interface ServeConfigOptions {
  readonly env?: ConfigInputs["env"];
  /**
   * Check that the model files exist and are readable (default true). `config` only prints
   * the configuration and skips it.
   */
  readonly checkFiles?: boolean;
}

/** parseArgs reads "--gpu-layers -1" as two options; the value may be negative, so join them. */
function joinNegativeGpuLayers(args: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const next = args[i + 1];
    if (args[i] === "--gpu-layers" && next !== undefined && /^-\d+$/.test(next)) {
      out.push(`--gpu-layers=${next}`);
      i++;
    } else out.push(args[i]!);
  }
  return out;
}

/** Parses serve's arguments; --help → "help". Throws UsageError for unknown or bad flags. */
export function parseServeArgs(args: string[]) {
  try {
    return parseArgs({
      args: joinNegativeGpuLayers(args),
      allowPositionals: false,
      options: SERVE_OPTIONS,
    }).values;
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

export async function resolveServeConfig(
  args: string[],
  opts: ServeConfigOptions = {},
): Promise<ServiceConfig | "help"> {
  const resolved = await resolveServeConfigWithOrigins(args, opts);
  return resolved === "help" ? "help" : resolved.config;
}

/** resolveServeConfig, plus the effective document and where each value came from. */
export async function resolveServeConfigWithOrigins(
  args: string[],
  opts: ServeConfigOptions = {},
): Promise<ResolvedServiceConfig | "help"> {
  const v = parseServeArgs(args);
  if (v.help) return "help";
  const resolved = await resolveConfig({ flags: v, env: opts.env ?? processEnv });
  let config = resolved.config;

  if (config.demo) {
    if (config.modelPath) throw new UsageError("--demo and --model exclude each other");
    const pair = await findModelPair(DEMO_DIR);
    config = {
      ...config,
      modelPath: pair.model,
      mmprojPath: pair.mmproj,
      modelName: "smolvlm-tiny-demo",
    };
  }
  // A hub model name (or none: the default) is looked up in the Hugging Face cache, never
  // fetched here: `./run serve` pulls it first, in a subprocess with network access. `config`
  // (no file checks) shows the name as given.
  if (!config.modelPath || !isLocalModelPath(config.modelPath)) {
    const spec = config.modelPath ?? config.smolvlmVersion ?? DEFAULT_MODEL_SPEC;
    if (opts.checkFiles === false) return { ...resolved, config: { ...config, modelPath: spec } };
    let cached;
    try {
      cached = await resolveCachedModel(spec, hubEnv());
    } catch (e) {
      if (e instanceof ModelSpecError) throw new UsageError(e.message);
      throw e;
    }
    config = {
      ...config,
      modelPath: cached.model,
      mmprojPath: config.mmprojPath ?? cached.mmproj,
    };
  }
  config = {
    ...config,
    modelPath: absolute(config.modelPath!),
    mmprojPath: config.mmprojPath ? absolute(config.mmprojPath) : null,
  };
  if (opts.checkFiles !== false) {
    await checkModelFile(config.modelPath!, "model file");
    if (config.mmprojPath) await checkModelFile(config.mmprojPath, "mmproj file");
  }
  return { ...resolved, config };
}
