import assert from "node:assert/strict";
import {
  defaultImageConfig,
  parseImageConfigFile,
  parseImageRequestOverride,
} from "../../src/image/config.ts";
import { ImageConfigError } from "../../src/image/errors.ts";

Deno.test("parseImageRequestOverride() refuses every cost above the operator's limits", () => {
  const base = parseImageConfigFile({
    image_processing: {
      limits: {
        max_megapixels: 12,
        max_side: 4096,
        max_output_side: 1024,
        max_filter_diameter: 9,
        max_bytes: 1_000_000,
      },
    },
    noise_reduction: { diameter: 5 },
  });
  const cases: [unknown, string][] = [
    [{ limits: { max_megapixels: 1000 } }, "image_processing.limits.max_megapixels"],
    [{ limits: { max_side: 65535 } }, "image_processing.limits.max_side"],
    [{ limits: { max_bytes: 2 ** 31 } }, "image_processing.limits.max_bytes"],
    [{ limits: { max_output_side: 8192 } }, "image_processing.limits.max_output_side"],
    [{ limits: { max_filter_diameter: 31 } }, "image_processing.limits.max_filter_diameter"],
    [{ size: [8192, 512] }, "image_processing.size[0]"],
    [{ size: [512, 2048] }, "image_processing.size[1]"],
    [{ noise_reduction: { diameter: 31 } }, "image_processing.noise_reduction.diameter"],
  ];
  for (const [override, key] of cases) {
    assert.throws(() => parseImageRequestOverride(override, base), (e: unknown) => {
      assert.ok(e instanceof ImageConfigError, String(e));
      assert.equal(e.key, key);
      assert.equal(e.status, 400);
      assert.match(e.message, /may only lower the server's limit/);
      return true;
    });
  }
});

Deno.test("parseImageRequestOverride() lets a request lower any cost", () => {
  const base = defaultImageConfig();
  const r = parseImageRequestOverride({
    size: [512, 512],
    limits: { max_megapixels: 2, max_side: 2000, max_bytes: 1024 },
    noise_reduction: { diameter: 5 },
  }, base);
  assert.deepEqual(r.size, [512, 512]);
  assert.equal(r.limits.max_megapixels, 2);
  assert.equal(r.limits.max_bytes, 1024);
  assert.equal(r.noise_reduction.diameter, 5);
  assert.deepEqual(base, defaultImageConfig(), "the operator's config is not mutated");
});

Deno.test("parseImageConfigFile() keeps size and diameter inside the operator's own ceilings", () => {
  assert.throws(
    () => parseImageConfigFile({ image_processing: { size: [4096, 4096] } }),
    (e: unknown) => e instanceof ImageConfigError && e.key === "image_processing.size",
  );
  assert.throws(
    () => parseImageConfigFile({ noise_reduction: { diameter: 21 } }),
    (e: unknown) => e instanceof ImageConfigError && e.key === "noise_reduction.diameter",
  );
  const raised = parseImageConfigFile({
    image_processing: {
      size: [4096, 4096],
      limits: { max_output_side: 4096, max_filter_diameter: 21 },
    },
    noise_reduction: { diameter: 21 },
    limits: { max_images: 2 }, // the HTTP layer's, not ours
  });
  assert.equal(raised.size[0], 4096);
  assert.equal(raised.noise_reduction.diameter, 21);
});

Deno.test("config errors name the key, the value and what was expected", () => {
  const msg = (f: () => unknown) => {
    try {
      f();
    } catch (e) {
      return (e as Error).message;
    }
    return "";
  };
  const base = defaultImageConfig();
  assert.equal(
    msg(() => parseImageRequestOverride({ jpeg_quality: 101 }, base)),
    "image_processing.jpeg_quality: must be at least 1 and at most 100, got 101",
  );
  assert.equal(
    msg(() => parseImageRequestOverride({ size: [1024] }, base)),
    "image_processing.size: must be [width, height], got [1024]",
  );
  assert.equal(
    msg(() => parseImageRequestOverride({ noise_reduction: { sigma: 3 } }, base)),
    "image_processing.noise_reduction.sigma: unknown key (allowed: enabled, method, diameter, sigma_color, sigma_space)",
  );
  assert.equal(
    msg(() => parseImageConfigFile({ color_balance: { enabled: "yes" } })),
    'color_balance.enabled: must be true or false, got "yes"',
  );
});

Deno.test("parseImageConfigFile() accepts the seed's image_processing block as written", () => {
  const c = parseImageConfigFile({
    image_processing: {
      smart_crop: true,
      size: [1024, 1024],
      min_size: 512,
      preserve_aspect_ratio: true,
      format: "JPEG",
      jpeg_quality: 95,
      optimize: true,
    },
  });
  assert.deepEqual(c, defaultImageConfig());
});
