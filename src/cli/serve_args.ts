/**
 * `serve`'s command line: the options table, the usage text and the resolution of flags + config
 * file into one ServiceConfig. Shared by `main.ts serve` and the launcher that derives the exact
 * Deno permission flags from the same arguments (tools/launch/), so both read them identically.
 *
 * @module
 */
import { parseArgs } from "node:util";
import {
  applyOverrides,
  ConfigError,
  type ConfigOverrides,
  defaultServiceConfig,
  loadConfigFile,
  REPO_ROOT,
  type ServiceConfig,
} from "../config/service_config.ts";
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
  timeout: { type: "string" },
  "max-queue": { type: "string" },
  parallel: { type: "string" },
  "context-size": { type: "string" },
  threads: { type: "string" },
  "max-image-size": { type: "string" },
  "max-tokens": { type: "string" },
  "api-key": { type: "string" },
  "allow-image-host": { type: "string", multiple: true },
  "shutdown-grace": { type: "string" },
  "static-dir": { type: "string" },
  "log-dir": { type: "string" },
  "no-log-file": { type: "boolean" },
  "log-level": { type: "string" },
  "max-body-bytes": { type: "string" },
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
  --timeout SECONDS     per-request time limit (default 60): reading, image processing and
                        generation count; waiting in the engine's queue does not (a full
                        queue answers 429 with Retry-After at once instead)
  --max-queue N         requests allowed to wait for the engine (default 8)
  --parallel N          generations decoded together, continuous batching (default 1; config
                        inference.parallel; the seed's inference.batch_size is its older name)
  --context-size N      context window in tokens (default 4096)
  --threads N           CPU threads (default: all cores)
  --max-image-size PX   longest image side for tiling (default 1024)
  --max-tokens N        default completion budget (default 256)
  --api-key KEY         require "Authorization: Bearer KEY" on /v1/* (or env SMOLVLM_API_KEY)
  --allow-image-host H  allow http(s) image URLs from host H (repeatable; ./run grants the net access)
  --shutdown-grace S    seconds in-flight requests get on SIGTERM (default 10)
  --static-dir DIR      frontend directory (default static/)
  --log-dir DIR         log directory (default logs/); --no-log-file for console only
  --log-level LEVEL     debug|info|warning|error (default info)`;

/** Where `--demo` looks for the tiny synthetic model. */
export const DEMO_DIR = `${REPO_ROOT}/tests/fixtures/generated/tiny`;

/** Bad command-line usage (exit code 2). */
export class UsageError extends Error {}

function num(name: string, v: string | undefined, opts: { int?: boolean; min?: number } = {}) {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || (opts.int && !Number.isInteger(n)) || n < (opts.min ?? 0)) {
    throw new UsageError(
      `--${name} must be a ${opts.int ? "whole " : ""}number >= ${opts.min ?? 0}, got '${v}'`,
    );
  }
  return n;
}

function envKey(): string | undefined {
  try {
    return Deno.env.get("SMOLVLM_API_KEY") || undefined;
  } catch {
    return undefined;
  }
}

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

export async function resolveServeConfig(args: string[]): Promise<ServiceConfig | "help"> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: false,
      options: SERVE_OPTIONS,
    });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const v = parsed.values;
  if (v.help) return "help";
  const base = v.config ? await loadConfigFile(v.config) : defaultServiceConfig();
  const level = v["log-level"];
  if (level !== undefined && !["debug", "info", "warning", "error"].includes(level)) {
    throw new UsageError(`--log-level must be debug, info, warning or error`);
  }
  const o: ConfigOverrides = {
    host: v.host,
    port: num("port", v.port, { int: true }),
    timeoutSeconds: num("timeout", v.timeout, { min: 0.001 }),
    modelPath: v.model,
    mmprojPath: v.mmproj,
    demo: v.demo,
    maxQueue: num("max-queue", v["max-queue"], { int: true }),
    parallel: num("parallel", v.parallel, { int: true, min: 1 }),
    contextSize: num("context-size", v["context-size"], { int: true, min: 1 }),
    threads: num("threads", v.threads, { int: true, min: 1 }),
    maxImageSize: num("max-image-size", v["max-image-size"], { int: true, min: 64 }),
    apiKey: v["api-key"] ?? envKey(),
    allowImageHosts: v["allow-image-host"],
    shutdownGraceSeconds: num("shutdown-grace", v["shutdown-grace"]),
    staticDir: v["static-dir"],
    logDir: v["log-dir"],
    maxBodyBytes: num("max-body-bytes", v["max-body-bytes"], { int: true, min: 1 }),
    logLevel: level as ServiceConfig["logLevel"] | undefined,
  };
  let config = applyOverrides(base, o);
  const maxTokens = num("max-tokens", v["max-tokens"], { int: true, min: 1 });
  if (maxTokens !== undefined) config = { ...config, defaultMaxTokens: maxTokens };
  if (v["no-log-file"]) config = { ...config, logDir: "" };

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
  // fetched here: `./run serve` pulls it first, in a subprocess with network access.
  if (!config.modelPath || !isLocalModelPath(config.modelPath)) {
    let cached;
    try {
      cached = await resolveCachedModel(config.modelPath ?? DEFAULT_MODEL_SPEC, hubEnv());
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
  await checkModelFile(config.modelPath!, "model file");
  if (config.mmprojPath) await checkModelFile(config.mmprojPath, "mmproj file");
  return config;
}
