/**
 * The service's configuration: a seed-shaped JSON file (`--config file.json`), overridden by
 * command-line flags, validated with zod. Snake_case in the file, camelCase in code.
 *
 * File shape (every key optional):
 * ```json
 * {
 *   "model_name": "SmolVLM2-500M-Video",
 *   "model_id": "smolvlm",
 *   "host": "127.0.0.1",
 *   "port": 8000,
 *   "server": { "allowed_hosts": [] },
 *   "timeout": 60,
 *   "model_path": "models/smolvlm.gguf",
 *   "smolvlm_version": "ggml-org/SmolVLM-500M-Instruct-GGUF",
 *   "mmproj_path": "models/mmproj.gguf",
 *   "inference": { "batch_size": 1, "expected_response_time": 10.0, "max_image_size": 1024,
 *                  "context_size": 4096, "threads": 2, "max_queue": 8, "max_tokens": 256 },
 *   "image_processing": { "smart_crop": true, "size": [1024, 1024], ... },
 *   "api_key": null,
 *   "auth": { "api_keys": [], "api_keys_file": null, "protect_health": false },
 *   "cors": { "allow_origins": [] },
 *   "rate_limits": { "window": 60, "per_key": 0, "per_address": 0, "concurrent_per_key": 0 },
 *   "limits": { "max_images": 8, "max_tokens": 4096, "max_prompt_chars": 100000, ... },
 *   "max_body_bytes": 26214400,
 *   "shutdown_grace": 10,
 *   "reload_grace": 30,
 *   "remote_images": { "allow_hosts": [], "max_bytes": 10485760, "timeout": 10 }
 * }
 * ```
 *
 * @module
 */
import { z } from "zod";
import { allowedHostEntry } from "./allowed_hosts.ts";
import type { Resolver } from "../http/remote_guard.ts";
import { type ImageConfig, parseImageConfigFile } from "../image/config.ts";
import { ImageConfigError } from "../image/errors.ts";
import { toVideoConfig, type VideoConfig, videoConfigSchema } from "../video/config.ts";

export const DEFAULT_MODEL_ID = "smolvlm";
export const DEFAULT_MODEL_NAME = "SmolVLM2-500M-Video";
/** Model ids accepted in requests besides `model_id` (the seed's names). */
export const SEED_MODEL_ALIASES: readonly string[] = [
  "SmolVLM2-500M-Video",
  "smolvlm2_500m_video",
];

const positiveInt = z.number().int().positive();
const positiveNumber = z.number().positive();
/**
 * Durations in seconds that become a timer: at most a day. A JS timer's range is 2^31-1 ms
 * (~24.8 days); past it setTimeout and AbortSignal.timeout fire after 1 ms and setInterval
 * every 1 ms, so a "very long" timeout would fail every request at once.
 */
const MAX_TIMER_SECONDS = 86_400;
const timerSeconds = positiveNumber.max(MAX_TIMER_SECONDS);

const remoteImagesSchema = z.object({
  allow_hosts: z.array(z.string().min(1)).default([]),
  max_bytes: positiveInt.default(10 * 1024 * 1024),
  timeout: timerSeconds.default(10),
});

const inferenceSchema = z.object({
  /** The seed's name for the number of generations served at once; `parallel` wins when set. */
  batch_size: positiveInt.default(1),
  /** Slots of the engine's continuous batching (one llama_decode packs them all). */
  parallel: positiveInt.max(64).optional(),
  expected_response_time: positiveNumber.default(10),
  max_image_size: positiveInt.default(1024),
  context_size: positiveInt.default(4096),
  threads: positiveInt.optional(),
  /** Text-model layers on the GPU (-1 all, 0 none); absent: all when a GPU is present. */
  gpu_layers: z.number().int().min(-1).optional(),
  max_queue: z.number().int().min(0).default(8),
  max_tokens: positiveInt.default(256),
  /**
   * Images of a realtime session (X-Session-Id) whose `detail` is "auto": "low" = one encoder
   * pass per frame (the frame as one 512 px image), "high" = tiles plus an overview.
   */
  session_image_detail: z.enum(["low", "high"]).default("low"),
});

/** API keys are bearer tokens: the characters RFC 6750 allows (hono/bearer-auth checks them). */
const apiKeySchema = z.string().regex(
  /^[A-Za-z0-9._~+/-]+=*$/,
  "an API key may hold only letters, digits and . _ ~ + / - (then = padding)",
);

const authSchema = z.object({
  api_keys: z.array(apiKeySchema).default([]),
  /** A file with one key per line (`#` starts a comment); read at startup. */
  api_keys_file: z.string().min(1).nullable().default(null),
  /** Require a key on /health too (the page stays open: browsers cannot send a bearer token). */
  protect_health: z.boolean().default(false),
});

const corsSchema = z.object({
  /** Origins allowed to call /v1/* from a browser; empty = CORS off (same-origin only). */
  allow_origins: z.array(
    z.string().regex(/^https?:\/\/[^/]+$|^\*$/, "an origin like https://example.com"),
  )
    .default([]),
});

const serverSchema = z.object({
  /**
   * Host names requests may be addressed to besides localhost, IP literals and `host`
   * (DNS-rebinding protection): `name`, `*.name`, or `*` for any.
   */
  allowed_hosts: z.array(allowedHostEntry).default([]),
});

/** 0 switches a limit off. */
const rateLimitsSchema = z.object({
  window: timerSeconds.default(60),
  per_key: z.number().int().min(0).default(0),
  per_address: z.number().int().min(0).default(0),
  concurrent_per_key: z.number().int().min(0).default(0),
});

/** The ceilings of what one request may cost; a request can only ask for less. */
const limitsSchema = z.object({
  max_images: z.number().int().min(0).default(8),
  max_tokens: positiveInt.default(4096),
  /** Characters of text over all messages. */
  max_prompt_chars: positiveInt.default(100_000),
  max_messages: positiveInt.default(256),
  max_stop: z.number().int().min(0).default(16),
  max_stop_chars: positiveInt.default(256),
  /** JSON schema of response_format: serialized size, nesting depth, nodes, enum values. */
  max_schema_bytes: positiveInt.default(64 * 1024),
  max_schema_depth: positiveInt.default(32),
  max_schema_nodes: positiveInt.default(4096),
  max_enum_values: positiveInt.default(256),
  /** The GBNF grammar generated from the schema. */
  max_grammar_bytes: positiveInt.default(256 * 1024),
});

const monitoringSchema = z.object({
  /** Seconds between performance log lines (requests, error rate, tokens/s, p50/p95); 0 = off. */
  perf_log_interval: z.number().min(0).max(MAX_TIMER_SECONDS).default(60),
});

/** The config file's schema (snake_case, seed-shaped). Unknown keys are ignored. */
export const configFileSchema = z.object({
  model_name: z.string().min(1).default(DEFAULT_MODEL_NAME),
  model_id: z.string().min(1).default(DEFAULT_MODEL_ID),
  host: z.string().min(1).default("127.0.0.1"),
  port: z.number().int().min(0).max(65535).default(8000),
  server: serverSchema.default(() => serverSchema.parse({})),
  timeout: timerSeconds.default(60),
  model_path: z.string().min(1).optional(),
  /** The seed's hub model name (`ggml-org/SmolVLM-500M-Instruct-GGUF[:QUANT]`); model_path wins. */
  smolvlm_version: z.string().min(1).optional(),
  mmproj_path: z.string().min(1).optional(),
  inference: inferenceSchema.default(() => inferenceSchema.parse({})),
  image_processing: z.record(z.string(), z.unknown()).optional(),
  /** Video sampling and the ceilings on one clip (src/video/config.ts). */
  video: videoConfigSchema.default(() => videoConfigSchema.parse({})),
  api_key: apiKeySchema.nullable().optional(),
  auth: authSchema.default(() => authSchema.parse({})),
  cors: corsSchema.default(() => corsSchema.parse({})),
  rate_limits: rateLimitsSchema.default(() => rateLimitsSchema.parse({})),
  limits: limitsSchema.default(() => limitsSchema.parse({})),
  max_body_bytes: positiveInt.default(25 * 1024 * 1024),
  shutdown_grace: z.number().min(0).max(MAX_TIMER_SECONDS).default(10),
  /**
   * Seconds a reload (SIGHUP, POST /admin/reload) lets running generations finish before it
   * stops them (503 model_reloading); at most a day (a timer's range).
   */
  reload_grace: z.number().min(0).max(MAX_TIMER_SECONDS).default(30),
  remote_images: remoteImagesSchema.default(() => remoteImagesSchema.parse({})),
  static_dir: z.string().min(1).optional(),
  log_dir: z.string().min(1).optional(),
  log_level: z.enum(["debug", "info", "warning", "error"]).default("info"),
  /** false: log to the console only (`--no-log-file`). */
  log_file: z.boolean().default(true),
  /** Detailed logs: debug level, and llama.cpp's own log lines (silent otherwise). */
  verbose: z.boolean().default(false),
  /** Serve the tiny synthetic model (`--demo`). */
  demo: z.boolean().default(false),
  monitoring: monitoringSchema.default(() => monitoringSchema.parse({})),
});

export type ConfigFile = z.infer<typeof configFileSchema>;

export interface RemoteImagesConfig {
  /** Hosts (exact names, or `*.example.com`) whose http(s) image URLs may be fetched. */
  readonly allowHosts: readonly string[];
  readonly maxBytes: number;
  readonly timeoutMs: number;
  /** DNS lookup for the address check (the system's by default; tests inject one). */
  readonly resolve?: Resolver;
}

/** Ceilings on the cost of one request (config `limits`). */
export interface RequestLimits {
  readonly maxImages: number;
  readonly maxTokens: number;
  readonly maxPromptChars: number;
  readonly maxMessages: number;
  readonly maxStop: number;
  readonly maxStopChars: number;
  readonly maxSchemaBytes: number;
  readonly maxSchemaDepth: number;
  readonly maxSchemaNodes: number;
  readonly maxEnumValues: number;
  readonly maxGrammarBytes: number;
}

/** Request-rate limits (config `rate_limits`); 0 = off. */
export interface RateLimits {
  readonly windowMs: number;
  readonly perKey: number;
  readonly perAddress: number;
  readonly concurrentPerKey: number;
}

export interface ServiceConfig {
  readonly modelName: string;
  readonly modelId: string;
  readonly host: string;
  readonly port: number;
  /**
   * Host names (lowercase; `*.name`, `*` for any) a request's Host may carry besides localhost,
   * IP literals and `host` (config `server.allowed_hosts`).
   */
  readonly allowedHosts: readonly string[];
  /** Per-request timeout in milliseconds (config `timeout`, seconds, default 60). */
  readonly timeoutMs: number;
  readonly modelPath: string | null;
  /** The seed's `smolvlm_version`: a hub model used when no model path is given. */
  readonly smolvlmVersion: string | null;
  readonly mmprojPath: string | null;
  /** `--demo`: the tiny synthetic model with random weights. */
  readonly demo: boolean;
  readonly batchSize: number;
  /** Generations decoded together (engine slots); `inference.parallel`, else `batch_size`. */
  readonly parallel: number;
  readonly expectedResponseTime: number;
  readonly maxImageSize: number;
  readonly contextSize: number;
  readonly threads: number | null;
  /** `inference.gpu_layers`; null: all layers and the vision encoder when a GPU is present. */
  readonly gpuLayers: number | null;
  readonly maxQueue: number;
  /** Default completion budget when a request names none. */
  readonly defaultMaxTokens: number;
  /** `inference.session_image_detail`: how a realtime session's images are encoded by default. */
  readonly sessionImageDetail: "low" | "high";
  /** The config file's `video` section: sampling and per-clip limits. */
  readonly video: VideoConfig;
  /**
   * Configured image-processing defaults: `image_processing` with the top-level
   * `noise_reduction` / `color_balance` merged in, validated by the image module; null = its
   * defaults.
   */
  readonly imageProcessing: Readonly<Record<string, unknown>> | null;
  /** When set, requests to /v1/* need `Authorization: Bearer <key>`. */
  readonly apiKey: string | null;
  /** More accepted keys (config `auth.api_keys`, the keys file, env SMOLVLM_API_KEYS). */
  readonly apiKeys: readonly string[];
  readonly apiKeysFile: string | null;
  /** Whether /health needs a key too (when keys are set). */
  readonly protectHealth: boolean;
  /** Browser origins allowed by CORS on /v1/*; empty = CORS off. */
  readonly corsOrigins: readonly string[];
  readonly rateLimits: RateLimits;
  readonly limits: RequestLimits;
  readonly maxBodyBytes: number;
  readonly shutdownGraceMs: number;
  /** How long a reload lets running generations finish before stopping them (ms). */
  readonly reloadGraceMs: number;
  readonly remoteImages: RemoteImagesConfig;
  readonly staticDir: string;
  readonly logDir: string;
  readonly logLevel: "debug" | "info" | "warning" | "error";
  /** Detailed logs, native ones included (`--verbose`). */
  readonly verbose: boolean;
  /** Period of the performance log line in ms; 0 = off. */
  readonly perfLogIntervalMs: number;
  /** Where this config came from (a file path, or null for defaults). */
  readonly source: string | null;
}

/** A config problem, with the dotted key that is wrong. */
export class ConfigError extends Error {
  readonly key: string;
  constructor(key: string, message: string) {
    super(key ? `${key}: ${message}` : message);
    this.name = "ConfigError";
    this.key = key;
  }
}

/** The repository root (two levels up from this file). */
export const REPO_ROOT: string = decodeURIComponent(new URL("../../", import.meta.url).pathname)
  .replace(/\/$/, "");

let relativeBase = REPO_ROOT;

/**
 * Relative paths in the config file and flags resolve against `dir` from now on instead of the
 * repository root: the single binary (src/binary/entry.ts) has no source tree, only the
 * directory it was started in.
 */
export function resolveRelativePathsFrom(dir: string): void {
  relativeBase = dir;
}

function resolveFromRoot(p: string): string {
  return p.startsWith("/") ? p : `${relativeBase}/${p}`;
}

/** Keys whose values never appear in a message. */
const SECRET_KEYS = /^(api_key|auth\.api_keys)/;

/** A value as an error message shows it (secrets hidden, long text cut). */
export function showValue(key: string, value: unknown): string {
  if (value === undefined) return "nothing";
  if (SECRET_KEYS.test(key)) return "(hidden)";
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function valueAt(doc: unknown, path: readonly PropertyKey[]): unknown {
  let v: unknown = doc;
  for (const p of path) {
    if (typeof v !== "object" || v === null) return undefined;
    v = (v as Record<PropertyKey, unknown>)[p];
  }
  return v;
}

/**
 * Validates a config document (the file's JSON, or the layers merged) into a ServiceConfig.
 * A bad value throws ConfigError naming the key, the value, where it came from (`originOf`,
 * e.g. "env SMOLVLM_PORT") and what was expected.
 */
export function parseServiceConfig(
  raw: unknown,
  source: string | null = null,
  originOf: (key: string) => string | null = () => null,
): ServiceConfig {
  const parsed = configFileSchema.safeParse(raw ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = issue?.path ?? [];
    const key = path.map(String).join(".");
    const origin = originOf(key);
    throw new ConfigError(
      key,
      `got ${showValue(key, valueAt(raw, path))}${origin ? ` from ${origin}` : ""}: ${
        issue?.message ?? "invalid config"
      }`,
    );
  }
  let image: ImageConfig | null;
  try {
    image = imageConfigOf(raw);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    const origin = originOf(e.key);
    throw new ConfigError(
      e.key,
      `${e.message.slice(e.key.length + 2)}${origin ? ` (from ${origin})` : ""}`,
    );
  }
  return fromFile(parsed.data, image, source);
}

/**
 * The image pipeline's configuration from the document (`image_processing` plus the seed's
 * top-level `noise_reduction` / `color_balance`), validated by the image module; null when the
 * document sets none of them.
 */
function imageConfigOf(raw: unknown): ImageConfig | null {
  const doc = (raw ?? {}) as Record<string, unknown>;
  if (IMAGE_KEYS.every((k) => doc[k] === undefined)) return null;
  try {
    return parseImageConfigFile(doc);
  } catch (e) {
    if (e instanceof ImageConfigError) {
      throw new ConfigError(e.key, e.message.slice(e.key.length + 2));
    }
    throw e;
  }
}

/** The top-level keys the image pipeline reads. */
export const IMAGE_KEYS = ["image_processing", "noise_reduction", "color_balance"] as const;

function fromFile(
  f: ConfigFile,
  image: ImageConfig | null,
  source: string | null,
): ServiceConfig {
  return {
    modelName: f.model_name,
    modelId: f.model_id,
    host: f.host,
    port: f.port,
    allowedHosts: f.server.allowed_hosts,
    timeoutMs: Math.round(f.timeout * 1000),
    modelPath: f.model_path ?? null,
    smolvlmVersion: f.smolvlm_version ?? null,
    mmprojPath: f.mmproj_path ?? null,
    demo: f.demo,
    batchSize: f.inference.batch_size,
    parallel: f.inference.parallel ?? f.inference.batch_size,
    expectedResponseTime: f.inference.expected_response_time,
    maxImageSize: f.inference.max_image_size,
    contextSize: f.inference.context_size,
    threads: f.inference.threads ?? null,
    gpuLayers: f.inference.gpu_layers ?? null,
    maxQueue: f.inference.max_queue,
    defaultMaxTokens: f.inference.max_tokens,
    sessionImageDetail: f.inference.session_image_detail,
    video: toVideoConfig(f.video),
    imageProcessing: image as Record<string, unknown> | null,
    apiKey: f.api_key ?? null,
    apiKeys: f.auth.api_keys,
    apiKeysFile: f.auth.api_keys_file === null ? null : resolveFromRoot(f.auth.api_keys_file),
    protectHealth: f.auth.protect_health,
    corsOrigins: f.cors.allow_origins,
    rateLimits: {
      windowMs: Math.round(f.rate_limits.window * 1000),
      perKey: f.rate_limits.per_key,
      perAddress: f.rate_limits.per_address,
      concurrentPerKey: f.rate_limits.concurrent_per_key,
    },
    limits: {
      maxImages: f.limits.max_images,
      maxTokens: f.limits.max_tokens,
      maxPromptChars: f.limits.max_prompt_chars,
      maxMessages: f.limits.max_messages,
      maxStop: f.limits.max_stop,
      maxStopChars: f.limits.max_stop_chars,
      maxSchemaBytes: f.limits.max_schema_bytes,
      maxSchemaDepth: f.limits.max_schema_depth,
      maxSchemaNodes: f.limits.max_schema_nodes,
      maxEnumValues: f.limits.max_enum_values,
      maxGrammarBytes: f.limits.max_grammar_bytes,
    },
    maxBodyBytes: f.max_body_bytes,
    shutdownGraceMs: Math.round(f.shutdown_grace * 1000),
    reloadGraceMs: Math.round(f.reload_grace * 1000),
    remoteImages: {
      allowHosts: f.remote_images.allow_hosts.map((h) => h.toLowerCase()),
      maxBytes: f.remote_images.max_bytes,
      timeoutMs: Math.round(f.remote_images.timeout * 1000),
    },
    staticDir: resolveFromRoot(f.static_dir ?? "static"),
    logDir: f.log_file ? resolveFromRoot(f.log_dir ?? "logs") : "",
    logLevel: f.verbose ? "debug" : f.log_level,
    verbose: f.verbose,
    perfLogIntervalMs: Math.round(f.monitoring.perf_log_interval * 1000),
    source,
  };
}

/** Reads a JSON config file (an object). Throws ConfigError with a one-line message. */
export async function readConfigDocument(path: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new ConfigError("", `config file ${path} does not exist`);
    }
    if (e instanceof Deno.errors.NotCapable || e instanceof Deno.errors.PermissionDenied) {
      throw new ConfigError(
        "",
        `config file ${path} is outside what the server may read; start it with \`./run serve\`, which grants read access to exactly the file named`,
      );
    }
    throw new ConfigError("", `cannot read config file ${path}: ${(e as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new ConfigError("", `config file ${path} is not valid JSON: ${(e as Error).message}`);
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw new ConfigError(
      "",
      `config file ${path} must hold a JSON object, got ${showValue("", json)}`,
    );
  }
  return json as Record<string, unknown>;
}

/** Reads and validates a JSON config file (no other source). */
export async function loadConfigFile(path: string): Promise<ServiceConfig> {
  return parseServiceConfig(await readConfigDocument(path), path, () => `file ${path}`);
}

/** The defaults (no file). */
export function defaultServiceConfig(): ServiceConfig {
  return parseServiceConfig({}, null);
}

/** Every accepted API key: `api_key`, `auth.api_keys`. Empty means no authentication. */
export function allApiKeys(config: ServiceConfig): readonly string[] {
  return [...new Set([...(config.apiKey ? [config.apiKey] : []), ...config.apiKeys])];
}

/**
 * Adds the keys from `auth.api_keys_file` (one per line, `#` comments) and from env
 * SMOLVLM_API_KEYS (comma- or space-separated; read only where the process may) to the config.
 * Throws ConfigError for an unreadable file or a malformed key, never echoing a key.
 */
export async function withKeysFromFileAndEnv(config: ServiceConfig): Promise<ServiceConfig> {
  const found: string[] = [];
  if (config.apiKeysFile) {
    let text: string;
    try {
      text = await Deno.readTextFile(config.apiKeysFile);
    } catch (e) {
      throw new ConfigError(
        "auth.api_keys_file",
        `cannot read ${config.apiKeysFile}: ${(e as Error).name}`,
      );
    }
    for (const line of text.split("\n")) {
      const key = line.replace(/#.*/, "").trim();
      if (key) found.push(key);
    }
  }
  const env = await Deno.permissions.query({ name: "env", variable: "SMOLVLM_API_KEYS" });
  if (env.state === "granted") {
    found.push(...(Deno.env.get("SMOLVLM_API_KEYS") ?? "").split(/[\s,]+/).filter(Boolean));
  }
  const out = found.length ? { ...config, apiKeys: [...config.apiKeys, ...found] } : config;
  allApiKeys(out).forEach((k, i) => {
    if (!apiKeySchema.safeParse(k).success) {
      throw new ConfigError(
        "auth",
        `API key #${i + 1} has characters a bearer token cannot hold (A-Z a-z 0-9 . _ ~ + / -)`,
      );
    }
  });
  return out;
}

/** The model ids a request may name. */
export function acceptedModelIds(config: ServiceConfig): Set<string> {
  return new Set([config.modelId, config.modelName, ...SEED_MODEL_ALIASES]);
}
