/**
 * One configuration from four layers, later ones winning key by key:
 *   defaults (the schema) ← JSON file (`--config` or SMOLVLM_CONFIG) ← environment (SMOLVLM_*)
 *   ← command-line flags.
 * Each layer is a partial config document in the file's snake_case shape; the merged document
 * is validated once (service_config.ts), so an error names the key, the value, the layer it came
 * from and what was expected. `origins` says where every effective value came from (`config`).
 *
 * @module
 */
import {
  configFileSchema,
  parseServiceConfig,
  readConfigDocument,
  type ServiceConfig,
} from "./service_config.ts";
import { CONFIG_FILE_ENV, convertSetting, SETTINGS } from "./settings.ts";
import { parseImageConfigFile } from "../image/config.ts";

export type Origin =
  | { readonly kind: "default" }
  | { readonly kind: "file"; readonly path: string }
  | { readonly kind: "env"; readonly name: string }
  | { readonly kind: "flag"; readonly flag: string };

/** How an origin reads in messages and in `config`'s listing. */
export function describeOrigin(o: Origin): string {
  switch (o.kind) {
    case "default":
      return "default";
    case "file":
      return `file ${o.path}`;
    case "env":
      return `env ${o.name}`;
    case "flag":
      return `flag --${o.flag}`;
  }
}

/** What the layers read: parsed flag values by flag name, and the environment. */
export interface ConfigInputs {
  readonly flags: Readonly<Record<string, string | boolean | readonly string[] | undefined>>;
  /** A variable's value; undefined when unset or not readable. */
  readonly env: (name: string) => string | undefined;
}

export interface ResolvedServiceConfig {
  readonly config: ServiceConfig;
  /** The effective document (snake_case, defaults filled in). */
  readonly document: Readonly<Record<string, unknown>>;
  /** Where each leaf of `document` came from, by dotted key. */
  readonly origins: ReadonlyMap<string, Origin>;
}

type Doc = Record<string, unknown>;

/** The process environment, read only where this process may (no permission prompt). */
export function processEnv(name: string): string | undefined {
  try {
    if (Deno.permissions.querySync({ name: "env", variable: name }).state !== "granted") {
      return undefined;
    }
    return Deno.env.get(name) || undefined;
  } catch {
    return undefined;
  }
}

function isObject(v: unknown): v is Doc {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function setPath(doc: Doc, key: string, value: unknown): void {
  const parts = key.split(".");
  let at = doc;
  for (const p of parts.slice(0, -1)) {
    if (!isObject(at[p])) at[p] = {};
    at = at[p] as Doc;
  }
  at[parts.at(-1)!] = value;
}

function hasPath(doc: Doc, key: string): boolean {
  let at: unknown = doc;
  for (const p of key.split(".")) {
    if (!isObject(at) || !(p in at)) return false;
    at = at[p];
  }
  return true;
}

/** Objects merge key by key; anything else (arrays included) is replaced. */
function merge(base: Doc, top: Doc): Doc {
  const out: Doc = { ...base };
  for (const [k, v] of Object.entries(top)) {
    out[k] = isObject(v) && isObject(out[k]) ? merge(out[k] as Doc, v) : v;
  }
  return out;
}

function leaves(doc: Doc, prefix = ""): [string, unknown][] {
  return Object.entries(doc).flatMap(([k, v]) =>
    isObject(v) && Object.keys(v).length > 0
      ? leaves(v, `${prefix}${k}.`)
      : [[`${prefix}${k}`, v] as [string, unknown]]
  );
}

/** The config file named by `--config`, else by SMOLVLM_CONFIG; null when neither. */
export function configFilePath(inputs: ConfigInputs): { path: string; origin: Origin } | null {
  const flag = inputs.flags.config;
  if (typeof flag === "string" && flag !== "") {
    return { path: flag, origin: { kind: "flag", flag: "config" } };
  }
  const env = inputs.env(CONFIG_FILE_ENV);
  return env ? { path: env, origin: { kind: "env", name: CONFIG_FILE_ENV } } : null;
}

/** Resolves the layers into one validated configuration with each value's origin. */
export async function resolveConfig(inputs: ConfigInputs): Promise<ResolvedServiceConfig> {
  const file = configFilePath(inputs);
  const layers: { doc: Doc; origin: (key: string) => Origin | null }[] = [];
  if (file) {
    const doc = await readConfigDocument(file.path);
    layers.push({ doc, origin: () => ({ kind: "file", path: file.path }) });
  }
  const env: Doc = {}, envNames = new Map<string, string>();
  const flags: Doc = {}, flagNames = new Map<string, string>();
  for (const s of SETTINGS) {
    const fromEnv = s.env ? inputs.env(s.env) : undefined;
    if (s.env && fromEnv !== undefined) {
      setPath(env, s.key, convertSetting(s.kind, fromEnv));
      envNames.set(s.key, s.env);
    }
    const fromFlag = s.flag ? inputs.flags[s.flag] : undefined;
    if (s.flag && fromFlag !== undefined) {
      setPath(flags, s.key, convertSetting(s.kind, fromFlag as string | boolean | string[]));
      flagNames.set(s.key, s.flag);
    }
  }
  if (inputs.flags["no-log-file"] === true) {
    setPath(flags, "log_file", false);
    flagNames.set("log_file", "no-log-file");
  }
  const named = (names: Map<string, string>, make: (n: string) => Origin) => (key: string) => {
    for (const [k, n] of names) if (key === k || key.startsWith(`${k}.`)) return make(n);
    return null;
  };
  layers.push({ doc: env, origin: named(envNames, (name) => ({ kind: "env", name })) });
  layers.push({ doc: flags, origin: named(flagNames, (flag) => ({ kind: "flag", flag })) });

  const merged = layers.reduce((acc, l) => merge(acc, l.doc), {} as Doc);
  const originOf = (key: string): Origin => {
    for (const alias of aliases(key)) {
      for (const layer of [...layers].reverse()) {
        if (hasPath(layer.doc, alias)) return layer.origin(alias) ?? { kind: "default" };
      }
    }
    return { kind: "default" };
  };
  const config = parseServiceConfig(merged, file?.path ?? null, (key) => {
    // An array comes whole from one layer (merge replaces it), so an element's origin is its.
    const o = originOf(key.replace(/\.\d+(\..*)?$/, ""));
    return o.kind === "default" ? null : describeOrigin(o);
  });
  const document = effectiveDocument(merged);
  const origins = new Map(leaves(document).map(([key]) => [key, originOf(key)]));
  return { config, document, origins };
}

/** The keys a value may have been given under: image settings may sit at the top level too. */
function aliases(key: string): string[] {
  const m = /^image_processing\.(noise_reduction|color_balance)(\..*)?$/.exec(key);
  return m ? [key, `${m[1]}${m[2] ?? ""}`] : [key];
}

/** The merged document with every default filled in (image settings as the pipeline sees them). */
function effectiveDocument(merged: Doc): Doc {
  const doc = configFileSchema.parse(merged) as Doc;
  const image = parseImageConfigFile(merged) as unknown as Doc;
  return { ...doc, image_processing: image };
}
