// @ts-check
/**
 * Browser-side image work: decoding, validation of a chosen file, conversion of formats the
 * server does not take, letterboxed thumbnails and data URLs for upload.
 */

import { THUMB_HEIGHT, THUMB_WIDTH } from "./config.js";
import { fitContain, scaleDown } from "./geometry.js";
import {
  checkDimensions,
  classifyFile,
  formatBytes,
  SNIFF_BYTES,
  undecodableMessage,
} from "./validate.js";

/** A file or frame rejected before upload; the message is for the person. */
export class ValidationError extends Error {
  /** @param {string} code @param {string} message */
  constructor(code, message) {
    super(message);
    this.name = "ValidationError";
    this.code = code;
  }
}

/**
 * @typedef {object} PreparedImage
 * @property {Blob} blob the bytes that will be uploaded
 * @property {string} mime
 * @property {number} width decoded width (orientation applied)
 * @property {number} height
 * @property {string} name
 * @property {string} thumbUrl a 120×90 letterboxed JPEG data URL
 * @property {string | null} convertedFrom the original format's name when converted here
 * @property {"file" | "camera" | "paste" | "drop"} source
 */

/** @typedef {ImageBitmap | HTMLImageElement} Decoded */

/**
 * Decodes a blob: createImageBitmap first, an <img> element for what it cannot (SVG).
 * @param {Blob} blob
 * @returns {Promise<{ image: Decoded, width: number, height: number, close: () => void }>}
 */
export async function decodeImage(blob) {
  try {
    const bitmap = await createImageBitmap(blob, { imageOrientation: "from-image" });
    return {
      image: bitmap,
      width: bitmap.width,
      height: bitmap.height,
      close: () => bitmap.close(),
    };
  } catch {
    // Fall through to the element decoder.
  }
  const url = URL.createObjectURL(blob);
  try {
    const img = new Image();
    img.decoding = "async";
    img.src = url;
    await img.decode();
    const width = img.naturalWidth;
    const height = img.naturalHeight;
    return { image: img, width, height, close: () => URL.revokeObjectURL(url) };
  } catch (error) {
    URL.revokeObjectURL(url);
    throw error;
  }
}

/**
 * @param {HTMLCanvasElement} canvas
 * @param {string} type
 * @param {number} [quality]
 * @returns {Promise<Blob>}
 */
export function canvasToBlob(canvas, type, quality) {
  return new Promise((resolve, reject) => {
    canvas.toBlob(
      (blob) => (blob ? resolve(blob) : reject(new Error("canvas encoding failed"))),
      type,
      quality,
    );
  });
}

/**
 * @param {number} w
 * @param {number} h
 */
function makeCanvas(w, h) {
  const canvas = document.createElement("canvas");
  canvas.width = w;
  canvas.height = h;
  const ctx = canvas.getContext("2d");
  if (!ctx) throw new Error("2D canvas unavailable");
  return { canvas, ctx };
}

/**
 * A THUMB_WIDTH×THUMB_HEIGHT JPEG data URL, the image fitted whole and letterboxed.
 * @param {CanvasImageSource} source
 * @param {number} srcW
 * @param {number} srcH
 */
export function makeThumbnail(source, srcW, srcH) {
  const { canvas, ctx } = makeCanvas(THUMB_WIDTH, THUMB_HEIGHT);
  ctx.fillStyle = "#000";
  ctx.fillRect(0, 0, THUMB_WIDTH, THUMB_HEIGHT);
  const r = fitContain(srcW, srcH, THUMB_WIDTH, THUMB_HEIGHT);
  ctx.imageSmoothingQuality = "high";
  ctx.drawImage(source, r.x, r.y, r.width, r.height);
  return canvas.toDataURL("image/jpeg", 0.85);
}

/**
 * Draws an image onto a white background (transparency flattened) and encodes it as JPEG.
 * @param {CanvasImageSource} source
 * @param {number} srcW
 * @param {number} srcH
 * @param {number} [maxSide]
 * @param {number} [quality]
 */
export async function encodeJpeg(source, srcW, srcH, maxSide = 4096, quality = 0.92) {
  const size = scaleDown(srcW, srcH, maxSide);
  const { canvas, ctx } = makeCanvas(size.width, size.height);
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, size.width, size.height);
  ctx.drawImage(source, 0, 0, size.width, size.height);
  const blob = await canvasToBlob(canvas, "image/jpeg", quality);
  return { blob, width: size.width, height: size.height };
}

/**
 * Validates a chosen file and makes it ready to send: sniffed, decoded, size-checked,
 * converted to JPEG where the server does not take its format. Throws ValidationError.
 * @param {File} file
 * @param {import("./validate.js").Limits} limits
 * @param {PreparedImage["source"]} source
 * @returns {Promise<PreparedImage>}
 */
export async function prepareFile(file, limits, source) {
  const head = new Uint8Array(await file.slice(0, SNIFF_BYTES).arrayBuffer());
  const name = file.name || (source === "paste" ? "pasted image" : "image");
  const verdict = classifyFile({ name, type: file.type, size: file.size, head }, limits);
  if (!verdict.ok) throw new ValidationError(verdict.code, verdict.message);
  /** @type {Awaited<ReturnType<typeof decodeImage>>} */
  let decoded;
  try {
    decoded = await decodeImage(file);
  } catch {
    const format = verdict.action === "upload" ? verdict.format : verdict.format;
    throw new ValidationError("undecodable", undecodableMessage(name, format));
  }
  try {
    const bad = checkDimensions(decoded.width, decoded.height, limits, name);
    if (bad) throw new ValidationError(bad.code, bad.message);
    const thumbUrl = makeThumbnail(decoded.image, decoded.width, decoded.height);
    if (verdict.action === "upload") {
      return {
        blob: file,
        mime: verdict.mime,
        width: decoded.width,
        height: decoded.height,
        name,
        thumbUrl,
        convertedFrom: null,
        source,
      };
    }
    const jpeg = await encodeJpeg(decoded.image, decoded.width, decoded.height);
    if (jpeg.blob.size > limits.maxBytes) {
      throw new ValidationError(
        "too_large",
        `“${name}” is still too large after conversion to JPEG: ${
          formatBytes(jpeg.blob.size)
        }; the limit is ${formatBytes(limits.maxBytes)}.`,
      );
    }
    return {
      blob: jpeg.blob,
      mime: "image/jpeg",
      width: jpeg.width,
      height: jpeg.height,
      name,
      thumbUrl,
      convertedFrom: (verdict.format ?? file.type) || "unknown format",
      source,
    };
  } finally {
    decoded.close();
  }
}

/**
 * @param {Blob} blob
 * @returns {Promise<string>}
 */
export function blobToDataUrl(blob) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result));
    reader.onerror = () => reject(reader.error ?? new Error("read failed"));
    reader.readAsDataURL(blob);
  });
}

/**
 * A data URL with the MIME type the server expects (a File's may be empty or wrong).
 * @param {Blob} blob
 * @param {string} mime
 */
export async function toUploadUrl(blob, mime) {
  const url = await blobToDataUrl(blob);
  const comma = url.indexOf(",");
  return `data:${mime};base64,${url.slice(comma + 1)}`;
}
