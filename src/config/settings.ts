/**
 * The settings an operator may give outside the config file: each one's key in the file (dotted
 * snake_case), its command-line flag and its environment variable. One table, so `serve`, the
 * launcher (which grants exactly these variables) and `config` (which prints where each value
 * came from) read the same names.
 *
 * @module
 */

/** How a flag's or variable's text becomes a JSON value before validation. */
export type SettingKind = "string" | "int" | "number" | "bool" | "list";

export interface Setting {
  /** Dotted key in the config file, e.g. `inference.context_size`. */
  readonly key: string;
  /** Command-line flag without the dashes; absent when there is none. */
  readonly flag?: string;
  /** Environment variable; absent when there is none. */
  readonly env?: string;
  readonly kind: SettingKind;
}

export const SETTINGS: readonly Setting[] = [
  { key: "host", flag: "host", env: "SMOLVLM_HOST", kind: "string" },
  { key: "port", flag: "port", env: "SMOLVLM_PORT", kind: "int" },
  {
    key: "server.allowed_hosts",
    flag: "allowed-host",
    env: "SMOLVLM_ALLOWED_HOSTS",
    kind: "list",
  },
  { key: "timeout", flag: "timeout", env: "SMOLVLM_TIMEOUT", kind: "number" },
  { key: "model_path", flag: "model", env: "SMOLVLM_MODEL", kind: "string" },
  { key: "smolvlm_version", env: "SMOLVLM_VERSION", kind: "string" },
  {
    key: "inference.session_image_detail",
    env: "SMOLVLM_SESSION_IMAGE_DETAIL",
    kind: "string",
  },
  { key: "mmproj_path", flag: "mmproj", env: "SMOLVLM_MMPROJ", kind: "string" },
  { key: "demo", flag: "demo", env: "SMOLVLM_DEMO", kind: "bool" },
  { key: "model_id", env: "SMOLVLM_MODEL_ID", kind: "string" },
  { key: "model_name", env: "SMOLVLM_MODEL_NAME", kind: "string" },
  { key: "inference.max_queue", flag: "max-queue", env: "SMOLVLM_MAX_QUEUE", kind: "int" },
  { key: "inference.parallel", flag: "parallel", env: "SMOLVLM_PARALLEL", kind: "int" },
  {
    key: "inference.context_size",
    flag: "context-size",
    env: "SMOLVLM_CONTEXT_SIZE",
    kind: "int",
  },
  { key: "inference.threads", flag: "threads", env: "SMOLVLM_THREADS", kind: "int" },
  { key: "inference.gpu_layers", flag: "gpu-layers", env: "SMOLVLM_GPU_LAYERS", kind: "int" },
  {
    key: "inference.max_image_size",
    flag: "max-image-size",
    env: "SMOLVLM_MAX_IMAGE_SIZE",
    kind: "int",
  },
  { key: "inference.max_tokens", flag: "max-tokens", env: "SMOLVLM_MAX_TOKENS", kind: "int" },
  { key: "api_key", flag: "api-key", env: "SMOLVLM_API_KEY", kind: "string" },
  {
    key: "remote_images.allow_hosts",
    flag: "allow-image-host",
    env: "SMOLVLM_ALLOW_IMAGE_HOSTS",
    kind: "list",
  },
  { key: "shutdown_grace", flag: "shutdown-grace", env: "SMOLVLM_SHUTDOWN_GRACE", kind: "number" },
  { key: "reload_grace", flag: "reload-grace", env: "SMOLVLM_RELOAD_GRACE", kind: "number" },
  { key: "static_dir", flag: "static-dir", env: "SMOLVLM_STATIC_DIR", kind: "string" },
  { key: "log_dir", flag: "log-dir", env: "SMOLVLM_LOG_DIR", kind: "string" },
  { key: "log_level", flag: "log-level", env: "SMOLVLM_LOG_LEVEL", kind: "string" },
  { key: "verbose", flag: "verbose", env: "SMOLVLM_VERBOSE", kind: "bool" },
  {
    key: "monitoring.perf_log_interval",
    flag: "perf-log-interval",
    env: "SMOLVLM_PERF_LOG_INTERVAL",
    kind: "number",
  },
  { key: "max_body_bytes", flag: "max-body-bytes", env: "SMOLVLM_MAX_BODY_BYTES", kind: "int" },
  {
    key: "video.max_decoder_memory_mb",
    flag: "max-decoder-memory-mb",
    env: "SMOLVLM_MAX_DECODER_MEMORY_MB",
    kind: "int",
  },
];

/** The variable naming the config file (`--config` wins over it). */
export const CONFIG_FILE_ENV = "SMOLVLM_CONFIG";

/** Extra keys read elsewhere (config/service_config.ts): more API keys, comma-separated. */
export const API_KEYS_ENV = "SMOLVLM_API_KEYS";

/** Every configuration variable, for the launcher's exact --allow-env list. */
export const CONFIG_ENV_NAMES: readonly string[] = [
  CONFIG_FILE_ENV,
  ...SETTINGS.flatMap((s) => (s.env ? [s.env] : [])),
  API_KEYS_ENV,
];

/**
 * A flag's or variable's text as the JSON value the file would hold. Text that does not convert
 * stays text, so validation reports it with the key and what was expected.
 */
export function convertSetting(kind: SettingKind, raw: string | boolean | string[]): unknown {
  if (typeof raw === "boolean") return raw;
  // A repeatable flag's values, each of which may be a comma-separated list too.
  if (Array.isArray(raw)) return raw.flatMap((r) => r.split(/[\s,]+/)).filter(Boolean);
  const text = raw.trim();
  switch (kind) {
    case "string":
      return raw;
    case "int":
    case "number":
      return text !== "" && Number.isFinite(Number(text)) ? Number(text) : raw;
    case "bool":
      if (/^(1|true|yes|on)$/i.test(text)) return true;
      if (/^(0|false|no|off)$/i.test(text)) return false;
      return raw;
    case "list":
      return text.split(/[\s,]+/).filter(Boolean);
  }
}
