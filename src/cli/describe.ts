/**
 * `./run describe`: one-shot answer about one or more images, streamed to stdout, with the
 * engine's usage and timings on stderr. Images go through the same pipeline as the API's
 * (validation, EXIF orientation, crop, resize, denoise, colour balance: createImageProcessor
 * with the default image_processing), so a photo gets the same prompt as through the server.
 * Every failure is one line on stderr: exit code 2 for bad usage (a missing or malformed flag,
 * checked before anything loads), 1 otherwise.
 */
import { parseArgs } from "node:util";
import { ImageError } from "../image/errors.ts";
import { closeSharedIsolatedPipeline } from "../image/isolated.ts";
import { closeSharedImagePool } from "../image/workers.ts";
import { createImageProcessor } from "../http/image_adapter.ts";
import {
  type ChatContentPart,
  EngineError,
  type EngineInfo,
  loadEngine,
  type VideoClip,
} from "../engine/mod.ts";
import { frameOverride } from "../http/chat/video.ts";
import {
  decodeClip,
  decoderFromEnv,
  DEFAULT_VIDEO_CONFIG,
  FfmpegDecoder,
  locateDecoder,
  rgbToBmp,
  VideoError,
} from "../video/mod.ts";

/** describe's flags, for node:util parseArgs (the launcher parses with the same table). */
export const DESCRIBE_OPTIONS = {
  model: { type: "string" },
  mmproj: { type: "string" },
  image: { type: "string", multiple: true },
  video: { type: "string" },
  prompt: { type: "string" },
  "max-tokens": { type: "string" },
  temperature: { type: "string" },
  seed: { type: "string" },
  ctx: { type: "string" },
  threads: { type: "string" },
  "max-image-size": { type: "string" },
  json: { type: "boolean", default: false },
  help: { type: "boolean", short: "h", default: false },
} as const;

export const DESCRIBE_USAGE =
  `usage: ./run describe --model M.gguf [--mmproj P.gguf] [--image I ...] [--video V] [options]
  --video FILE         an mp4 or webm clip, sampled as SmolVLM2 does (needs ffmpeg)
  --prompt TEXT        question (default "Describe this image." / "Describe this video.")
  --max-tokens N       completion limit (default 256)
  --temperature T      0 = greedy (default 0)
  --seed N             sampling seed
  --ctx N              context size (default 4096)
  --threads N          CPU threads (default: all cores)
  --max-image-size N   longest image side the tiler works at (default 1024)
  --json               print the result as JSON instead of streaming text`;
const USAGE = DESCRIBE_USAGE;

function errorLine(error: unknown): string {
  if (error instanceof EngineError || error instanceof ImageError || error instanceof VideoError) {
    return error.message;
  }
  if (error instanceof Deno.errors.NotCapable || error instanceof Deno.errors.PermissionDenied) {
    return `permission denied: ${error.message.split("\n")[0]}`;
  }
  if (error instanceof Error) return `${error.name}: ${error.message.split("\n")[0]}`;
  return String(error);
}

let images: ReturnType<typeof createImageProcessor> | null = null;

async function readImage(path: string) {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) throw new Error(`image not found: ${path}`);
    throw error;
  }
  try {
    images ??= createImageProcessor({ defaults: null });
    // Read before the model loads (a bad file fails fast); describe prints no report, so no
    // tile estimate is asked for.
    const config = images.resolveConfig(null);
    return (await images.process(bytes, null, config, { tiling: null })).image;
  } catch (error) {
    throw new Error(`cannot read image ${path}: ${errorLine(error)}`);
  }
}

/** ffmpeg as the launcher handed it over, else the first one on PATH (a direct run). */
function cliDecoder(): FfmpegDecoder | null {
  const handed = decoderFromEnv();
  if (handed) return handed;
  try {
    const paths = locateDecoder();
    return paths ? new FfmpegDecoder(paths) : null;
  } catch {
    return null; // no permission to look
  }
}

/** A clip's sampled frames, each through the image pipeline as the server does. */
async function readVideo(path: string, tileSize: number): Promise<VideoClip> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) throw new Error(`video not found: ${path}`);
    throw error;
  }
  const service = { decoder: cliDecoder(), config: DEFAULT_VIDEO_CONFIG };
  const clip = await decodeClip(service, bytes, null, tileSize).catch((error) => {
    throw new Error(`cannot read video ${path}: ${errorLine(error)}`);
  });
  images ??= createImageProcessor({ defaults: null });
  const config = images.resolveConfig(frameOverride(null, tileSize));
  const frames = [];
  for (const [i, rgb] of clip.frames.entries()) {
    const bmp = rgbToBmp(clip.side, clip.side, rgb);
    const { image } = await images.process(bmp, "image/bmp", config, { tiling: null });
    frames.push({ image, timestamp: clip.timestamps[i]! });
  }
  return { frames, duration: clip.duration };
}

/** The side video frames are squared to: the projector's tile side, which --video needs. */
function videoTileSize(info: EngineInfo): number {
  const tileSize = info.tiling?.tileSize;
  if (tileSize === undefined) {
    throw new Error(
      `--video: ${info.mmprojPath} gives no vision tile size (clip.vision.image_size)`,
    );
  }
  return tileSize;
}

/** A malformed flag value (exit code 2). */
class DescribeUsageError extends Error {}

function integerFlag(name: string, value: string | undefined, min: number): number | undefined {
  if (value === undefined) return undefined;
  const n = value.trim() === "" ? NaN : Number(value);
  if (!Number.isInteger(n) || n < min) {
    throw new DescribeUsageError(
      `--${name} must be ${min === 0 ? "a non-negative" : "a positive"} integer, got ${
        JSON.stringify(value)
      }`,
    );
  }
  return n;
}

/** The numeric flags, all checked before an image is read or the model loads. */
function numericFlags(values: Record<string, string | boolean | string[] | undefined>) {
  const text = (name: string) => values[name] as string | undefined;
  const given = text("temperature");
  const temperature = given === undefined ? 0 : given.trim() === "" ? NaN : Number(given);
  if (!Number.isFinite(temperature) || temperature < 0) {
    throw new DescribeUsageError(
      `--temperature must be a number >= 0, got ${JSON.stringify(given)}`,
    );
  }
  return {
    temperature,
    contextSize: integerFlag("ctx", text("ctx"), 1),
    threads: integerFlag("threads", text("threads"), 1),
    maxImageSize: integerFlag("max-image-size", text("max-image-size"), 1),
    maxTokens: integerFlag("max-tokens", text("max-tokens"), 1),
    seed: integerFlag("seed", text("seed"), 0),
  };
}

export async function runDescribe(args: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: DESCRIBE_OPTIONS,
    }));
  } catch (error) {
    console.error(`describe: ${errorLine(error)}\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (!values.model) {
    console.error(`describe: --model is required\n${USAGE}`);
    return 2;
  }
  const imagePaths = values.image ?? [];
  if ((imagePaths.length > 0 || values.video) && !values.mmproj) {
    console.error("describe: --image and --video need --mmproj (the vision projector GGUF)");
    return 2;
  }
  const prompt = values.prompt ??
    (values.video ? "Describe this video." : "Describe this image.");
  let numbers;
  try {
    numbers = numericFlags(values);
  } catch (error) {
    console.error(`describe: ${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  try {
    const pictures = await Promise.all(imagePaths.map(readImage));
    await using engine = await loadEngine({
      modelPath: values.model,
      mmprojPath: values.mmproj,
      contextSize: numbers.contextSize,
      threads: numbers.threads,
      maxImageSize: numbers.maxImageSize,
    });
    // Frames are squared to the model's own tile side, as the API does.
    const video = values.video ? await readVideo(values.video, videoTileSize(engine.info)) : null;
    const content: ChatContentPart[] = [
      ...pictures.map((image) => ({ type: "image" as const, image })),
      ...(video ? [{ type: "video" as const, video }] : []),
      { type: "text", text: prompt },
    ];
    const generation = engine.generate({
      messages: [{ role: "user", content }],
      maxTokens: numbers.maxTokens,
      sampling: { temperature: numbers.temperature, seed: numbers.seed },
    });
    const out = new TextEncoder();
    if (!values.json) {
      for await (const delta of generation) await Deno.stdout.write(out.encode(delta.text));
      await Deno.stdout.write(out.encode("\n"));
    }
    const result = await generation.result;
    if (values.json) {
      console.log(JSON.stringify(result, null, 2));
    } else {
      const t = result.timings;
      console.error(
        `\n[describe] ${result.finishReason}: prompt ${result.usage.promptTokens} tokens ` +
          `(${result.usage.imageTokens} image, ${t.imageEncoderPasses} encoder passes), ` +
          `completion ${result.usage.completionTokens} tokens\n` +
          `[describe] tokenize ${t.tokenizeMs.toFixed(1)} ms, encode ${
            t.encodeMs.toFixed(1)
          } ms, ` +
          `prefill ${t.prefillMs.toFixed(1)} ms (${t.prefillTokensPerSecond.toFixed(1)} tok/s), ` +
          `decode ${t.decodeMs.toFixed(1)} ms (${t.decodeTokensPerSecond.toFixed(1)} tok/s), ` +
          `total ${t.totalMs.toFixed(1)} ms`,
      );
    }
    return 0;
  } catch (error) {
    console.error(`describe: ${errorLine(error)}`);
    return 1;
  } finally {
    // The pipeline's worker threads would keep the process alive.
    closeSharedImagePool();
    closeSharedIsolatedPipeline();
  }
}
