/**
 * Which frames of a clip SmolVLM2 sees: the processor's `sample_frames`
 * (transformers, `video_processing_smolvlm.py`): count = min(round(fps x duration), max_frames)
 * (at least 1), evenly spaced frame indices (numpy linspace cast to int, duplicates dropped),
 * skipping `skip_seconds` at each end only when duration - 2 x skip > max_frames x fps.
 * Timestamps are index / the clip's frame rate.
 *
 * @module
 */

export interface VideoMetadata {
  /** Seconds. */
  readonly duration: number;
  /** The video stream's frame rate. */
  readonly fps: number;
  /** Frames (packets) in the video stream. */
  readonly totalFrames: number;
}

export interface SamplingSettings {
  readonly fps: number;
  readonly maxFrames: number;
  readonly skipSeconds: number;
}

export interface SamplePlan {
  /** Frame indices, increasing, unique. */
  readonly indices: readonly number[];
  /** Seconds from the start, one per index. */
  readonly timestamps: readonly number[];
}

/** Python's round(): halves go to the even neighbour. */
function roundHalfEven(x: number): number {
  const floor = Math.floor(x);
  const diff = x - floor;
  if (diff > 0.5) return floor + 1;
  if (diff < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}

export function samplePlan(meta: VideoMetadata, s: SamplingSettings): SamplePlan {
  const total = Math.max(1, Math.floor(meta.totalFrames));
  const desired = Math.max(1, Math.min(roundHalfEven(s.fps * meta.duration), s.maxFrames));
  let start = 0;
  let end = total - 1;
  if (s.skipSeconds > 0 && meta.duration - 2 * s.skipSeconds > s.maxFrames * s.fps) {
    start = Math.trunc(s.skipSeconds * meta.fps);
    end = Math.trunc(total - s.skipSeconds * meta.fps);
  }
  start = Math.max(0, start);
  end = Math.min(end, total - 1);
  if (start >= end) [start, end] = [0, total - 1];
  const indices: number[] = [];
  const step = desired > 1 ? (end - start) / (desired - 1) : 0;
  for (let i = 0; i < desired; i++) {
    const index = i === desired - 1 && desired > 1 ? end : Math.trunc(start + i * step);
    if (indices.at(-1) !== index) indices.push(index);
  }
  const rate = meta.fps > 0 ? meta.fps : 1;
  return { indices, timestamps: indices.map((i) => i / rate) };
}
