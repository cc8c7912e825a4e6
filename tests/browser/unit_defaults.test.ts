import assert from "node:assert/strict";
import { PIPELINE_DEFAULTS, processingDefaultsFromInfo } from "../../static/js/defaults.js";
import { DEFAULT_IMAGE_CONFIG } from "../../src/image/config.ts";

Deno.test("processingDefaultsFromInfo() starts from the pipeline's defaults when none are configured", () => {
  const all = { smartCrop: true, noiseReduction: true, colorBalance: true };
  assert.deepEqual(processingDefaultsFromInfo({ config: { image_processing: null } }), all);
  assert.deepEqual(processingDefaultsFromInfo(null), all);
  assert.deepEqual(processingDefaultsFromInfo("not json"), all);
});

Deno.test("PIPELINE_DEFAULTS matches src/image's DEFAULT_IMAGE_CONFIG", () => {
  assert.deepEqual(PIPELINE_DEFAULTS, {
    smartCrop: DEFAULT_IMAGE_CONFIG.smart_crop,
    noiseReduction: DEFAULT_IMAGE_CONFIG.noise_reduction.enabled,
    colorBalance: DEFAULT_IMAGE_CONFIG.color_balance.enabled,
  });
});

Deno.test("processingDefaultsFromInfo() takes the configured switches, key by key", () => {
  const info = {
    config: { image_processing: { smart_crop: false, noise_reduction: { enabled: false } } },
  };
  assert.deepEqual(processingDefaultsFromInfo(info), {
    smartCrop: false,
    noiseReduction: false,
    colorBalance: true,
  });
  const effective = {
    image_processing_defaults: { color_balance: { enabled: false } },
    config: { image_processing: { color_balance: { enabled: true } } },
  };
  assert.equal(processingDefaultsFromInfo(effective).colorBalance, false, "effective values win");
  assert.equal(
    processingDefaultsFromInfo({ config: { image_processing: { smart_crop: "yes" } } }).smartCrop,
    true,
    "a value of the wrong type falls back to the default",
  );
});
