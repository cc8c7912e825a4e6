/**
 * Pipeline configuration in the seed's JSON shapes:
 *   image_processing: { smart_crop, size: [w, h], min_size, preserve_aspect_ratio, jpeg_quality,
 *                       optimize, noise_reduction?, color_balance?, limits? }
 *   noise_reduction:  { enabled, method: "bilateral", diameter, sigma_color, sigma_space }
 *   color_balance:    { enabled, method: "lab", l_channel_boost, ab_channel_boost }
 *   image_processing.limits: { max_bytes, max_megapixels, max_side, max_output_side,
 *                       max_filter_diameter }   (our addition: the operator's cost ceilings)
 * noise_reduction / color_balance may sit inside image_processing or beside it at the top level.
 * The seed's `format: "JPEG"` is accepted (the re-encode format; JPEG is the only one). Missing keys fall back to the defaults; present-but-wrong keys (wrong type, out of
 * range, unknown) throw ImageConfigError naming the dotted key. Validation is zod, as for every
 * other input of the service.
 *
 * The operator's file sets values within absolute ranges (parseImageConfigFile); a request's
 * override (parseImageRequestOverride) may only lower a cost below the operator's limits.
 */
import { z } from "zod";
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
  /** Largest encoded image, in bytes. */
  max_bytes: number;
  /** Largest decoded image, in megapixels. */
  max_megapixels: number;
  /** Longest decoded side, in pixels. */
  max_side: number;
  /** Ceiling of `size` (and `min_size`): the largest output side a request may ask for. */
  max_output_side: number;
  /** Ceiling of `noise_reduction.diameter` (bilateral cost grows with its square). */
  max_filter_diameter: number;
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
  limits: {
    max_bytes: 20 * 1024 * 1024,
    max_megapixels: 40,
    max_side: 16384,
    max_output_side: 2048,
    max_filter_diameter: 15,
  },
});

/** A deep copy of the defaults. */
export function defaultImageConfig(): ImageConfig {
  return structuredClone(DEFAULT_IMAGE_CONFIG) as ImageConfig;
}

// --- schemas ---------------------------------------------------------------------------------

function range(min: number, max: number, opts: { int?: boolean; exclusiveMin?: boolean } = {}) {
  const what = `${opts.exclusiveMin ? "greater than" : "at least"} ${min} and at most ${max}`;
  let s = z.number({ error: "must be a number" });
  if (opts.int) s = s.int({ error: "must be an integer" });
  s = opts.exclusiveMin
    ? s.gt(min, { error: `must be ${what}` })
    : s.gte(min, { error: `must be ${what}` });
  return s.lte(max, { error: `must be ${what}` });
}
const flag = z.boolean({ error: "must be true or false" });

const NoiseReduction = z.strictObject({
  enabled: flag,
  method: z.literal("bilateral", { error: 'must be "bilateral"' }),
  diameter: range(1, 31, { int: true }),
  sigma_color: range(0, 1000, { exclusiveMin: true }),
  sigma_space: range(0, 1000, { exclusiveMin: true }),
}).partial();

const ColorBalance = z.strictObject({
  enabled: flag,
  method: z.literal("lab", { error: 'must be "lab"' }),
  l_channel_boost: range(0, 4, { exclusiveMin: true }),
  ab_channel_boost: range(0, 4),
}).partial();

const Limits = z.strictObject({
  max_bytes: range(1, 2 ** 31, { int: true }),
  max_megapixels: range(0, 1000, { exclusiveMin: true }),
  max_side: range(1, 65535, { int: true }),
  max_output_side: range(16, 8192, { int: true }),
  max_filter_diameter: range(1, 31, { int: true }),
}).partial();

const ImageProcessing = z.strictObject({
  smart_crop: flag,
  size: z.tuple([range(16, 8192, { int: true }), range(16, 8192, { int: true })], {
    error: "must be [width, height]",
  }),
  min_size: range(1, 8192, { int: true }),
  preserve_aspect_ratio: flag,
  jpeg_quality: range(1, 100, { int: true }),
  optimize: flag,
  format: z.enum(["JPEG", "jpeg"], { error: 'must be "JPEG"' }),
  noise_reduction: NoiseReduction,
  color_balance: ColorBalance,
  limits: Limits,
}, { error: "must be an object" }).partial();

type ImageProcessingOverride = z.infer<typeof ImageProcessing>;

// --- parsing ---------------------------------------------------------------------------------

function show(v: unknown): string {
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

function dotted(prefix: string, path: readonly PropertyKey[]): string {
  let key = prefix.endsWith(".") ? prefix.slice(0, -1) : prefix;
  for (const p of path) key += typeof p === "number" ? `[${p}]` : key ? `.${String(p)}` : String(p);
  return key;
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let v = root;
  for (const p of path) v = (v as Record<PropertyKey, unknown> | undefined)?.[p];
  return v;
}

/** Validates with `schema`; the first zod issue becomes an ImageConfigError naming its key. */
function validate<T>(
  schema: z.ZodType<T>,
  input: unknown,
  prefix: string,
  shapes: Record<string, unknown> = schemaShapes,
): T {
  const r = schema.safeParse(input);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  if (issue.code === "unrecognized_keys") {
    const allowed = Object.keys(
      (valueAt(shapes, issue.path) as Record<string, unknown> | undefined) ?? {},
    );
    throw new ImageConfigError(
      dotted(prefix, [...issue.path, issue.keys[0]!]),
      `unknown key${allowed.length ? ` (allowed: ${allowed.join(", ")})` : ""}`,
    );
  }
  const key = dotted(prefix, issue.path);
  throw new ImageConfigError(key, `${issue.message}, got ${show(valueAt(input, issue.path))}`);
}

/** The key names of each object schema, for "unknown key (allowed: …)" messages. */
const schemaShapes: Record<string, unknown> = {
  ...ImageProcessing.shape,
  noise_reduction: NoiseReduction.shape,
  color_balance: ColorBalance.shape,
  limits: Limits.shape,
};

function merge(base: ImageConfig, o: ImageProcessingOverride): ImageConfig {
  const out: ImageConfig = structuredClone(base);
  const { noise_reduction, color_balance, limits, size, format: _format, ...flat } = o;
  Object.assign(out, flat);
  if (size) out.size = [size[0], size[1]];
  if (noise_reduction) Object.assign(out.noise_reduction, noise_reduction);
  if (color_balance) Object.assign(out.color_balance, color_balance);
  if (limits) Object.assign(out.limits, limits);
  return out;
}

function checkMinSize(out: ImageConfig, o: ImageProcessingOverride, prefix: string): void {
  if (out.min_size > Math.min(out.size[0], out.size[1])) {
    throw new ImageConfigError(
      dotted(prefix, [o.min_size !== undefined ? "min_size" : "size"]),
      `min_size ${out.min_size} is larger than the smaller side of size [${out.size.join(", ")}]`,
    );
  }
}

/**
 * Validates a (partial) `image_processing` object and merges it over `base` (defaults when
 * omitted), within the absolute ranges: the operator's own configuration. `prefix` names keys
 * in errors. Per-request overrides go through parseImageRequestOverride instead.
 */
export function parseImageProcessingConfig(
  override: unknown,
  base: ImageConfig = defaultImageConfig(),
  prefix = "image_processing.",
): ImageConfig {
  if (override === undefined || override === null) return structuredClone(base);
  const o = validate(ImageProcessing, override, prefix);
  const out = merge(base, o);
  checkMinSize(out, o, prefix);
  return out;
}

/**
 * A request's `image_processing` override merged over the operator's configuration `base`:
 * the same validation, and no cost may rise above the operator's limits (bytes, megapixels,
 * sides, output size, filter diameter). A value above its ceiling is a 400 naming the key.
 */
export function parseImageRequestOverride(
  override: unknown,
  base: ImageConfig,
  prefix = "image_processing.",
): ImageConfig {
  const out = parseImageProcessingConfig(override, base, prefix);
  if (override === undefined || override === null) return out;
  const o = override as ImageProcessingOverride;
  const ceiling = (path: PropertyKey[], value: number, max: number, what: string) => {
    if (value > max) {
      throw new ImageConfigError(
        dotted(prefix, path),
        `may only lower the server's limit: ${value} is above its ${what} of ${max}`,
      );
    }
  };
  for (const k of Object.keys(o.limits ?? {}) as (keyof LimitsConfig)[]) {
    ceiling(["limits", k], out.limits[k], base.limits[k], k);
  }
  const maxOut = base.limits.max_output_side;
  if (o.size) {
    ceiling(["size", 0], out.size[0], maxOut, "max_output_side");
    ceiling(["size", 1], out.size[1], maxOut, "max_output_side");
  }
  if (o.min_size !== undefined) ceiling(["min_size"], out.min_size, maxOut, "max_output_side");
  if (o.noise_reduction?.diameter !== undefined) {
    const max = base.limits.max_filter_diameter;
    ceiling(
      ["noise_reduction", "diameter"],
      out.noise_reduction.diameter,
      max,
      "max_filter_diameter",
    );
  }
  return out;
}

/**
 * Parses a whole config document (the config file): `{ image_processing?, noise_reduction?,
 * color_balance?, ... }`. Other top-level keys (a top-level `limits` too: the HTTP layer's
 * request limits) belong to other modules and are ignored; image limits sit in
 * `image_processing.limits`.
 */
export function parseImageConfigFile(
  doc: unknown,
  base: ImageConfig = defaultImageConfig(),
): ImageConfig {
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) {
    throw new ImageConfigError("(root)", `config must be a JSON object, got ${show(doc)}`);
  }
  const d = doc as Record<string, unknown>;
  let cfg = parseImageProcessingConfig(d.image_processing, base, "image_processing.");
  if (d.noise_reduction !== undefined) {
    const nr = validate(
      NoiseReduction,
      d.noise_reduction,
      "noise_reduction.",
      NoiseReduction.shape,
    );
    cfg = merge(cfg, { noise_reduction: nr });
  }
  if (d.color_balance !== undefined) {
    const cb = validate(ColorBalance, d.color_balance, "color_balance.", ColorBalance.shape);
    cfg = merge(cfg, { color_balance: cb });
  }
  if (cfg.size[0] > cfg.limits.max_output_side || cfg.size[1] > cfg.limits.max_output_side) {
    throw new ImageConfigError(
      "image_processing.size",
      `[${
        cfg.size.join(", ")
      }] is above image_processing.limits.max_output_side ${cfg.limits.max_output_side}`,
    );
  }
  if (cfg.noise_reduction.diameter > cfg.limits.max_filter_diameter) {
    throw new ImageConfigError(
      "noise_reduction.diameter",
      `${cfg.noise_reduction.diameter} is above image_processing.limits.max_filter_diameter ${cfg.limits.max_filter_diameter}`,
    );
  }
  return cfg;
}
