/**
 * Per-model facts, in one place, read from the checked GGUF headers at load: context length,
 * chat template, the vision tower's tile size and tokens per tile, the markers mtmd writes
 * around image tiles. Everything else asks these facts instead of assuming SmolVLM's numbers.
 *
 * The one SmolVLM-specific piece left is the hand-built prompt format, used only when a GGUF
 * carries no `tokenizer.chat_template` (the service is built for the SmolVLM family).
 *
 * @module
 */
import {
  type CheckedModelPair,
  checkModelPair,
  type GgufHeader,
  metaNumber,
  metaString,
  projectorType,
} from "../models/gguf.ts";

/** Text mtmd writes around an image's embeddings, per projector type (tools/mtmd/mtmd.cpp). */
export interface ImageMarkers {
  /** Wraps each tile and the overview. */
  readonly wrap: string;
  /** Precedes the downscaled overview image. */
  readonly overview: string;
  /** Precedes each tile; `{row}` and `{col}` count from 1. */
  readonly tile: string;
}

/** mtmd's idefics3 (SmolVLM, SmolVLM2) markers. */
const IDEFICS3_MARKERS: ImageMarkers = {
  wrap: "<fake_token_around_image>",
  overview: "<global-img>",
  tile: "<row_{row}_col_{col}>",
};

export interface VisionFacts {
  readonly projectorType: string;
  /** Side of the square tiles the vision tower sees (`clip.vision.image_size`). */
  readonly tileSize: number;
  readonly patchSize: number;
  /** Pixel-shuffle merge factor per side (`clip.vision.projector.scale_factor`). */
  readonly mergeFactor: number;
  /** Embeddings per tile: (tile / patch / merge)². */
  readonly tokensPerTile: number;
  /** Image pixels per token side: tile / √tokensPerTile. */
  readonly pixelsPerTokenSide: number;
  /** The longest side mtmd resizes to before tiling, when the GGUF says. */
  readonly preprocessSize: number | null;
  readonly markers: ImageMarkers | null;
}

export interface ModelFacts {
  readonly architecture: string;
  /** The context the model was trained with (`<arch>.context_length`). */
  readonly contextLength: number | null;
  /** `tokenizer.chat_template`, rendered with Jinja; null: the hand-built prompt is used. */
  readonly chatTemplate: string | null;
  readonly vision: VisionFacts | null;
}

/** How a conversation is written when the GGUF has no template: SmolVLM's turns. */
export const HAND_BUILT_FORMAT = {
  begin: "<|im_start|>",
  /** Role names as the template capitalises them. */
  roles: { system: "System", user: "User", assistant: "Assistant" },
  endOfTurn: "<end_of_utterance>\n",
  /**
   * Images arrive as marker text (llama.cpp's convention), so every turn is `Role: …`; the HF
   * processor's `User:<image>` for image-first turns does not arise.
   */
  separator: ": ",
  generationPrompt: "Assistant:",
  /** The template's image placeholder, removed from typed text as the Jinja path does. */
  imagePlaceholder: "<image>",
} as const;

function visionFacts(mmproj: GgufHeader): VisionFacts | null {
  const type = projectorType(mmproj);
  const tileSize = metaNumber(mmproj, "clip.vision.image_size");
  const patchSize = metaNumber(mmproj, "clip.vision.patch_size");
  if (!type || !tileSize || !patchSize) return null;
  const mergeFactor = metaNumber(mmproj, "clip.vision.projector.scale_factor") ?? 1;
  const side = tileSize / patchSize / mergeFactor;
  const tokensPerTile = Math.max(1, Math.round(side * side));
  return {
    projectorType: type,
    tileSize,
    patchSize,
    mergeFactor,
    tokensPerTile,
    pixelsPerTokenSide: tileSize / Math.sqrt(tokensPerTile),
    preprocessSize: metaNumber(mmproj, "clip.vision.preproc_image_size"),
    markers: type === "idefics3" ? IDEFICS3_MARKERS : null,
  };
}

/** Checks the pair (src/models/gguf.ts) and reads its facts: the one load-time entry. */
export async function readModelFacts(model: string, mmproj: string | null): Promise<ModelFacts> {
  return modelFacts(await checkModelPair(model, mmproj));
}

/** The facts of a checked pair. */
export function modelFacts(pair: CheckedModelPair): ModelFacts {
  const { model } = pair;
  const template = metaString(model, "tokenizer.chat_template");
  return {
    architecture: model.architecture,
    contextLength: metaNumber(model, `${model.architecture}.context_length`),
    chatTemplate: template && template.trim() ? template : null,
    vision: pair.mmproj ? visionFacts(pair.mmproj) : null,
  };
}

/**
 * mtmd's image_max_tokens that bounds tiling at `maxImageSize` px: with SmolVLM's 64 px per
 * token side, a 1024 px square becomes a 2x2 grid plus the overview (5 encoder passes) instead
 * of llama.cpp's default 2048 px (17).
 */
export function imageTokenBudget(maxImageSize: number, vision: VisionFacts): number {
  return Math.max(1, Math.floor(maxImageSize / vision.pixelsPerTokenSide) ** 2);
}

/**
 * How mtmd tiles an image for this projector under `imageMaxTokens` (its image_max_tokens, which
 * llama.cpp turns into a pixel budget: tokens x pixels per token). src/image's tileGrid() reads
 * it for the image reports' estimate.
 */
export interface ImageTiling {
  readonly tileSize: number;
  readonly longestEdge: number | null;
  readonly maxPixels: number | null;
}

export function imageTiling(vision: VisionFacts, imageMaxTokens: number): ImageTiling {
  return {
    tileSize: vision.tileSize,
    longestEdge: vision.preprocessSize,
    maxPixels: imageMaxTokens * vision.pixelsPerTokenSide ** 2,
  };
}
