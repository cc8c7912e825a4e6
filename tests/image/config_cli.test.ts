import assert from "node:assert/strict";
import { runPreprocess } from "../../src/cli/preprocess.ts";
import { decodeImage, encodeJpeg, encodePng } from "../../src/image/codecs.ts";
import {
  DEFAULT_IMAGE_CONFIG,
  defaultImageConfig,
  parseImageConfigFile,
  parseImageProcessingConfig,
} from "../../src/image/config.ts";
import { ImageConfigError } from "../../src/image/errors.ts";
import { preprocessImage } from "../../src/image/pipeline.ts";
import { ImagePool } from "../../src/image/workers.ts";
import { psnr, textured } from "./helpers.ts";

Deno.test("defaults are the seed's (1024x1024, min 512, q95, bilateral 9/75/75, LAB 1.2/1.1)", () => {
  const c = defaultImageConfig();
  assert.deepEqual(c.size, [1024, 1024]);
  assert.equal(c.min_size, 512);
  assert.equal(c.preserve_aspect_ratio, true);
  assert.equal(c.jpeg_quality, 95);
  assert.deepEqual(
    [
      c.noise_reduction.method,
      c.noise_reduction.diameter,
      c.noise_reduction.sigma_color,
      c.noise_reduction.sigma_space,
    ],
    ["bilateral", 9, 75, 75],
  );
  assert.deepEqual([
    c.color_balance.method,
    c.color_balance.l_channel_boost,
    c.color_balance.ab_channel_boost,
  ], [
    "lab",
    1.2,
    1.1,
  ]);
  assert.deepEqual(parseImageProcessingConfig({}), c);
  assert.deepEqual(parseImageProcessingConfig(undefined), c);
});

Deno.test("config file and per-request overrides merge; missing keys fall back to defaults", () => {
  const file = parseImageConfigFile({
    image_processing: { size: [800, 600], jpeg_quality: 80 },
    noise_reduction: { diameter: 5 },
    other_module: { anything: true },
  });
  assert.deepEqual(file.size, [800, 600]);
  assert.equal(file.noise_reduction.diameter, 5);
  assert.equal(file.noise_reduction.sigma_color, 75);
  const req = parseImageProcessingConfig(
    { color_balance: { enabled: false }, min_size: 256 },
    file,
  );
  assert.equal(req.color_balance.enabled, false);
  assert.equal(req.min_size, 256);
  assert.equal(req.jpeg_quality, 80);
  assert.equal(DEFAULT_IMAGE_CONFIG.jpeg_quality, 95);
});

Deno.test("invalid config values are rejected with a message naming the key", () => {
  const cases: [unknown, string][] = [
    [{ noise_reduction: { diameter: 0 } }, "image_processing.noise_reduction.diameter"],
    [{ noise_reduction: { diameter: "9" } }, "image_processing.noise_reduction.diameter"],
    [{ noise_reduction: { method: "median" } }, "image_processing.noise_reduction.method"],
    [{ noise_reduction: { sigma_color: -1 } }, "image_processing.noise_reduction.sigma_color"],
    [{ color_balance: { l_channel_boost: 0 } }, "image_processing.color_balance.l_channel_boost"],
    [{ color_balance: { method: "hsv" } }, "image_processing.color_balance.method"],
    [{ size: [1024] }, "image_processing.size"],
    [{ size: [1024, 0] }, "image_processing.size[1]"],
    [{ min_size: 2048 }, "image_processing.min_size"],
    [{ jpeg_quality: 101 }, "image_processing.jpeg_quality"],
    [{ smart_crop: "yes" }, "image_processing.smart_crop"],
    [{ optimise: true }, "image_processing.optimise"],
    [{ limits: { max_megapixels: 0 } }, "image_processing.limits.max_megapixels"],
    ["big", "image_processing"],
  ];
  for (const [input, key] of cases) {
    assert.throws(() => parseImageProcessingConfig(input), (e: unknown) => {
      assert.ok(e instanceof ImageConfigError, String(e));
      assert.equal(e.key, key);
      assert.equal(e.status, 400);
      assert.equal(e.code, "invalid_image_config");
      assert.ok(e.message.startsWith(key), e.message);
      return true;
    });
  }
  assert.throws(
    () => parseImageConfigFile({ color_balance: { ab_channel_boost: "x" } }),
    (e: unknown) => e instanceof ImageConfigError && e.key === "color_balance.ab_channel_boost",
  );
});

Deno.test("preprocessImage() with a worker pool equals the single-thread result", async () => {
  const jpeg = await encodeJpeg(textured(1300, 900, 2), 90);
  using pool = new ImagePool(2);
  const a = await preprocessImage(jpeg, undefined, { pool, output: "jpeg" });
  const b = await preprocessImage(jpeg, undefined, { pool: null });
  assert.deepEqual(a.image.data, b.image.data);
  assert.deepEqual([a.image.width, a.image.height], [1024, 709]);
  assert.equal(a.report.threads, 2);
  assert.ok(a.jpeg && a.jpeg.length > 1000);
  const back = await decodeImage(a.jpeg!);
  assert.ok(psnr(back.data, a.image.data) > 30);
  for (
    const k of ["validate", "decode", "orient", "crop", "resize", "denoise", "color", "encode"]
  ) {
    assert.equal(typeof a.report.stagesMs[k], "number", k);
  }
});

Deno.test("encodeJpeg() optimized Huffman tables are smaller and decode identically", async () => {
  const img = textured(160, 120, 7);
  const opt = await encodeJpeg(img, 95, true);
  const std = await encodeJpeg(img, 95, false);
  assert.ok(opt.length < std.length, `${opt.length} vs ${std.length}`);
  assert.deepEqual((await decodeImage(opt)).data, (await decodeImage(std)).data);
  // Quality on a smooth image (the textured one has chroma detail that 4:2:0 discards).
  const smooth = { width: 96, height: 64, data: new Uint8Array(96 * 64 * 3) };
  for (let i = 0; i < 96 * 64; i++) {
    const x = i % 96, y = Math.floor(i / 96);
    smooth.data.set([x * 2, y * 3, 255 - x - y], i * 3);
  }
  assert.ok(psnr((await decodeImage(await encodeJpeg(smooth, 95))).data, smooth.data) > 38);
});

async function capture(
  fn: () => Promise<number>,
): Promise<{ code: number; out: string; err: string }> {
  const log = console.log, error = console.error;
  let out = "", err = "";
  console.log = (...a: unknown[]) => void (out += a.join(" ") + "\n");
  console.error = (...a: unknown[]) => void (err += a.join(" ") + "\n");
  try {
    return { code: await fn(), out, err };
  } finally {
    console.log = log;
    console.error = error;
  }
}

Deno.test("preprocess CLI writes the result, prints the report and reproduces input when disabled", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const img = textured(640, 520, 3);
    await Deno.writeFile(`${dir}/in.png`, await encodePng(img));
    await Deno.writeTextFile(
      `${dir}/cfg.json`,
      JSON.stringify({
        image_processing: {
          noise_reduction: { enabled: false },
          color_balance: { enabled: false },
        },
      }),
    );
    const r = await capture(() =>
      runPreprocess([
        `${dir}/in.png`,
        `${dir}/out.png`,
        "--config",
        `${dir}/cfg.json`,
        "--tile-size",
        "512",
      ])
    );
    assert.equal(r.code, 0, r.err);
    for (
      const word of [
        "format:",
        "original:",
        "orientation:",
        "crop:",
        "resized:",
        "tiles:",
        "stages ms:",
      ]
    ) {
      assert.ok(r.out.includes(word), `${word} in\n${r.out}`);
    }
    // 640x520 rounds to one 512 px tile, plus the overview (llama.cpp tiling, no budget).
    assert.match(r.out, /tiles:\s+1x1 \(2 encoder passes\)/);
    const out = await decodeImage(await Deno.readFile(`${dir}/out.png`));
    assert.deepEqual(out.data, img.data);

    const r2 = await capture(() =>
      runPreprocess([`${dir}/in.png`, `${dir}/out2.png`, "--threads", "2"])
    );
    assert.equal(r2.code, 0, r2.err);
    // No model, no --tile-size: no tile estimate rather than a guessed tile side.
    assert.match(r2.out, /tiles:\s+no estimate \(--tile-size N/);
    const json = async (...extra: string[]) => {
      const r = await capture(() =>
        runPreprocess([`${dir}/in.png`, `${dir}/out3.png`, "--json", ...extra])
      );
      assert.equal(r.code, 0, r.err);
      return JSON.parse(r.out).tiles;
    };
    assert.deepEqual(await json("--tile-size", "512"), { cols: 1, rows: 1, passes: 2 });
    assert.equal(await json(), null);

    await Deno.writeFile(`${dir}/bad.jpg`, new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 0, 16, 1]));
    const r3 = await capture(() => runPreprocess([`${dir}/bad.jpg`, `${dir}/o.png`]));
    assert.equal(r3.code, 1);
    assert.equal(r3.err.trim().split("\n").length, 1, r3.err);
    assert.match(r3.err, /truncated or corrupt/);

    await Deno.writeTextFile(
      `${dir}/bad.json`,
      JSON.stringify({ image_processing: { jpeg_quality: 0 } }),
    );
    const r4 = await capture(() =>
      runPreprocess([`${dir}/in.png`, `${dir}/o.png`, "--config", `${dir}/bad.json`])
    );
    assert.equal(r4.code, 1);
    assert.match(r4.err, /image_processing\.jpeg_quality/);

    const r5 = await capture(() => runPreprocess([`${dir}/in.png`]));
    assert.equal(r5.code, 2);

    for (const bad of ["0", "-512", "1.5", "big"]) {
      const r6 = await capture(() =>
        runPreprocess([`${dir}/in.png`, `${dir}/o.png`, `--tile-size=${bad}`])
      );
      assert.equal(r6.code, 2, bad);
      assert.match(r6.err, /--tile-size must be an integer/, bad);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
