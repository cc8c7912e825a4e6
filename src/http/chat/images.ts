/**
 * Resolve-images stage: each image part's URL → bytes → the image pipeline, in request order,
 * under the request's abort signal. The per-request `image_processing` override is resolved
 * first (the pipeline refuses values above the operator's defaults' ceilings).
 *
 * @module
 */
import type { ImageTiling, RgbImage, VideoClip } from "../../engine/mod.ts";
import { ImageError } from "../../image/errors.ts";
import type { JsonWithMedia } from "../../image/json_media.ts";
import { plainTiling } from "../../image/tiling.ts";
import type { AppContext } from "../context.ts";
import { ApiError, fromImageError } from "../errors.ts";
import { type ImageReport, loadImageBytes } from "../images.ts";
import { throwIfAborted } from "./aborts.ts";
import type { ImageDetail, ParsedChatRequest } from "./request_schema.ts";
import { frameOverride, resolveVideo } from "./video.ts";

export interface ResolvedImages {
  /** Decoded images in request order. */
  readonly rgb: readonly RgbImage[];
  /** Per entry of `rgb`: encoded as one tile (isSingleTile). */
  readonly singleTile: readonly boolean[];
  readonly reports: readonly ImageReport[];
  /** Video parts in request order, their frames decoded and preprocessed. */
  readonly videos: readonly VideoClip[];
  /** Of `ms`, the time ffmpeg spent decoding clips. */
  readonly videoDecodeMs: number;
  /** Time spent here, for `timings.image_preprocess_ms`. */
  readonly ms: number;
}

/** Calls `fn`, turning an image-pipeline error into a 400-class ApiError naming `param`. */
async function asParam<T>(param: string, fn: () => T | Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof ImageError) throw fromImageError(e, param);
    throw e;
  }
}

/**
 * Whether an image is encoded as one tile: `detail: "low"` always, "high" never, "auto" for a
 * realtime session's frames when the config says so (inference.session_image_detail).
 */
export function isSingleTile(
  detail: ImageDetail,
  sessionId: string | undefined,
  sessionDetail: "low" | "high",
): boolean {
  if (detail !== "auto") return detail === "low";
  return sessionId !== undefined && sessionDetail === "low";
}

export interface ResolveImagesOptions {
  /** Inline media the worker decoded while parsing the body (read_body.ts). */
  readonly media?: JsonWithMedia;
  /** The realtime session (X-Session-Id), which decides `detail: "auto"`. */
  readonly sessionId?: string;
  /**
   * How the model tiles an image (the engine's `info.tiling`): video frames and one-tile images
   * are squared to its tile side, and every report's tile estimate uses it. null: the model has
   * no vision tower, and an image or video part is refused before any of it is read.
   */
  readonly tiling: ImageTiling | null;
}

/** The 400 for an image or video sent to a model without a vision tower (as the engine's). */
function visionNotSupported(param: string): ApiError {
  return new ApiError(400, "this model has no vision projector (mmproj); it cannot take images", {
    param,
    code: "vision_not_supported",
  });
}

export async function resolveImages(
  ctx: AppContext,
  req: ParsedChatRequest,
  signal: AbortSignal,
  opts: ResolveImagesOptions,
): Promise<ResolvedImages> {
  const { media, sessionId, tiling } = opts;
  // Frames and one-tile images reach the encoder as one overview image, squared to a tile:
  // one pass.
  const overviewOnly = tiling && plainTiling(tiling.tileSize);
  const t0 = ctx.clock.perf();
  const config = await asParam(
    "image_processing",
    () => ctx.images.resolveConfig(req.imageProcessing),
  );
  const rgb: RgbImage[] = [];
  const singleTile: boolean[] = [];
  const reports: ImageReport[] = [];
  const videos: VideoClip[] = [];
  let videoDecodeMs = 0;
  // Video frames and single-tile images: the picture squared to one tile (frameOverride).
  let frameConfig: unknown = null;
  const tileConfig = async (side: number) =>
    frameConfig ??= await asParam(
      "image_processing",
      () => ctx.images.resolveConfig(frameOverride(req.imageProcessing, side)),
    );
  const processFrame = (bytes: Uint8Array, mime: string | null, param: string) =>
    asParam(
      param,
      () => ctx.images.process(bytes, mime, frameConfig, { tiling: overviewOnly, signal }),
    );
  for (const m of req.messages) {
    if (typeof m.content === "string") continue;
    for (const part of m.content) {
      if (part.type === "text") continue;
      if (tiling === null) throw visionNotSupported(part.param);
      const { tileSize } = tiling;
      if (part.type === "video") {
        await tileConfig(tileSize);
        const video = await resolveVideo(
          ctx,
          part.source,
          part.param,
          processFrame,
          signal,
          media,
          tileSize,
        );
        videos.push(video.clip);
        reports.push(...video.reports);
        videoDecodeMs += video.decodeMs;
        continue;
      }
      const loaded = await loadImageBytes(
        part.url,
        part.param,
        ctx.config.remoteImages,
        signal,
        media,
      );
      const single = isSingleTile(part.detail, sessionId, ctx.config.sessionImageDetail);
      // The model sees a one-tile image as its square overview: send it at that size.
      const partConfig = single ? await tileConfig(tileSize) : config;
      const prepared = await asParam(
        part.param,
        () =>
          ctx.images.process(loaded.bytes, loaded.mime, partConfig, {
            tiling: single ? overviewOnly : tiling,
            signal,
          }),
      );
      rgb.push(prepared.image);
      singleTile.push(single);
      reports.push(prepared.report);
      throwIfAborted(signal);
    }
  }
  throwIfAborted(signal);
  return { rgb, singleTile, reports, videos, videoDecodeMs, ms: ctx.clock.perf() - t0 };
}
