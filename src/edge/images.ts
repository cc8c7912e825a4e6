/**
 * Image preprocessing at the edge: every `data:` image in a chat request runs through the
 * isolated image pipeline (validated, decoded, oriented, cropped, resized, filtered in a worker
 * under a deadline) and is replaced by the pipeline's JPEG, so a 12 MP photo travels upstream
 * as a ~1024 px JPEG. When no pixel stage ran, the original bytes stay. Remote (http) image
 * URLs pass through: the edge fetches nothing.
 *
 * @module
 */
import { type ImageConfig, parseImageRequestOverride } from "../image/config.ts";
import { ImageConfigError, ImageError } from "../image/errors.ts";
import type { IsolatedImagePipeline } from "../image/isolated.ts";
import type { PreprocessReport } from "../image/pipeline.ts";
import { parseDataUrl } from "../image/validate.ts";
import { EdgeError, invalidRequest } from "./errors.ts";
import { type EdgeChatRequest, isImagePart, isVideoPart } from "./request_schema.ts";

/**
 * Sent upstream in place of the client's `image_processing` once the edge has done the pixel
 * work, so this service does not filter the image a second time. Other upstreams ignore it.
 */
export const ALREADY_PROCESSED = Object.freeze({
  smart_crop: false,
  noise_reduction: { enabled: false },
  color_balance: { enabled: false },
});

export interface EdgeImageStats {
  images: number;
  bytesIn: number;
  bytesOut: number;
  /** Images forwarded as sent because no pixel stage ran. */
  unchanged: number;
}

/** Whether the pipeline changed any pixel (otherwise the original bytes are forwarded). */
export function pixelStageRan(r: PreprocessReport): boolean {
  return r.orientation > 1 || r.crop !== null || r.resized.resampled || r.denoised ||
    r.colorBalanced;
}

function base64(bytes: Uint8Array): string {
  // Chunked: String.fromCharCode over a large array would exceed the argument limit.
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(s);
}

function toEdgeError(e: unknown, param: string): EdgeError {
  if (e instanceof ImageConfigError) return invalidRequest(e.message, e.key);
  if (e instanceof ImageError) {
    return new EdgeError(e.status, "invalid_request_error", e.message, e.code, param);
  }
  throw e;
}

function hasVideo(body: EdgeChatRequest): boolean {
  return body.messages.some((m) => Array.isArray(m.content) && m.content.some(isVideoPart));
}

/**
 * Rewrites the request's data: images in place (body is the parsed JSON, mutated) and returns
 * what happened. Throws EdgeError for a bad image or image_processing value.
 */
export async function preprocessRequestImages(
  body: EdgeChatRequest,
  pipeline: IsolatedImagePipeline,
  base: ImageConfig,
  signal?: AbortSignal,
): Promise<EdgeImageStats> {
  const stats: EdgeImageStats = { images: 0, bytesIn: 0, bytesOut: 0, unchanged: 0 };
  // One image_processing covers a request's images and video frames alike: the edge cannot tell
  // the upstream "images done, frames not", so a request with video goes as sent.
  if (hasVideo(body)) return stats;
  const jobs: Promise<void>[] = [];
  let config: ImageConfig | null = null;
  body.messages.forEach((m, i) => {
    if (!Array.isArray(m.content)) return;
    m.content.forEach((p, j) => {
      if (!isImagePart(p)) return;
      const url = typeof p.image_url === "string" ? p.image_url : p.image_url.url;
      if (!url.startsWith("data:")) return;
      const param = `messages[${i}].content[${j}].image_url`;
      try {
        config ??= parseImageRequestOverride(body.image_processing ?? undefined, base);
      } catch (e) {
        throw toEdgeError(e, "image_processing");
      }
      const cfg = config;
      jobs.push((async () => {
        let parsed;
        try {
          parsed = parseDataUrl(url);
        } catch (e) {
          throw toEdgeError(e, param);
        }
        stats.images++;
        stats.bytesIn += parsed.bytes.length;
        let result;
        try {
          // No tile estimate (tiling null): the edge has no model, and the upstream that
          // has one reports its own tiles for the JPEG it receives.
          result = await pipeline.process(parsed, cfg, { signal, output: "jpeg", tiling: null });
        } catch (e) {
          throw toEdgeError(e, param);
        }
        if (!pixelStageRan(result.report) || !result.jpeg) {
          stats.unchanged++;
          stats.bytesOut += parsed.bytes.length;
          return;
        }
        stats.bytesOut += result.jpeg.length;
        const next = `data:image/jpeg;base64,${base64(result.jpeg)}`;
        if (typeof p.image_url === "string") p.image_url = next;
        else p.image_url.url = next;
      })());
    });
  });
  const settled = await Promise.allSettled(jobs);
  const failed = settled.find((s) => s.status === "rejected");
  if (failed) throw (failed as PromiseRejectedResult).reason;
  if (stats.images > stats.unchanged) body.image_processing = structuredClone(ALREADY_PROCESSED);
  return stats;
}
