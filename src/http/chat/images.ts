/**
 * Resolve-images stage: each image part's URL → bytes → the image pipeline, in request order,
 * under the request's abort signal. The per-request `image_processing` override is resolved
 * first (the pipeline refuses values above the operator's defaults' ceilings).
 *
 * @module
 */
import type { Logger } from "@logtape/logtape";
import type { ImageTiling, RgbImage, VideoClip } from "../../engine/mod.ts";
import { ImageError } from "../../image/errors.ts";
import type { JsonWithMedia } from "../../image/json_media.ts";
import { plainTiling } from "../../image/tiling.ts";
import { type AppContext, round2 } from "../context.ts";
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
  /** Where the debug record of each prepared image or clip goes; default the app's logger. */
  readonly log?: Logger;
}

/** `640x480` */
function size(s: { readonly width: number; readonly height: number }): string {
  return `${s.width}x${s.height}`;
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
  const log = opts.log ?? ctx.log;
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
      const partT0 = ctx.clock.perf();
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
        log.debug(
          "chat {request_id} video {param} prepared in {ms} ms: {frames} frames {size_in} -> " +
            "{size_out}, decoding {decode_ms} ms",
          () => ({
            param: part.param,
            ms: round2(ctx.clock.perf() - partT0),
            frames: video.clip.frames.length,
            size_in: video.reports[0] ? size(video.reports[0].original) : null,
            size_out: video.reports[0] ? size(video.reports[0].processed) : null,
            decode_ms: round2(video.decodeMs),
          }),
        );
        continue;
      }
      const loaded = await loadImageBytes(
        part.url,
        part.param,
        ctx.config.remoteImages,
        signal,
        media,
      );
      const bytesIn = loaded.bytes.byteLength; // the buffer moves to the image worker
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
      log.debug(
        "chat {request_id} image {param} prepared in {ms} ms: {format} {size_in} -> {size_out}",
        () => ({
          param: part.param,
          // Loading the bytes (a remote fetch too) to the pixels back, worker queueing included.
          ms: round2(ctx.clock.perf() - partT0),
          format: prepared.report.format,
          bytes: bytesIn,
          size_in: size(prepared.report.original),
          size_out: size(prepared.report.processed),
          single_tile: single,
          tiles: prepared.report.tiles,
          stages_ms: prepared.report.stages_ms,
        }),
      );
      throwIfAborted(signal);
    }
  }
  throwIfAborted(signal);
  return { rgb, singleTile, reports, videos, videoDecodeMs, ms: ctx.clock.perf() - t0 };
}
