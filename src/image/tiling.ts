/**
 * How llama.cpp's idefics3 preprocessing (mtmd) tiles an image, as plain data and pure functions:
 * the image reports' tile estimate. A module with no imports, so the HTTP layer's main thread
 * uses it without loading the pipeline.
 *
 * @module
 */

/** How llama.cpp's idefics3 preprocessing (mtmd) tiles an image for one model and budget. */
export interface TilingRule {
  /** Side of the square tiles the vision tower sees (`clip.vision.image_size`). */
  readonly tileSize: number;
  /** The side mtmd first scales the longest side to (`clip.vision.preproc_image_size`). */
  readonly longestEdge: number | null;
  /** Pixel budget per image (image_max_tokens x pixels per token); null: no budget. */
  readonly maxPixels: number | null;
}

/** Tiling at a tile side alone: no preprocess size, no token budget. */
export function plainTiling(tileSize: number): TilingRule {
  return { tileSize, longestEdge: null, maxPixels: null };
}

export interface TileGrid {
  cols: number;
  rows: number;
  /** Encoder passes: cols × rows plus the overview image; one for a picture of one tile. */
  passes: number;
}

/**
 * The tile grid llama.cpp's idefics3 preprocessing (mtmd-image.cpp, pinned source) gives an
 * image of this size, and the encoder passes the engine runs for it. The engine always gives
 * mtmd a token budget, so this is mtmd's budgeted path (calc_size_preserved_ratio): the image is
 * scaled so its longest side is `longestEdge` and each side rounded up to whole tiles (without
 * one: each side rounded to the nearest), then shrunk to fit `maxPixels`. mtmd adds an overview
 * of the whole picture; a picture of exactly one tile is encoded once (its slice and overview
 * are the same pixels, so the engine reuses the embeddings).
 */
export function tileGrid(width: number, height: number, rule: TilingRule): TileGrid {
  const tile = rule.tileSize;
  if (!Number.isInteger(tile) || tile < 1) {
    throw new RangeError(`tile side ${tile} is not a positive integer`);
  }
  // Single precision where mtmd computes in float, so rounding ties land the same way.
  const f = Math.fround;
  const byTile = (x: number, op: (v: number) => number) => op(f(f(x) / tile)) * tile;
  let w: number, h: number;
  if (rule.longestEdge !== null && rule.longestEdge > 0) {
    const scale = Math.min(f(rule.longestEdge / width), f(rule.longestEdge / height));
    w = byTile(f(width * scale), Math.ceil);
    h = byTile(f(height * scale), Math.ceil);
  } else {
    w = Math.max(tile, byTile(width, Math.round));
    h = Math.max(tile, byTile(height, Math.round));
  }
  if (rule.maxPixels !== null && w * h > rule.maxPixels) {
    const beta = f(Math.sqrt(f(f(height * width) / rule.maxPixels)));
    h = Math.max(tile, byTile(f(height / beta), Math.floor));
    w = Math.max(tile, byTile(f(width / beta), Math.floor));
  }
  const cols = Math.ceil(w / tile), rows = Math.ceil(h / tile);
  const n = cols * rows;
  const oneTile = n === 1 && width === tile && height === tile;
  return { cols, rows, passes: oneTile ? 1 : n + 1 };
}
