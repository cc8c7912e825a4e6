/**
 * Video settings: how frames are sampled (SmolVLM2's processor defaults: `video_sampling` of
 * SmolVLM2-256M/500M-Video-Instruct's processor config, fps 1 and max_frames 64, skipping 1 s
 * at each end of a long clip) and the operator's ceilings on what one clip may cost.
 * Validated with zod like every other config; snake_case in a config file.
 *
 * @module
 */
import { z } from "zod";

export interface VideoConfig {
  /** Frames sampled per second of video, before the max_frames cap. */
  readonly fps: number;
  readonly maxFrames: number;
  /** Seconds skipped at each end when the clip is long enough (the processor's skip_secs). */
  readonly skipSeconds: number;
  /** Largest encoded clip accepted, bytes. */
  readonly maxBytes: number;
  /** Longest clip accepted, seconds. */
  readonly maxDurationSeconds: number;
  /** Largest source frame (width x height) the decoder is asked to read. */
  readonly maxSourcePixels: number;
  /** Most packets (frames) in the clip's video stream. */
  readonly maxSourceFrames: number;
  /** Wall-clock limit of probing plus decoding one clip. */
  readonly decodeTimeoutMs: number;
  /**
   * Address space each ffmpeg/ffprobe child may map, MiB (RLIMIT_AS through prlimit; the
   * binaries and their libraries take about 300 of it before any frame is read).
   */
  readonly maxDecoderMemoryMb: number;
  /** Threads each ffmpeg child decodes and filters with (its default is every core). */
  readonly decoderThreads: number;
}

/** The config file's `video` section (snake_case; every key optional). */
export const videoConfigSchema = z.strictObject({
  fps: z.number().positive().max(30).default(1),
  max_frames: z.number().int().min(1).max(256).default(64),
  skip_seconds: z.number().min(0).max(60).default(1),
  max_bytes: z.number().int().positive().default(50 * 1024 * 1024),
  max_duration: z.number().positive().default(600),
  max_source_pixels: z.number().int().positive().default(3840 * 2160),
  max_source_frames: z.number().int().positive().default(60 * 60 * 10),
  decode_timeout: z.number().positive().default(30),
  max_decoder_memory_mb: z.number().int().min(1).max(1024 * 1024).default(1024),
  decoder_threads: z.number().int().min(1).max(64).default(2),
});

/** The config file's `video` section (every key optional) → VideoConfig; throws ZodError. */
export function parseVideoConfig(raw: unknown = {}): VideoConfig {
  return toVideoConfig(videoConfigSchema.parse(raw ?? {}));
}

/** A parsed `video` section → VideoConfig. */
export function toVideoConfig(v: z.output<typeof videoConfigSchema>): VideoConfig {
  return {
    fps: v.fps,
    maxFrames: v.max_frames,
    skipSeconds: v.skip_seconds,
    maxBytes: v.max_bytes,
    maxDurationSeconds: v.max_duration,
    maxSourcePixels: v.max_source_pixels,
    maxSourceFrames: v.max_source_frames,
    decodeTimeoutMs: Math.round(v.decode_timeout * 1000),
    maxDecoderMemoryMb: v.max_decoder_memory_mb,
    decoderThreads: v.decoder_threads,
  };
}

export const DEFAULT_VIDEO_CONFIG: VideoConfig = parseVideoConfig();
