/**
 * What can go wrong with a video, each with the HTTP status and OpenAI error code it answers
 * with: the HTTP layer maps a VideoError to its error JSON (src/http/chat/video.ts).
 *
 * @module
 */
export type VideoErrorCode =
  | "video_decoding_unavailable"
  | "unsupported_video_format"
  | "invalid_video"
  | "video_too_large"
  | "video_too_long"
  | "video_decode_timeout"
  | "video_decode_out_of_memory";

const STATUS: Readonly<Record<VideoErrorCode, 400 | 413 | 415 | 422>> = {
  video_decoding_unavailable: 400,
  unsupported_video_format: 415,
  invalid_video: 400,
  video_too_large: 413,
  video_too_long: 400,
  video_decode_timeout: 422,
  video_decode_out_of_memory: 422,
};

export class VideoError extends Error {
  readonly code: VideoErrorCode;
  readonly status: 400 | 413 | 415 | 422;
  constructor(code: VideoErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "VideoError";
    this.code = code;
    this.status = STATUS[code];
  }
}
