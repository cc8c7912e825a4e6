/**
 * `./run preprocess <input> <output.png> [--config <file.json>] [--jpeg <out.jpg>] [--threads N]
 * [--tile-size N]`
 * Runs the image pipeline as configured, writes the result and prints what it did. The tile
 * estimate needs the model's tile side (`--tile-size`, its projector's `clip.vision.image_size`):
 * without a model loaded there is no honest default, so without the flag there is no estimate.
 * With it, the estimate is llama.cpp's tiling at that side with no token budget and no
 * preprocess size (a loaded model's own rule is in the service's image reports).
 */
import { parseArgs } from "node:util";
import { encodePng } from "../image/codecs.ts";
import { defaultImageConfig, type ImageConfig, parseImageConfigFile } from "../image/config.ts";
import { ImageError } from "../image/errors.ts";
import { plainTiling, preprocessImage, type PreprocessReport } from "../image/pipeline.ts";
import { ImagePool } from "../image/workers.ts";

export const PREPROCESS_USAGE =
  "usage: ./run preprocess <input> <output.png> [--config <file.json>] [--jpeg <out.jpg>] [--threads N] [--tile-size N] [--json]";
const USAGE = PREPROCESS_USAGE;

/** preprocess's flags, for node:util parseArgs (the launcher parses with the same table). */
export const PREPROCESS_OPTIONS = {
  config: { type: "string" },
  jpeg: { type: "string" },
  threads: { type: "string" },
  "tile-size": { type: "string" },
  json: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

export function formatReport(r: PreprocessReport): string {
  const lines = [
    `format:      ${r.format} (${r.mime}, ${r.bytes} bytes)`,
    `original:    ${r.original.width}x${r.original.height}`,
    `orientation: ${r.orientation}${
      r.orientation > 1 ? ` -> ${r.oriented.width}x${r.oriented.height}` : ""
    }`,
    `decode:      scale 1/${Math.round(r.decodeScale * 100) / 100}`,
    `crop:        ${
      r.crop
        ? `x=${r.crop.x} y=${r.crop.y} w=${r.crop.width} h=${r.crop.height}` +
          `${r.crop.trimmedBorders ? " (borders trimmed)" : ""}${
            r.crop.salient ? " (salient window)" : ""
          }`
        : "none"
    }`,
    `resized:     ${r.resized.width}x${r.resized.height}${
      r.resized.resampled ? "" : " (not resampled)"
    }`,
    `denoise:     ${r.denoised ? "bilateral" : "off"}`,
    `color:       ${r.colorBalanced ? "lab" : "off"}`,
    `tiles:       ${
      r.tiles
        ? `${r.tiles.cols}x${r.tiles.rows} (${r.tiles.passes} encoder pass${
          r.tiles.passes === 1 ? "" : "es"
        })`
        : "no estimate (--tile-size N: the model's tile side, 512 for SmolVLM)"
    }`,
    `threads:     ${r.threads}`,
    `stages ms:   ${Object.entries(r.stagesMs).map(([k, v]) => `${k} ${v.toFixed(1)}`).join(", ")}`,
    `total ms:    ${r.totalMs.toFixed(1)}`,
  ];
  return lines.join("\n");
}

export async function runPreprocess(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: PREPROCESS_OPTIONS,
    });
  } catch (e) {
    console.error(`preprocess: ${e instanceof Error ? e.message : String(e)}\n${USAGE}`);
    return 2;
  }
  if (parsed.values.help) {
    console.log(USAGE);
    return 0;
  }
  const [input, output] = parsed.positionals;
  if (!input || !output || parsed.positionals.length > 2) {
    console.error(`preprocess: expected <input> and <output.png>\n${USAGE}`);
    return 2;
  }
  let threads = navigator.hardwareConcurrency || 1;
  if (parsed.values.threads !== undefined) {
    threads = Number(parsed.values.threads);
    if (!Number.isInteger(threads) || threads < 0 || threads > 256) {
      console.error(`preprocess: --threads must be an integer 0..256 (0 = no workers)`);
      return 2;
    }
  }
  let tileSize: number | null = null;
  if (parsed.values["tile-size"] !== undefined) {
    tileSize = Number(parsed.values["tile-size"]);
    if (!Number.isInteger(tileSize) || tileSize < 1 || tileSize > 65535) {
      console.error(`preprocess: --tile-size must be an integer 1..65535 (the model's tile side)`);
      return 2;
    }
  }
  let config: ImageConfig = defaultImageConfig();
  if (parsed.values.config) {
    let text: string;
    try {
      text = await Deno.readTextFile(parsed.values.config);
    } catch (e) {
      console.error(`preprocess: cannot read config ${parsed.values.config}: ${errMsg(e)}`);
      return 1;
    }
    try {
      config = parseImageConfigFile(JSON.parse(text));
    } catch (e) {
      console.error(`preprocess: invalid config ${parsed.values.config}: ${errMsg(e)}`);
      return 1;
    }
  }
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(input);
  } catch (e) {
    console.error(`preprocess: cannot read ${input}: ${errMsg(e)}`);
    return 1;
  }
  const pool = threads > 0 ? new ImagePool(threads) : null;
  try {
    const res = await preprocessImage(bytes, config, {
      pool,
      output: parsed.values.jpeg ? "jpeg" : "rgb",
      tiling: tileSize === null ? null : plainTiling(tileSize),
    });
    const png = await encodePng(res.image);
    await Deno.writeFile(output, png);
    if (parsed.values.jpeg && res.jpeg) await Deno.writeFile(parsed.values.jpeg, res.jpeg);
    if (parsed.values.json) console.log(JSON.stringify(res.report, null, 2));
    else console.log(`${formatReport(res.report)}\nwrote:       ${output}`);
    return 0;
  } catch (e) {
    if (e instanceof ImageError) {
      console.error(`preprocess: ${input}: ${e.message} [${e.code}, HTTP ${e.status}]`);
      return 1;
    }
    console.error(`preprocess: ${errMsg(e)}`);
    return 1;
  } finally {
    pool?.close();
  }
}

function errMsg(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

if (import.meta.main) Deno.exit(await runPreprocess(Deno.args));
