/**
 * Smart crop: (1) trim uniform borders (letterbox bars, scanner margins); (2) when the aspect
 * ratio is more extreme than the resize bounds can hold, keep the most salient window (the one
 * with the most gradient energy) instead of squashing.
 */
import type { RgbImage } from "./codecs.ts";

export interface CropBox {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface TrimOptions {
  /** Max per-channel difference from the border colour for a pixel to count as border. */
  tolerance?: number;
  /** Share of a line's pixels that must match for the line to be border. */
  fraction?: number;
  /** Never trim more than this share of the width/height from one side. */
  maxSideFraction?: number;
}

/** Box left after removing uniform borders; the full image when there are none. */
export function findBorderTrim(img: RgbImage, opts: TrimOptions = {}): CropBox {
  const tol = opts.tolerance ?? 16;
  const frac = opts.fraction ?? 0.98;
  const maxSide = opts.maxSideFraction ?? 0.45;
  const { width: W, height: H, data } = img;
  let top = 0, bottom = H, left = 0, right = W;

  const lineColor = (horizontal: boolean, at: number, from: number, to: number): number[] => {
    const rs: number[] = [], gs: number[] = [], bs: number[] = [];
    const step = Math.max(1, Math.floor((to - from) / 64));
    for (let i = from; i < to; i += step) {
      const p = horizontal ? (at * W + i) * 3 : (i * W + at) * 3;
      rs.push(data[p]!);
      gs.push(data[p + 1]!);
      bs.push(data[p + 2]!);
    }
    const med = (a: number[]) => a.sort((x, y) => x - y)[a.length >> 1]!;
    return [med(rs), med(gs), med(bs)];
  };
  const lineMatches = (
    horizontal: boolean,
    at: number,
    from: number,
    to: number,
    c: number[],
  ): boolean => {
    const n = to - from;
    let bad = 0;
    const allowed = Math.floor(n * (1 - frac));
    for (let i = from; i < to; i++) {
      const p = horizontal ? (at * W + i) * 3 : (i * W + at) * 3;
      if (
        Math.abs(data[p]! - c[0]!) > tol || Math.abs(data[p + 1]! - c[1]!) > tol ||
        Math.abs(data[p + 2]! - c[2]!) > tol
      ) {
        if (++bad > allowed) return false;
      }
    }
    return true;
  };

  const maxRows = Math.floor(H * maxSide), maxCols = Math.floor(W * maxSide);
  // Top and bottom over the full width.
  let c = lineColor(true, 0, 0, W);
  while (top < maxRows && lineMatches(true, top, 0, W, c)) top++;
  c = lineColor(true, H - 1, 0, W);
  while (H - bottom < maxRows && lineMatches(true, bottom - 1, 0, W, c)) bottom--;
  // Hitting the limit from both sides means the image is (nearly) uniform: leave it alone.
  if (bottom - top < 1 || (top >= maxRows && H - bottom >= maxRows)) {
    return { x: 0, y: 0, width: W, height: H };
  }
  // Left and right over the remaining rows.
  c = lineColor(false, 0, top, bottom);
  while (left < maxCols && lineMatches(false, left, top, bottom, c)) left++;
  c = lineColor(false, W - 1, top, bottom);
  while (W - right < maxCols && lineMatches(false, right - 1, top, bottom, c)) right--;
  if (right - left < 1 || (left >= maxCols && W - right >= maxCols)) {
    return { x: 0, y: 0, width: W, height: H };
  }
  return { x: left, y: top, width: right - left, height: bottom - top };
}

/**
 * Inside `box`, the window of aspect `maxAspect` (long:short) with the most gradient energy,
 * when box is more elongated than that; otherwise `box` itself. Ties go to the centre.
 */
export function findSalientWindow(img: RgbImage, box: CropBox, maxAspect: number): CropBox {
  const wide = box.width >= box.height;
  const long = wide ? box.width : box.height;
  const short = wide ? box.height : box.width;
  if (long <= short * maxAspect + 0.5) return box;
  const win = Math.max(1, Math.round(short * maxAspect));
  const { width: W, data } = img;
  // Energy profile along the long axis: sum of |∇luma| over the short axis (subsampled).
  const step = Math.max(1, Math.floor(short / 256));
  const profile = new Float64Array(long);
  const luma = (x: number, y: number) => {
    const p = (y * W + x) * 3;
    return 0.299 * data[p]! + 0.587 * data[p + 1]! + 0.114 * data[p + 2]!;
  };
  for (let i = 0; i < long; i++) {
    let e = 0;
    for (let j = 0; j < short; j += step) {
      const x = wide ? box.x + i : box.x + j;
      const y = wide ? box.y + j : box.y + i;
      const c = luma(x, y);
      const xn = Math.min(box.x + box.width - 1, x + 1);
      const yn = Math.min(box.y + box.height - 1, y + 1);
      e += Math.abs(luma(xn, y) - c) + Math.abs(luma(x, yn) - c);
    }
    profile[i] = e;
  }
  let sum = 0;
  for (let i = 0; i < win; i++) sum += profile[i]!;
  let best = sum, bestAt = 0;
  const centre = (long - win) / 2;
  for (let s = 1; s + win <= long; s++) {
    sum += profile[s + win - 1]! - profile[s - 1]!;
    if (
      sum > best + 1e-9 ||
      (Math.abs(sum - best) <= 1e-9 && Math.abs(s - centre) < Math.abs(bestAt - centre))
    ) {
      best = sum;
      bestAt = s;
    }
  }
  return wide
    ? { x: box.x + bestAt, y: box.y, width: win, height: box.height }
    : { x: box.x, y: box.y + bestAt, width: box.width, height: win };
}

/** Copies `box` out of `img` (returns img itself for the full box). */
export function cropImage(img: RgbImage, box: CropBox): RgbImage {
  if (box.x === 0 && box.y === 0 && box.width === img.width && box.height === img.height) {
    return img;
  }
  const out = new Uint8Array(box.width * box.height * 3);
  for (let y = 0; y < box.height; y++) {
    const s = ((box.y + y) * img.width + box.x) * 3;
    out.set(img.data.subarray(s, s + box.width * 3), y * box.width * 3);
  }
  return { width: box.width, height: box.height, data: out };
}
