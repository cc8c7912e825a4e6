/**
 * The one place that binds the HTTP layer to the image pipeline (src/image/): per-request
 * `image_processing` overrides are validated and merged over the configured defaults by
 * `parseImageProcessingConfig`, and each image goes through the isolated pipeline (validation,
 * EXIF orientation, smart crop, resize, denoise, LAB balance → RGB pixels, all in a worker under
 * a deadline, so no byte of an upload is parsed on the main thread). Its report is returned in
 * snake_case as one entry of the response's `image_reports`.
 *
 * @module
 */
import {
  type ImageConfig,
  parseImageProcessingConfig,
  parseImageRequestOverride,
} from "../image/config.ts";
import { getSharedIsolatedPipeline, type IsolatedImagePipeline } from "../image/isolated.ts";
import type { ImageProcessor, PreparedImage } from "./images.ts";

export interface ImageAdapterOptions {
  /** Configured defaults (config file `image_processing`). */
  readonly defaults: Readonly<Record<string, unknown>> | null;
  /** Where images are processed. Default: the process-wide isolated pipeline. */
  readonly pipeline?: IsolatedImagePipeline;
}

/** The ImageProcessor the server uses. Throws ImageConfigError for bad configured defaults. */
export function createImageProcessor(opts: ImageAdapterOptions): ImageProcessor {
  const base = parseImageProcessingConfig(opts.defaults ?? undefined);
  const pipeline = opts.pipeline ?? getSharedIsolatedPipeline();
  pipeline.start(); // the first image should not wait for workers to boot
  return {
    resolveConfig(override): ImageConfig {
      return override ? parseImageRequestOverride(override, base) : base;
    },
    parseJsonBody(bytes, signal) {
      // Strings shorter than this cost less to decode here than a worker round trip.
      return pipeline.parseJson(bytes, { nonce: crypto.randomUUID(), minLength: 4096, signal });
    },
    async process(bytes, declaredMime, config, { tiling, signal }): Promise<PreparedImage> {
      // The bytes are used once, so their buffer moves to the worker instead of being copied.
      const { image, report: r } = await pipeline.process(
        { bytes, mime: declaredMime ?? undefined },
        config as ImageConfig,
        { signal, transfer: true, tiling },
      );
      return {
        image,
        report: {
          format: r.format,
          mime: r.mime,
          bytes: r.bytes,
          original: r.original,
          orientation: r.orientation,
          oriented: r.oriented,
          crop_box: r.crop
            ? { x: r.crop.x, y: r.crop.y, width: r.crop.width, height: r.crop.height }
            : null,
          crop_trimmed_borders: r.crop?.trimmedBorders ?? false,
          crop_salient: r.crop?.salient ?? false,
          processed: { width: image.width, height: image.height },
          resampled: r.resized.resampled,
          decode_scale: r.decodeScale,
          denoised: r.denoised,
          color_balanced: r.colorBalanced,
          tiles: r.tiles,
          stages_ms: r.stagesMs,
          total_ms: round2(r.totalMs),
          threads: r.threads,
        },
      };
    },
  };
}

function round2(n: number): number {
  return Math.round(n * 100) / 100;
}
