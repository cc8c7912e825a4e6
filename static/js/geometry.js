// @ts-check
/** Pure geometry for thumbnails and frame scaling. */

/**
 * @typedef {{ x: number, y: number, width: number, height: number }} Rect
 */

/**
 * Where a srcW×srcH image goes inside a boxW×boxH box when scaled to fit whole, aspect kept,
 * centred (letterboxed or pillarboxed). Sizes are rounded to whole pixels, at least 1.
 * @param {number} srcW
 * @param {number} srcH
 * @param {number} boxW
 * @param {number} boxH
 * @returns {Rect}
 */
export function fitContain(srcW, srcH, boxW, boxH) {
  if (!(srcW > 0 && srcH > 0)) return { x: 0, y: 0, width: boxW, height: boxH };
  const scale = Math.min(boxW / srcW, boxH / srcH);
  const width = Math.max(1, Math.min(boxW, Math.round(srcW * scale)));
  const height = Math.max(1, Math.min(boxH, Math.round(srcH * scale)));
  return {
    x: Math.floor((boxW - width) / 2),
    y: Math.floor((boxH - height) / 2),
    width,
    height,
  };
}

/**
 * The size a srcW×srcH image is scaled down to so its longer side is at most maxSide;
 * never scaled up.
 * @param {number} srcW
 * @param {number} srcH
 * @param {number} maxSide
 * @returns {{ width: number, height: number }}
 */
export function scaleDown(srcW, srcH, maxSide) {
  const longer = Math.max(srcW, srcH);
  if (longer <= maxSide || longer <= 0) return { width: srcW, height: srcH };
  const k = maxSide / longer;
  return {
    width: Math.max(1, Math.round(srcW * k)),
    height: Math.max(1, Math.round(srcH * k)),
  };
}
