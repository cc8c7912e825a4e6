// @ts-check
/** Pure text formatting for stats, server reports and errors. */

/** @param {unknown} ms */
export function formatMs(ms) {
  if (typeof ms !== "number" || !Number.isFinite(ms)) return "–";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
}

/** @param {unknown} rate */
export function formatRate(rate) {
  if (typeof rate !== "number" || !Number.isFinite(rate) || rate <= 0) return "–";
  return `${rate.toFixed(rate < 10 ? 1 : 0)} tok/s`;
}

/** @param {unknown} v */
function isObj(v) {
  return !!v && typeof v === "object";
}

/**
 * @param {unknown} size
 * @returns {string}
 */
export function formatSize(size) {
  if (!isObj(size)) return "–";
  const s = /** @type {Record<string, unknown>} */ (size);
  const w = s["width"];
  const h = s["height"];
  return typeof w === "number" && typeof h === "number" ? `${w}×${h}` : "–";
}

/**
 * @param {unknown} box
 * @returns {string}
 */
export function formatCropBox(box) {
  if (box === null || box === undefined) return "none";
  if (!isObj(box)) return "–";
  const b = /** @type {Record<string, unknown>} */ (box);
  const { x, y, width, height } = b;
  if ([x, y, width, height].every((v) => typeof v === "number")) {
    return `${width}×${height} at (${x}, ${y})`;
  }
  return "–";
}

/**
 * @param {unknown} tiles
 * @returns {string}
 */
export function formatTiles(tiles) {
  if (!isObj(tiles)) return "–";
  const t = /** @type {Record<string, unknown>} */ (tiles);
  const cols = t["cols"];
  const rows = t["rows"];
  const passes = t["passes"];
  const grid = typeof cols === "number" && typeof rows === "number" ? `${cols}×${rows}` : "–";
  return typeof passes === "number"
    ? `${grid} (${passes} encoder pass${passes === 1 ? "" : "es"})`
    : grid;
}

/**
 * Rows of [label, value] describing what the server did to one image.
 * @param {unknown} report
 * @returns {[string, string][]}
 */
export function describeImageReport(report) {
  if (!isObj(report)) return [];
  const r = /** @type {Record<string, unknown>} */ (report);
  /** @type {[string, string][]} */
  const rows = [];
  if (typeof r["format"] === "string") rows.push(["Format", r["format"].toUpperCase()]);
  rows.push(["Original size", formatSize(r["original"])]);
  if (r["orientation"] !== undefined && r["orientation"] !== null) {
    rows.push(["Orientation", String(r["orientation"])]);
  }
  rows.push(["Crop box", formatCropBox(r["crop_box"])]);
  rows.push(["Processed size", formatSize(r["processed"])]);
  rows.push(["Tiles", formatTiles(r["tiles"])]);
  const stages = r["stages_ms"];
  if (isObj(stages)) {
    const parts = Object.entries(/** @type {Record<string, unknown>} */ (stages))
      .filter(([, v]) => typeof v === "number")
      .map(([k, v]) => `${k.replaceAll("_", " ")} ${formatMs(v)}`);
    if (parts.length > 0) rows.push(["Stages", parts.join(", ")]);
  }
  return rows;
}

/**
 * Rows of [label, value] for the server's timings.
 * @param {Record<string, number> | null} timings
 * @returns {[string, string][]}
 */
export function describeTimings(timings) {
  if (!timings) return [];
  /** @type {[string, string][]} */
  const rows = [];
  /** @type {[string, string][]} */
  const names = [
    ["queue_ms", "Queue"],
    ["preprocess_ms", "Preprocess"],
    ["encode_ms", "Image encode"],
    ["prefill_ms", "Prefill"],
    ["decode_ms", "Decode"],
    ["total_ms", "Server total"],
  ];
  for (const [key, label] of names) {
    if (typeof timings[key] === "number") rows.push([label, formatMs(timings[key])]);
  }
  if (typeof timings["prompt_tokens_per_second"] === "number") {
    rows.push(["Prompt speed", formatRate(timings["prompt_tokens_per_second"])]);
  }
  return rows;
}

/**
 * Parses a Retry-After header (seconds or an HTTP date) to milliseconds.
 * @param {string | null} value
 * @param {number} [now]
 * @returns {number | null}
 */
export function parseRetryAfter(value, now = Date.now()) {
  if (!value) return null;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return null;
  return Math.max(0, date - now);
}

/**
 * A readable sentence for a failed HTTP response.
 * @param {number} status
 * @param {string | null} serverMessage
 * @param {number | null} retryAfterMs
 * @returns {string}
 */
export function httpErrorMessage(status, serverMessage, retryAfterMs) {
  /** @type {string} */
  let head;
  if (status === 400) head = "The server could not use this request";
  else if (status === 401 || status === 403) head = "The server refused this request";
  else if (status === 404) head = "The server does not offer this endpoint";
  else if (status === 413) head = "The image is too large for the server";
  else if (status === 415) head = "The server does not take this image type";
  else if (status === 422) head = "The server could not process this image";
  else if (status === 429) head = "The server is busy with other requests";
  else if (status === 503) head = "The server is not ready";
  else if (status === 504) head = "The server timed out";
  else if (status >= 500) head = "The server failed";
  else head = "The request failed";
  let text = `${head} (HTTP ${status})`;
  if (serverMessage) text += `: ${serverMessage.replace(/\.$/, "")}.`;
  else text += ".";
  if (retryAfterMs !== null) {
    const s = Math.max(1, Math.ceil(retryAfterMs / 1000));
    text += ` Try again in ${s} s.`;
  }
  return text;
}
