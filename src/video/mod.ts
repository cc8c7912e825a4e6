/**
 * Video: a clip's bytes → the frames SmolVLM2 sees (sampled as its processor does, decoded by
 * ffmpeg at the tile size) with their timestamps. The frames then go through the image pipeline
 * like any upload (src/http/chat/video.ts); the prompt around them is the engine's
 * (src/engine/video_prompt.ts). Never imports the engine.
 *
 * @module
 */
import type { VideoConfig } from "./config.ts";
import { VideoError } from "./errors.ts";
import { checkProbed, type FfmpegDecoder, sniffContainer } from "./ffmpeg.ts";
import { samplePlan } from "./sampling.ts";

export { DEFAULT_VIDEO_CONFIG, parseVideoConfig, type VideoConfig } from "./config.ts";
export { VideoError, type VideoErrorCode } from "./errors.ts";
export {
  type DecoderLimits,
  type DecoderPaths,
  FfmpegDecoder,
  sniffContainer,
  type VideoContainer,
} from "./ffmpeg.ts";
export { decoderFromEnv, locateDecoder } from "./locate.ts";
export { rgbToBmp } from "./bmp.ts";
export { type SamplePlan, samplePlan, type VideoMetadata } from "./sampling.ts";

/** What a server knows about video: its decoder (null: none) and its settings. */
export interface VideoService {
  readonly decoder: FfmpegDecoder | null;
  readonly config: VideoConfig;
}

export interface DecodedClip {
  /** `side` x `side` packed RGB, one per sampled frame. */
  readonly frames: readonly Uint8Array[];
  readonly side: number;
  readonly timestamps: readonly number[];
  readonly duration: number;
  readonly probeMs: number;
  readonly decodeMs: number;
}

const MIME_OK = /^(video\/(mp4|webm|x-matroska|quicktime)|application\/octet-stream)?$/i;

/**
 * Decodes a clip's sampled frames. Throws VideoError: no decoder, an unsupported container, a
 * clip over the limits, a corrupt or truncated clip, or a decode past the deadline or the
 * decoder's memory cap.
 */
export async function decodeClip(
  service: VideoService,
  bytes: Uint8Array,
  declaredMime: string | null,
  side: number,
  signal?: AbortSignal,
): Promise<DecodedClip> {
  const { decoder, config } = service;
  if (bytes.length > config.maxBytes) {
    throw new VideoError(
      "video_too_large",
      `the clip is ${bytes.length} bytes; at most ${config.maxBytes} on this server`,
    );
  }
  const container = sniffContainer(bytes);
  if (!container || !MIME_OK.test(declaredMime ?? "")) {
    throw new VideoError(
      "unsupported_video_format",
      `only mp4 and webm clips are accepted${declaredMime ? ` (declared ${declaredMime})` : ""}`,
    );
  }
  if (!decoder) {
    throw new VideoError(
      "video_decoding_unavailable",
      "this server has no video decoder (ffmpeg); send the frames instead as a video_frames part",
    );
  }
  const deadline = AbortSignal.timeout(config.decodeTimeoutMs);
  const both = signal ? AbortSignal.any([signal, deadline]) : deadline;
  const t0 = performance.now();
  const limits = {
    maxPixels: config.maxSourcePixels,
    memoryMb: config.maxDecoderMemoryMb,
    threads: config.decoderThreads,
  };
  const probed = await decoder.probe(bytes, container, limits, both);
  checkProbed(probed, config);
  const { shown, span } = await decoder.packets(bytes, container, limits, both);
  // Without a stated duration the packets' timestamps tell it, and the average rate with it;
  // without those either, the frames shown at the probed rate (not the packets the probe
  // counted, which include any an edit list hides).
  const meta = probed.durationStated
    ? { ...probed, totalFrames: shown }
    : span > 0
    ? { ...probed, totalFrames: shown, duration: span, fps: shown / span }
    : { ...probed, totalFrames: shown, duration: probed.fps > 0 ? shown / probed.fps : NaN };
  checkProbed(meta, config);
  const plan = samplePlan(meta, config);
  const t1 = performance.now();
  const frames = await decoder.frames(bytes, container, plan.indices, side, limits, both);
  return {
    frames,
    side,
    timestamps: plan.timestamps,
    duration: meta.duration,
    probeMs: t1 - t0,
    decodeMs: performance.now() - t1,
  };
}
