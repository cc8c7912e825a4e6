// @ts-check
/**
 * Defaults the page starts with. Values the server publishes in GET /v1/info override
 * the limits (see limitsFromInfo in validate.js).
 */

/** Default upload limit: the server's default max image size (20 MB). */
export const DEFAULT_MAX_IMAGE_BYTES = 20 * 1024 * 1024;
/** Images whose shorter side is below this many pixels are refused before upload. */
export const DEFAULT_MIN_IMAGE_SIDE = 16;
/** Decoded images above this many pixels are refused (the server's default: 40 MP). */
export const DEFAULT_MAX_IMAGE_PIXELS = 40_000_000;
/** Decoded images with a side longer than this are refused (the server's default). */
export const DEFAULT_MAX_IMAGE_SIDE = 16384;
export const DEFAULT_PROMPT = "Describe this image";
export const DEFAULT_MAX_TOKENS = 256;
export const THUMB_WIDTH = 120;
export const THUMB_HEIGHT = 90;
/** Oldest history entries are dropped past this many. */
export const HISTORY_LIMIT = 24;
/** No response headers, or no new stream data, for this long counts as a timeout. */
export const DEFAULT_IDLE_TIMEOUT_MS = 60_000;
export const HEALTH_POLL_READY_MS = 10_000;
export const HEALTH_POLL_NOT_READY_MS = 2_000;
export const HEALTH_TIMEOUT_MS = 4_000;
/** Realtime frames are scaled so their longer side is at most this. */
export const REALTIME_MAX_SIDE = 768;
export const REALTIME_MAX_TOKENS = 64;
/** Realtime stops by itself after this many failures in a row. */
export const REALTIME_MAX_CONSECUTIVE_FAILURES = 3;
