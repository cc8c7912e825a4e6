/**
 * The whole preprocessing pipeline: validate → decode → EXIF orientation → smart crop →
 * resize → bilateral denoise → LAB balance → (optional) JPEG.
 */
import { bilateralFilter } from "./bilateral.ts";
import { decodeFormat, encodeJpeg, type RgbImage } from "./codecs.ts";
import { type CropBox, cropImage, findBorderTrim, findSalientWindow } from "./crop.ts";
import { defaultImageConfig, type ImageConfig } from "./config.ts";
import { ImageDecodeError } from "./errors.ts";
import { applyOrientation, readOrientation } from "./exif.ts";
import { labBalance } from "./lab.ts";
import { resize, targetSize } from "./resize.ts";
import { type ImageFormat, parseDataUrl, probeImage } from "./validate.ts";
import { type TileGrid, tileGrid, type TilingRule } from "./tiling.ts";
import { getSharedImagePool, type ImagePool } from "./workers.ts";

export { plainTiling, type TileGrid, tileGrid, type TilingRule } from "./tiling.ts";

/** Raw bytes, a data: URL, or bytes with the MIME type they were declared as. */
export type ImageInput = Uint8Array | string | { bytes: Uint8Array; mime?: string };

export interface PreprocessOptions {
  /** "rgb" (default): pixels only; "jpeg": also encode at jpeg_quality (edge → backend). */
  output?: "rgb" | "jpeg";
  /**
   * Worker pool for the heavy stages. Default: the shared pool for images of at least
   * `parallelMinPixels`; `null` forces the single-thread path.
   */
  pool?: ImagePool | null;
  /** Below this many pixels stages run inline (worker hand-off costs more). Default 262144. */
  parallelMinPixels?: number;
  /** JPEG only: decode at 1/2, 1/4 or 1/8 scale when that still exceeds the target. Default true. */
  jpegDctScaling?: boolean;
  /**
   * How the loaded model tiles an image (the engine's `tiling`), for the report's tile
   * estimate. Absent or null: no estimate (`tiles: null`); the pipeline knows no model, so it
   * never guesses one.
   */
  tiling?: TilingRule | null;
}

export interface PreprocessReport {
  format: ImageFormat;
  mime: string;
  bytes: number;
  original: { width: number; height: number };
  orientation: number;
  /** Size after orientation (before crop). */
  oriented: { width: number; height: number };
  /** Scale the JPEG decoder used (1 = full size). */
  decodeScale: number;
  /** Crop box in oriented full-size coordinates; null when nothing was cropped. */
  crop: (CropBox & { trimmedBorders: boolean; salient: boolean }) | null;
  resized: { width: number; height: number; resampled: boolean };
  denoised: boolean;
  colorBalanced: boolean;
  /** The tile grid under the caller's tiling rule; null when none was given. */
  tiles: TileGrid | null;
  stagesMs: Record<string, number>;
  totalMs: number;
  threads: number;
}

export interface PreprocessResult {
  image: RgbImage;
  report: PreprocessReport;
  jpeg?: Uint8Array;
}

function splitInput(input: ImageInput): { bytes: Uint8Array; mime?: string } {
  if (typeof input === "string") {
    const { mime, bytes } = parseDataUrl(input);
    return { bytes, mime };
  }
  if (input instanceof Uint8Array) return { bytes: input };
  return input;
}

/**
 * Runs the pipeline. Throws ImageError subclasses (status/code) for bad input; any other
 * failure inside a decoder is wrapped as ImageDecodeError, so nothing raw escapes.
 */
export async function preprocessImage(
  input: ImageInput,
  config: ImageConfig = defaultImageConfig(),
  opts: PreprocessOptions = {},
): Promise<PreprocessResult> {
  const t0 = performance.now();
  const tiling = opts.tiling ?? null;
  const stages: Record<string, number> = {};
  let mark = t0;
  const lap = (name: string) => {
    const now = performance.now();
    stages[name] = Math.round((now - mark) * 100) / 100;
    mark = now;
  };

  // 1. Validation (no pixel decoded yet).
  const { bytes, mime } = splitInput(input);
  const probe = probeImage(bytes, {
    declaredMime: mime,
    limits: {
      maxBytes: config.limits.max_bytes,
      maxMegapixels: config.limits.max_megapixels,
      maxSide: config.limits.max_side,
    },
  });
  const orientation = readOrientation(bytes, probe.format);
  const swap = orientation >= 5;
  const oW = swap ? probe.height : probe.width, oH = swap ? probe.width : probe.height;
  lap("validate");

  const bounds = {
    size: config.size,
    minSize: config.min_size,
    preserveAspectRatio: config.preserve_aspect_ratio,
  };
  // 2. Decode (JPEG possibly DCT-scaled, never below the size the resize needs).
  let minSize: { width: number; height: number } | undefined;
  if (probe.format === "jpeg" && (opts.jpegDctScaling ?? true) && config.preserve_aspect_ratio) {
    const t = targetSize(oW, oH, bounds);
    if (t.width * 2 <= oW && t.height * 2 <= oH) {
      minSize = swap ? { width: t.height, height: t.width } : t;
    }
  }
  const decodeFull = async () => {
    const im = await decodeFormat(bytes, probe.format);
    if (im.width !== probe.width || im.height !== probe.height) {
      throw new ImageDecodeError(
        `${probe.format} decoded to ${im.width}x${im.height} but its header says ${probe.width}x${probe.height}`,
      );
    }
    return im;
  };
  let img = minSize
    ? await decodeFormat(bytes, probe.format, scaledRequest(probe, minSize))
    : await decodeFull();
  if (minSize && (img.width < minSize.width || img.height < minSize.height)) {
    img = await decodeFull();
  }
  let scale = probe.width / img.width;
  lap("decode");

  // 3. Orientation.
  img = applyOrientation(img, orientation);
  lap("orient");

  // 4. Smart crop.
  let crop: PreprocessReport["crop"] = null;
  if (config.smart_crop) {
    const full = { x: 0, y: 0, width: img.width, height: img.height };
    const trimmed = findBorderTrim(img);
    const longBound = Math.max(config.size[0], config.size[1]);
    const maxAspect = Math.max(1, longBound / Math.max(1, config.min_size));
    const box = findSalientWindow(img, trimmed, maxAspect);
    const trimmedBorders = !sameBox(trimmed, full);
    const salient = !sameBox(box, trimmed);
    if (trimmedBorders || salient) {
      // A DCT-scaled decode is only kept when the crop still has the pixels the resize needs.
      if (scale > 1) {
        const fullBox = scaleBox(box, scale, oW, oH);
        const need = targetSize(fullBox.width, fullBox.height, bounds);
        if (need.width > box.width || need.height > box.height) {
          img = applyOrientation(await decodeFull(), orientation);
          scale = 1;
          const b2 = fullBox;
          crop = { ...b2, trimmedBorders, salient };
          img = cropImage(img, b2);
        }
      }
      if (!crop) {
        crop = { ...scaleBox(box, scale, oW, oH), trimmedBorders, salient };
        img = cropImage(img, box);
      }
    }
  }
  lap("crop");

  // Parallel only for big enough images.
  const pool = opts.pool === undefined
    ? (img.width * img.height >= (opts.parallelMinPixels ?? 262144) ? getSharedImagePool() : null)
    : opts.pool;
  const usePool = (w: number, h: number) =>
    pool !== null && w * h >= (opts.parallelMinPixels ?? (opts.pool ? 0 : 262144));

  // 5. Resize, computed on the region's full-resolution size.
  const regionW = crop ? crop.width : oW, regionH = crop ? crop.height : oH;
  const target = targetSize(regionW, regionH, bounds);
  let resampled = false;
  if (target.width !== img.width || target.height !== img.height) {
    img = usePool(img.width, img.height) && pool
      ? await pool.resize(img, target.width, target.height)
      : { ...target, data: resize(img.data, img.width, img.height, target.width, target.height) };
    resampled = true;
  }
  if (scale > 1) resampled = true;
  lap("resize");

  // 6. Bilateral denoise.
  const nr = config.noise_reduction;
  if (nr.enabled) {
    const p = { diameter: nr.diameter, sigmaColor: nr.sigma_color, sigmaSpace: nr.sigma_space };
    img = usePool(img.width, img.height) && pool
      ? await pool.bilateral(img, p)
      : { ...img, data: bilateralFilter(img.data, img.width, img.height, p) };
  }
  lap("denoise");

  // 7. LAB balance.
  const cb = config.color_balance;
  if (cb.enabled) {
    const p = { lBoost: cb.l_channel_boost, abBoost: cb.ab_channel_boost };
    img = usePool(img.width, img.height) && pool
      ? await pool.lab(img, p)
      : { ...img, data: labBalance(img.data, p) };
  }
  lap("color");

  // Hand back ordinary (non-shared) memory.
  if (img.data.buffer instanceof SharedArrayBuffer) img = { ...img, data: img.data.slice() };

  let jpeg: Uint8Array | undefined;
  if (opts.output === "jpeg") {
    jpeg = await encodeJpeg(img, config.jpeg_quality, config.optimize);
    lap("encode");
  }

  const report: PreprocessReport = {
    format: probe.format,
    mime: probe.mime,
    bytes: bytes.length,
    original: { width: probe.width, height: probe.height },
    orientation,
    oriented: { width: oW, height: oH },
    decodeScale: scale,
    crop,
    resized: { width: img.width, height: img.height, resampled },
    denoised: nr.enabled,
    colorBalanced: cb.enabled,
    tiles: tiling === null ? null : tileGrid(img.width, img.height, tiling),
    stagesMs: stages,
    totalMs: Math.round((performance.now() - t0) * 100) / 100,
    threads: pool ? pool.size : 1,
  };
  return jpeg ? { image: img, report, jpeg } : { image: img, report };
}

function scaledRequest(
  probe: { width: number; height: number },
  min: { width: number; height: number },
): { width: number; height: number } | undefined {
  let s = 8;
  while (
    s > 1 &&
    (Math.ceil(probe.width / s) < min.width || Math.ceil(probe.height / s) < min.height)
  ) s >>= 1;
  return s > 1
    ? { width: Math.ceil(probe.width / s), height: Math.ceil(probe.height / s) }
    : undefined;
}

function sameBox(a: CropBox, b: CropBox): boolean {
  return a.x === b.x && a.y === b.y && a.width === b.width && a.height === b.height;
}

function scaleBox(b: CropBox, s: number, maxW: number, maxH: number): CropBox {
  if (s === 1) return b;
  const x = Math.round(b.x * s), y = Math.round(b.y * s);
  return {
    x,
    y,
    width: Math.min(maxW - x, Math.round(b.width * s)),
    height: Math.min(maxH - y, Math.round(b.height * s)),
  };
}
