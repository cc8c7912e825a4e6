// @ts-check
/**
 * The image-processing toggles' starting values, from GET /v1/info. The server reports its
 * configured `image_processing` (the config file's, partial) under `config.image_processing`;
 * keys it leaves out take the pipeline's own defaults, copied here from DEFAULT_IMAGE_CONFIG in
 * src/image/config.ts (smart crop, noise reduction and colour balance all on). An
 * `image_processing_defaults` object, when the server publishes the effective values, wins.
 */

/** DEFAULT_IMAGE_CONFIG's switches (src/image/config.ts). */
export const PIPELINE_DEFAULTS = Object.freeze({
  smartCrop: true,
  noiseReduction: true,
  colorBalance: true,
});

/**
 * @param {unknown} v
 * @returns {Record<string, unknown> | null}
 */
function obj(v) {
  return typeof v === "object" && v !== null && !Array.isArray(v)
    ? /** @type {Record<string, unknown>} */ (v)
    : null;
}

/**
 * @param {Record<string, unknown> | null} section
 * @param {boolean} fallback
 */
function enabled(section, fallback) {
  const e = section?.["enabled"];
  return typeof e === "boolean" ? e : fallback;
}

/**
 * @param {unknown} info the parsed /v1/info body
 * @returns {{ smartCrop: boolean, noiseReduction: boolean, colorBalance: boolean }}
 */
export function processingDefaultsFromInfo(info) {
  const i = obj(info);
  const configured = obj(i?.["image_processing_defaults"]) ??
    obj(obj(i?.["config"])?.["image_processing"]);
  const crop = configured?.["smart_crop"];
  return {
    smartCrop: typeof crop === "boolean" ? crop : PIPELINE_DEFAULTS.smartCrop,
    noiseReduction: enabled(obj(configured?.["noise_reduction"]), PIPELINE_DEFAULTS.noiseReduction),
    colorBalance: enabled(obj(configured?.["color_balance"]), PIPELINE_DEFAULTS.colorBalance),
  };
}
