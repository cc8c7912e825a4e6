/**
 * Pipeline configuration in the seed's JSON shapes:
 *   image_processing: { smart_crop, size: [w, h], min_size, preserve_aspect_ratio, jpeg_quality,
 *                       optimize, noise_reduction?, color_balance?, limits? }
 *   noise_reduction:  { enabled, method: "bilateral", diameter, sigma_color, sigma_space }
 *   color_balance:    { enabled, method: "lab", l_channel_boost, ab_channel_boost }
 *   limits:           { max_bytes, max_megapixels, max_side }   (our addition)
 * noise_reduction / color_balance / limits may sit inside image_processing or beside it at the
 * top level. Missing keys fall back to the defaults; present-but-wrong keys (wrong type, out of
 * range, unknown) throw ImageConfigError naming the dotted key.
 */
import { ImageConfigError } from "./errors.ts";

export interface NoiseReductionConfig {
  enabled: boolean;
  method: "bilateral";
  diameter: number;
  sigma_color: number;
  sigma_space: number;
}
export interface ColorBalanceConfig {
  enabled: boolean;
  method: "lab";
  l_channel_boost: number;
  ab_channel_boost: number;
}
export interface LimitsConfig {
  max_bytes: number;
  max_megapixels: number;
  max_side: number;
}
export interface ImageConfig {
  smart_crop: boolean;
  size: [number, number];
  min_size: number;
  preserve_aspect_ratio: boolean;
  jpeg_quality: number;
  optimize: boolean;
  noise_reduction: NoiseReductionConfig;
  color_balance: ColorBalanceConfig;
  limits: LimitsConfig;
}

export const DEFAULT_IMAGE_CONFIG: Readonly<ImageConfig> = Object.freeze({
  smart_crop: true,
  size: [1024, 1024] as [number, number],
  min_size: 512,
  preserve_aspect_ratio: true,
  jpeg_quality: 95,
  optimize: true,
  noise_reduction: {
    enabled: true,
    method: "bilateral" as const,
    diameter: 9,
    sigma_color: 75,
    sigma_space: 75,
  },
  color_balance: {
    enabled: true,
    method: "lab" as const,
    l_channel_boost: 1.2,
    ab_channel_boost: 1.1,
  },
  limits: { max_bytes: 20 * 1024 * 1024, max_megapixels: 40, max_side: 16384 },
});

/** A deep copy of the defaults. */
export function defaultImageConfig(): ImageConfig {
  return structuredClone(DEFAULT_IMAGE_CONFIG) as ImageConfig;
}

type Obj = Record<string, unknown>;
function isObj(v: unknown): v is Obj {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
function bool(v: unknown, key: string): boolean {
  if (typeof v !== "boolean") {
    throw new ImageConfigError(key, `must be true or false, got ${show(v)}`);
  }
  return v;
}
function num(
  v: unknown,
  key: string,
  min: number,
  max: number,
  integer: boolean,
  minExclusive = false,
): number {
  if (typeof v !== "number" || !Number.isFinite(v)) {
    throw new ImageConfigError(key, `must be a number, got ${show(v)}`);
  }
  if (integer && !Number.isInteger(v)) {
    throw new ImageConfigError(key, `must be an integer, got ${v}`);
  }
  if ((minExclusive ? v <= min : v < min) || v > max) {
    throw new ImageConfigError(
      key,
      `must be ${minExclusive ? "greater than" : "at least"} ${min} and at most ${max}, got ${v}`,
    );
  }
  return v;
}
function show(v: unknown): string {
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}
function checkKeys(o: Obj, allowed: readonly string[], prefix: string): void {
  for (const k of Object.keys(o)) {
    if (!allowed.includes(k)) {
      throw new ImageConfigError(`${prefix}${k}`, `unknown key (allowed: ${allowed.join(", ")})`);
    }
  }
}

const IP_KEYS = [
  "smart_crop",
  "size",
  "min_size",
  "preserve_aspect_ratio",
  "jpeg_quality",
  "optimize",
  "noise_reduction",
  "color_balance",
  "limits",
] as const;

function mergeNoise(base: NoiseReductionConfig, v: unknown, p: string): NoiseReductionConfig {
  if (!isObj(v)) throw new ImageConfigError(p.slice(0, -1), `must be an object, got ${show(v)}`);
  checkKeys(v, ["enabled", "method", "diameter", "sigma_color", "sigma_space"], p);
  const out = { ...base };
  if (v.enabled !== undefined) out.enabled = bool(v.enabled, `${p}enabled`);
  if (v.method !== undefined && v.method !== "bilateral") {
    throw new ImageConfigError(`${p}method`, `must be "bilateral", got ${show(v.method)}`);
  }
  if (v.diameter !== undefined) out.diameter = num(v.diameter, `${p}diameter`, 1, 31, true);
  if (v.sigma_color !== undefined) {
    out.sigma_color = num(v.sigma_color, `${p}sigma_color`, 0, 1000, false, true);
  }
  if (v.sigma_space !== undefined) {
    out.sigma_space = num(v.sigma_space, `${p}sigma_space`, 0, 1000, false, true);
  }
  return out;
}
function mergeColor(base: ColorBalanceConfig, v: unknown, p: string): ColorBalanceConfig {
  if (!isObj(v)) throw new ImageConfigError(p.slice(0, -1), `must be an object, got ${show(v)}`);
  checkKeys(v, ["enabled", "method", "l_channel_boost", "ab_channel_boost"], p);
  const out = { ...base };
  if (v.enabled !== undefined) out.enabled = bool(v.enabled, `${p}enabled`);
  if (v.method !== undefined && v.method !== "lab") {
    throw new ImageConfigError(`${p}method`, `must be "lab", got ${show(v.method)}`);
  }
  if (v.l_channel_boost !== undefined) {
    out.l_channel_boost = num(v.l_channel_boost, `${p}l_channel_boost`, 0, 4, false, true);
  }
  if (v.ab_channel_boost !== undefined) {
    out.ab_channel_boost = num(v.ab_channel_boost, `${p}ab_channel_boost`, 0, 4, false);
  }
  return out;
}
function mergeLimits(base: LimitsConfig, v: unknown, p: string): LimitsConfig {
  if (!isObj(v)) throw new ImageConfigError(p.slice(0, -1), `must be an object, got ${show(v)}`);
  checkKeys(v, ["max_bytes", "max_megapixels", "max_side"], p);
  const out = { ...base };
  if (v.max_bytes !== undefined) {
    out.max_bytes = num(v.max_bytes, `${p}max_bytes`, 1, 2 ** 31, true);
  }
  if (v.max_megapixels !== undefined) {
    out.max_megapixels = num(v.max_megapixels, `${p}max_megapixels`, 0, 1000, false, true);
  }
  if (v.max_side !== undefined) out.max_side = num(v.max_side, `${p}max_side`, 1, 65535, true);
  return out;
}

/**
 * Validates a (partial) `image_processing` object and merges it over `base` (defaults when
 * omitted). Use for per-request overrides. `prefix` names keys in errors.
 */
export function parseImageProcessingConfig(
  override: unknown,
  base: ImageConfig = defaultImageConfig(),
  prefix = "image_processing.",
): ImageConfig {
  const out: ImageConfig = structuredClone(base);
  if (override === undefined || override === null) return out;
  if (!isObj(override)) {
    throw new ImageConfigError(prefix.slice(0, -1), `must be an object, got ${show(override)}`);
  }
  const v = override;
  checkKeys(v, IP_KEYS, prefix);
  if (v.smart_crop !== undefined) out.smart_crop = bool(v.smart_crop, `${prefix}smart_crop`);
  if (v.size !== undefined) {
    if (!Array.isArray(v.size) || v.size.length !== 2) {
      throw new ImageConfigError(`${prefix}size`, `must be [width, height], got ${show(v.size)}`);
    }
    out.size = [
      num(v.size[0], `${prefix}size[0]`, 16, 8192, true),
      num(v.size[1], `${prefix}size[1]`, 16, 8192, true),
    ];
  }
  if (v.min_size !== undefined) out.min_size = num(v.min_size, `${prefix}min_size`, 1, 8192, true);
  if (v.preserve_aspect_ratio !== undefined) {
    out.preserve_aspect_ratio = bool(v.preserve_aspect_ratio, `${prefix}preserve_aspect_ratio`);
  }
  if (v.jpeg_quality !== undefined) {
    out.jpeg_quality = num(v.jpeg_quality, `${prefix}jpeg_quality`, 1, 100, true);
  }
  if (v.optimize !== undefined) out.optimize = bool(v.optimize, `${prefix}optimize`);
  if (v.noise_reduction !== undefined) {
    out.noise_reduction = mergeNoise(
      out.noise_reduction,
      v.noise_reduction,
      `${prefix}noise_reduction.`,
    );
  }
  if (v.color_balance !== undefined) {
    out.color_balance = mergeColor(out.color_balance, v.color_balance, `${prefix}color_balance.`);
  }
  if (v.limits !== undefined) out.limits = mergeLimits(out.limits, v.limits, `${prefix}limits.`);
  if (out.min_size > Math.min(out.size[0], out.size[1])) {
    const key = v.min_size !== undefined ? `${prefix}min_size` : `${prefix}size`;
    throw new ImageConfigError(
      key,
      `min_size ${out.min_size} is larger than the smaller side of size [${out.size.join(", ")}]`,
    );
  }
  return out;
}

/**
 * Parses a whole config document (the config file): `{ image_processing?, noise_reduction?,
 * color_balance?, ... }`. Other top-level keys belong to other modules and are ignored.
 */
export function parseImageConfigFile(
  doc: unknown,
  base: ImageConfig = defaultImageConfig(),
): ImageConfig {
  if (!isObj(doc)) {
    throw new ImageConfigError("(root)", `config must be a JSON object, got ${show(doc)}`);
  }
  let cfg = parseImageProcessingConfig(doc.image_processing, base, "image_processing.");
  if (doc.noise_reduction !== undefined) {
    cfg = {
      ...cfg,
      noise_reduction: mergeNoise(cfg.noise_reduction, doc.noise_reduction, "noise_reduction."),
    };
  }
  if (doc.color_balance !== undefined) {
    cfg = {
      ...cfg,
      color_balance: mergeColor(cfg.color_balance, doc.color_balance, "color_balance."),
    };
  }
  return cfg;
}
