// @ts-check
/**
 * Pure checks run on a file before anything is uploaded: what format its bytes are, whether
 * the server takes it as it is, has to have it converted in the browser first, or cannot
 * take it at all; whether it is too large, or too small once decoded.
 */

import {
  DEFAULT_MAX_IMAGE_BYTES,
  DEFAULT_MAX_IMAGE_PIXELS,
  DEFAULT_MAX_IMAGE_SIDE,
  DEFAULT_MIN_IMAGE_SIDE,
} from "./config.js";

/**
 * @typedef {"jpeg" | "png" | "gif" | "webp" | "bmp"} ServerFormat
 * @typedef {ServerFormat | "heic" | "avif" | "tiff" | "svg" | "ico" | "jxl"} KnownFormat
 * @typedef {{ maxBytes: number, minSide: number, maxPixels: number, maxSide: number }} Limits
 * @typedef {{ name: string, type: string, size: number, head: Uint8Array }} FileFacts
 * @typedef {{ ok: true, action: "upload", format: ServerFormat, mime: string }
 *   | { ok: true, action: "convert", format: KnownFormat | null }
 *   | { ok: false, code: string, message: string }} Verdict
 */

/** The formats the server decodes, and the MIME type each is sent as. */
/** @type {Readonly<Record<ServerFormat, string>>} */
export const SERVER_FORMATS = Object.freeze({
  jpeg: "image/jpeg",
  png: "image/png",
  gif: "image/gif",
  webp: "image/webp",
  bmp: "image/bmp",
});

/** Human names for messages. */
/** @type {Readonly<Record<KnownFormat, string>>} */
const FORMAT_NAMES = Object.freeze({
  jpeg: "JPEG",
  png: "PNG",
  gif: "GIF",
  webp: "WebP",
  bmp: "BMP",
  heic: "HEIC/HEIF",
  avif: "AVIF",
  tiff: "TIFF",
  svg: "SVG",
  ico: "ICO",
  jxl: "JPEG XL",
});

export const ACCEPTED_LIST = "JPEG, PNG, GIF, WebP or BMP";

/** @type {Limits} */
export const DEFAULT_LIMITS = Object.freeze({
  maxBytes: DEFAULT_MAX_IMAGE_BYTES,
  minSide: DEFAULT_MIN_IMAGE_SIDE,
  maxPixels: DEFAULT_MAX_IMAGE_PIXELS,
  maxSide: DEFAULT_MAX_IMAGE_SIDE,
});

/** Room left in a request body for everything but the image (JSON, the conversation). */
export const BODY_RESERVE_BYTES = 64 * 1024;

/** How many leading bytes sniffFormat looks at. */
export const SNIFF_BYTES = 64;

/**
 * @param {Uint8Array} b
 * @param {number} offset
 * @param {string} ascii
 */
function hasAscii(b, offset, ascii) {
  if (b.length < offset + ascii.length) return false;
  for (let i = 0; i < ascii.length; i++) {
    if (b[offset + i] !== ascii.charCodeAt(i)) return false;
  }
  return true;
}

/**
 * The image format the leading bytes of a file show, or null.
 * @param {Uint8Array} b
 * @returns {KnownFormat | null}
 */
export function sniffFormat(b) {
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return "jpeg";
  if (hasAscii(b, 0, "\x89PNG\r\n\x1a\n")) return "png";
  if (hasAscii(b, 0, "GIF87a") || hasAscii(b, 0, "GIF89a")) return "gif";
  if (hasAscii(b, 0, "RIFF") && hasAscii(b, 8, "WEBP")) return "webp";
  if (hasAscii(b, 0, "BM") && b.length >= 14) return "bmp";
  if (hasAscii(b, 4, "ftyp")) {
    const brand = String.fromCharCode(...b.subarray(8, 12));
    if (brand === "avif" || brand === "avis") return "avif";
    if (["heic", "heix", "hevc", "hevx", "heim", "heis", "mif1", "msf1"].includes(brand)) {
      return "heic";
    }
  }
  if (hasAscii(b, 0, "II*\0") || hasAscii(b, 0, "MM\0*")) return "tiff";
  if (b.length >= 4 && b[0] === 0 && b[1] === 0 && b[2] === 1 && b[3] === 0) return "ico";
  if ((b[0] === 0xff && b[1] === 0x0a) || hasAscii(b, 4, "JXL ")) return "jxl";
  const text = new TextDecoder("utf-8", { fatal: false }).decode(b).trimStart().toLowerCase();
  if (text.startsWith("<svg") || (text.startsWith("<?xml") && text.includes("<svg"))) {
    return "svg";
  }
  return null;
}

/** @param {number} n */
export function formatBytes(n) {
  if (!Number.isFinite(n) || n < 0) return "?";
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(n < 10 * 1024 ? 1 : 0)} KB`;
  const mb = n / (1024 * 1024);
  // One decimal below 100 MB: a file just over a limit must not read as the limit itself.
  return `${mb.toFixed(mb < 100 ? 1 : 0).replace(/\.0$/, "")} MB`;
}

/** @param {string} name */
function quoted(name) {
  const short = name.length > 60 ? `${name.slice(0, 57)}…` : name;
  return short ? `“${short}”` : "This file";
}

/**
 * What to do with a file, judged from its name, declared type, size and leading bytes.
 * @param {FileFacts} file
 * @param {Limits} [limits]
 * @returns {Verdict}
 */
export function classifyFile(file, limits = DEFAULT_LIMITS) {
  const who = quoted(file.name);
  if (file.size === 0) {
    return { ok: false, code: "empty", message: `${who} is empty.` };
  }
  const format = sniffFormat(file.head);
  if (format && format in SERVER_FORMATS) {
    const serverFormat = /** @type {ServerFormat} */ (format);
    if (file.size > limits.maxBytes) {
      return {
        ok: false,
        code: "too_large",
        message: `${who} is too large: ${formatBytes(file.size)}; the limit is ${
          formatBytes(limits.maxBytes)
        }.`,
      };
    }
    return { ok: true, action: "upload", format: serverFormat, mime: SERVER_FORMATS[serverFormat] };
  }
  const declared = (file.type || "").toLowerCase();
  const heicByName = /\.(heic|heif)$/i.test(file.name) || declared.includes("hei");
  if (format !== null || declared.startsWith("image/") || heicByName) {
    // Not a format the server takes, but maybe one this browser can decode: convert it.
    return {
      ok: true,
      action: "convert",
      format: format ?? (heicByName ? "heic" : null),
    };
  }
  const kind = declared ? ` (${declared})` : "";
  return {
    ok: false,
    code: "unsupported_type",
    message: `${who}${kind} is not a supported image. Use ${ACCEPTED_LIST}.`,
  };
}

/**
 * The message for an image the browser could not decode.
 * @param {string} name
 * @param {KnownFormat | null} format
 */
export function undecodableMessage(name, format) {
  const who = quoted(name);
  if (format && !(format in SERVER_FORMATS)) {
    const fmt = FORMAT_NAMES[format];
    return `${who} is ${fmt}, which the server does not take and this browser cannot convert. ` +
      `Save it as ${ACCEPTED_LIST} and try again.`;
  }
  if (format) {
    return `${who} could not be read as a ${FORMAT_NAMES[format]} image; it may be damaged.`;
  }
  return `${who} is not an image this browser can read. Use ${ACCEPTED_LIST}.`;
}

/**
 * Checks decoded dimensions; null when fine, else the message.
 * @param {number} width
 * @param {number} height
 * @param {Limits} [limits]
 * @param {string} [name]
 * @returns {{ code: string, message: string } | null}
 */
export function checkDimensions(width, height, limits = DEFAULT_LIMITS, name = "") {
  const who = quoted(name);
  if (!(width > 0 && height > 0)) {
    return { code: "no_size", message: `${who} has no usable size.` };
  }
  if (Math.min(width, height) < limits.minSide) {
    return {
      code: "too_small",
      message:
        `${who} is too small: ${width}×${height} px; each side needs at least ${limits.minSide} px.`,
    };
  }
  if (Math.max(width, height) > limits.maxSide) {
    return {
      code: "too_large_side",
      message:
        `${who} is too large: ${width}×${height} px; each side may be at most ${limits.maxSide} px.`,
    };
  }
  if (width * height > limits.maxPixels) {
    return {
      code: "too_many_pixels",
      message: `${who} is too large: ${width}×${height} px is over ${
        Math.round(limits.maxPixels / 1e6)
      } megapixels.`,
    };
  }
  return null;
}

/**
 * Reads a positive number from the first of several dotted paths that has one.
 * @param {unknown} obj
 * @param {string[]} paths
 * @returns {number | null}
 */
function pickNumber(obj, paths) {
  for (const path of paths) {
    /** @type {unknown} */
    let v = obj;
    for (const key of path.split(".")) {
      v = v && typeof v === "object" ? /** @type {Record<string, unknown>} */ (v)[key] : undefined;
    }
    if (typeof v === "number" && Number.isFinite(v) && v > 0) return v;
  }
  return null;
}

/**
 * The limits to validate against, from GET /v1/info where it says, else the defaults.
 * Tolerates missing or differently named fields.
 * @param {unknown} info
 * @returns {Limits}
 */
export function limitsFromInfo(info) {
  const maxImageBytes = pickNumber(info, [
    "image_processing_defaults.limits.max_bytes",
    "max_image_bytes",
    "limits.max_image_bytes",
    "image.max_bytes",
    "max_upload_bytes",
    "limits.max_upload_bytes",
  ]);
  const maxBodyBytes = pickNumber(info, ["config.max_body_bytes", "max_body_bytes"]);
  // The image goes as base64 (4 bytes per 3) inside a JSON body that also carries the
  // conversation's text: past this size the server refuses the whole request (413).
  const bodyAllows = maxBodyBytes === null
    ? null
    : Math.max(0, Math.floor((maxBodyBytes - BODY_RESERVE_BYTES) * 3 / 4));
  const maxBytes = Math.min(maxImageBytes ?? DEFAULT_LIMITS.maxBytes, bodyAllows ?? Infinity);
  const minSide = pickNumber(info, [
    "min_image_side",
    "min_image_dimension",
    "limits.min_image_side",
    "limits.min_image_dimension",
    "image.min_side",
  ]);
  const maxPixels = pickNumber(info, [
    "max_image_pixels",
    "limits.max_image_pixels",
    "image.max_pixels",
  ]);
  const maxMegapixels = pickNumber(info, [
    "image_processing_defaults.limits.max_megapixels",
    "max_image_megapixels",
    "limits.max_image_megapixels",
    "limits.max_megapixels",
  ]);
  const maxSide = pickNumber(info, [
    "image_processing_defaults.limits.max_side",
    "max_image_side",
    "limits.max_image_side",
    "limits.max_side",
  ]);
  return {
    maxBytes,
    minSide: minSide ?? DEFAULT_LIMITS.minSide,
    maxPixels: maxPixels ?? (maxMegapixels ? maxMegapixels * 1_000_000 : DEFAULT_LIMITS.maxPixels),
    maxSide: maxSide ?? DEFAULT_LIMITS.maxSide,
  };
}

/**
 * Whether /v1/info says the model has random weights.
 * @param {unknown} info
 */
export function isDemoInfo(info) {
  if (!info || typeof info !== "object") return false;
  const o = /** @type {Record<string, unknown>} */ (info);
  const model = o["model"];
  return o["demo"] === true ||
    (!!model && typeof model === "object" &&
      /** @type {Record<string, unknown>} */ (model)["demo"] === true);
}
