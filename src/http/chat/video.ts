/**
 * Resolve-video stage: one video part → the engine's VideoClip. Encoded clips (`video_url`) are
 * decoded by src/video (ffmpeg at the tile size, SmolVLM2's sampling); frames a client sampled
 * itself (`video_frames`) are loaded like image URLs. Either way every frame then goes through
 * the image pipeline with the request's options (denoise, colour balance), squared to the tile
 * size without a crop: a frame is one encoder pass, never tiled.
 *
 * @module
 */
import type { VideoClip, VideoFrame } from "../../engine/mod.ts";
import { decodeClip, rgbToBmp, VideoError } from "../../video/mod.ts";
import type { AppContext } from "../context.ts";
import { ApiError } from "../errors.ts";
import type { JsonWithMedia } from "../../image/json_media.ts";
import { type ImageReport, loadImageBytes } from "../images.ts";
import { throwIfAborted } from "./aborts.ts";
import type { ParsedVideoSource } from "./request_schema.ts";

/**
 * The request's `image_processing` with what makes a frame a frame: squared to `tileSize`, the
 * model's tile side (its projector's facts).
 */
export function frameOverride(
  override: Readonly<Record<string, unknown>> | null,
  tileSize: number,
): Record<string, unknown> {
  return {
    ...override,
    smart_crop: false,
    preserve_aspect_ratio: false,
    size: [tileSize, tileSize],
    min_size: tileSize,
  };
}

export interface ResolvedVideo {
  readonly clip: VideoClip;
  readonly reports: readonly ImageReport[];
  /** ffprobe + ffmpeg time (0 for client-sampled frames). */
  readonly decodeMs: number;
}

function asApiError(e: unknown, param: string): unknown {
  if (!(e instanceof VideoError)) return e;
  return new ApiError(e.status, `${param}: ${e.message}`, { param, code: e.code, cause: e });
}

export async function resolveVideo(
  ctx: AppContext,
  source: ParsedVideoSource,
  param: string,
  process: (bytes: Uint8Array, mime: string | null, param: string) => Promise<{
    image: VideoFrame["image"];
    report: ImageReport;
  }>,
  signal: AbortSignal,
  media: JsonWithMedia | undefined,
  tileSize: number,
): Promise<ResolvedVideo> {
  const { maxFrames } = ctx.video.config;
  const frames: VideoFrame[] = [];
  const reports: ImageReport[] = [];
  if (source.kind === "frames") {
    if (source.frames.length > maxFrames) {
      throw new ApiError(400, `${param}: ${source.frames.length} frames; at most ${maxFrames}`, {
        param,
        code: "too_many_frames",
      });
    }
    for (const [i, f] of source.frames.entries()) {
      const at = `${param}.frames[${i}].url`;
      const loaded = await loadImageBytes(f.url, at, ctx.config.remoteImages, signal, media);
      const prepared = await process(loaded.bytes, loaded.mime, at);
      frames.push({ image: prepared.image, timestamp: f.timestamp });
      reports.push(prepared.report);
      throwIfAborted(signal);
    }
    return { clip: { frames, duration: source.duration }, reports, decodeMs: 0 };
  }
  const loaded = await loadImageBytes(source.url, param, ctx.config.remoteImages, signal, media);
  let decoded;
  try {
    decoded = await decodeClip(ctx.video, loaded.bytes, loaded.mime, tileSize, signal);
  } catch (e) {
    throw asApiError(e, param);
  }
  for (const [i, rgb] of decoded.frames.entries()) {
    const bmp = rgbToBmp(decoded.side, decoded.side, rgb);
    const prepared = await process(bmp, "image/bmp", `${param} (frame ${i})`);
    frames.push({ image: prepared.image, timestamp: decoded.timestamps[i]! });
    reports.push(prepared.report);
    throwIfAborted(signal);
  }
  return {
    clip: { frames, duration: decoded.duration },
    reports,
    decodeMs: decoded.probeMs + decoded.decodeMs,
  };
}
