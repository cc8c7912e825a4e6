/**
 * A request's prompt made ready for the step loop: chat template applied, images hashed and
 * handed to mtmd (which tiles them), and the result flattened into KV items (prefix.ts).
 */
import { createHash } from "node:crypto";
import {
  Bitmap,
  type InputChunk,
  type InputChunks,
  type VisionContext,
} from "../../../ffi/mtmd.ts";
import { InvalidRequestError, NativeCallError } from "../errors.ts";
import { type RenderedPrompt, renderPrompt } from "../prompt.ts";
import type { RgbImage } from "../types.ts";
import type { WireMessage } from "../protocol.ts";
import type { NativeSession } from "./native_session.ts";

export type PromptItem =
  | { readonly kind: "text"; readonly token: number }
  | {
    readonly kind: "image";
    /** The encoder input's identity: the image's content hash and the tile (tileKeys()). */
    readonly key: string;
    readonly positions: number;
    readonly chunk: InputChunk;
  };

/** The token before a picture's overview image in SmolVLM's (idefics3's) layout. */
const GLOBAL_IMAGE_TOKEN = "<global-img>";

export interface PreparedPrompt extends Disposable {
  readonly items: readonly PromptItem[];
  /** All positions the prompt fills, image tokens included. */
  readonly positions: number;
  readonly imageTokens: number;
  readonly tokenizeMs: number;
}

/** SHA-256 of the size and pixels: equal images share cache entries and KV prefixes. */
export function imageKey(image: RgbImage): string {
  return createHash("sha256")
    .update(`${image.width}x${image.height}:`)
    .update(image.data)
    .digest("hex");
}

export async function preparePrompt(
  session: NativeSession,
  messages: readonly WireMessage[],
): Promise<PreparedPrompt> {
  const prompt = renderPrompt(messages, session.template, session.marker);
  const started = performance.now();
  const { vision, model } = session;
  if (prompt.images.length > 0 && vision === null) {
    throw new InvalidRequestError(
      "vision_not_supported",
      "this model has no vision projector (mmproj); it cannot take images",
    );
  }
  if (vision !== null && prompt.isFrame.includes(true)) {
    return await prepareWithFrames(session, vision, prompt, started);
  }
  if (vision === null) {
    const tokens = model.vocab.tokenize(prompt.text, true, true);
    const items: PromptItem[] = Array.from(tokens, (token) => ({ kind: "text", token }));
    return finish(items, null, started);
  }
  const bitmaps: Bitmap[] = [];
  const pictures = prompt.images.map((image) => ({ image, id: imageKey(image) }));
  let tokenized: InputChunks | number;
  try {
    for (const { image, id } of pictures) {
      bitmaps.push(await Bitmap.fromRgb(image.width, image.height, image.data, id));
    }
    tokenized = vision.tokenize(prompt.text, bitmaps, true);
  } finally {
    bitmaps.forEach((b) => b.close());
  }
  if (typeof tokenized === "number") {
    throw tokenized === 2
      ? new InvalidRequestError("invalid_image", "an image could not be preprocessed by mtmd")
      : new NativeCallError("tokenize_failed", `mtmd_tokenize failed with code ${tokenized}`);
  }
  const chunks = tokenized;
  try {
    const keyOf = tileKeys(chunks.chunks, pictures, session.facts.vision?.tileSize ?? null);
    const items: PromptItem[] = [];
    for (const chunk of chunks.chunks) {
      if (chunk.kind === "text") {
        for (const token of chunk.textTokens()) items.push({ kind: "text", token });
        continue;
      }
      items.push({ kind: "image", key: keyOf(chunk), positions: chunk.positions, chunk });
    }
    return finish(items, chunks, started);
  } catch (error) {
    chunks.close();
    throw error;
  }
}

/**
 * A prompt with video frames. mtmd tiles every image it is given (idefics3: tiles plus an
 * overview), but SmolVLM2 sees a frame as one overview image only. So the text between media is
 * tokenized here (mtmd splits at its markers the same way), each picture is tokenized alone, and
 * of a frame only the image chunk that follows `<global-img>` is kept: one encoder pass, 64
 * tokens. The frame's surrounding tokens are already in the text (video_prompt.ts).
 */
async function prepareWithFrames(
  session: NativeSession,
  vision: VisionContext,
  prompt: RenderedPrompt,
  started: number,
): Promise<PreparedPrompt> {
  const { vocab } = session.model;
  const globalImage = vocab.tokenize(GLOBAL_IMAGE_TOKEN, false, true);
  if (globalImage.length !== 1) {
    throw new InvalidRequestError(
      "invalid_video",
      `this model has no ${GLOBAL_IMAGE_TOKEN} token; it does not take video frames`,
    );
  }
  const segments = prompt.text.split(session.marker);
  if (segments.length !== prompt.images.length + 1) {
    throw new NativeCallError("tokenize_failed", "media markers and pictures do not match");
  }
  const owned: InputChunks[] = [];
  const items: PromptItem[] = [];
  const text = (segment: string, first: boolean) => {
    for (const token of vocab.tokenize(segment, first, true)) items.push({ kind: "text", token });
  };
  try {
    text(segments[0]!, true);
    for (const [i, image] of prompt.images.entries()) {
      const id = imageKey(image);
      const bitmap = await Bitmap.fromRgb(image.width, image.height, image.data, id);
      let tokenized: InputChunks | number;
      try {
        tokenized = vision.tokenize(session.marker, [bitmap], false);
      } finally {
        bitmap.close();
      }
      if (typeof tokenized === "number") {
        throw new InvalidRequestError("invalid_image", `picture ${i} could not be preprocessed`);
      }
      owned.push(tokenized);
      if (prompt.isFrame[i]) {
        const chunk = overviewChunk(tokenized.chunks, globalImage[0]!);
        items.push({ kind: "image", key: `${id}#frame`, positions: chunk.positions, chunk });
      } else {
        const keyOf = tileKeys(
          tokenized.chunks,
          [{ image, id }],
          session.facts.vision?.tileSize ?? null,
        );
        for (const chunk of tokenized.chunks) {
          if (chunk.kind === "text") {
            for (const token of chunk.textTokens()) items.push({ kind: "text", token });
          } else {
            items.push({ kind: "image", key: keyOf(chunk), positions: chunk.positions, chunk });
          }
        }
      }
      text(segments[i + 1]!, false);
    }
  } catch (error) {
    owned.forEach((c) => c.close());
    throw error;
  }
  return finish(items, { close: () => owned.forEach((c) => c.close()) }, started);
}

/**
 * Cache keys of a prompt's image chunks, one per distinct encoder input: the image's content
 * hash and the tile's index within the image. So the same picture twice in one prompt shares its
 * tiles' entries, and a picture of exactly one tile (tile x tile px) gets one key for both of its
 * chunks: llama.cpp's idefics3 preprocessing gives it one slice plus the overview, both identity
 * resizes of the same pixels (bit-identical embeddings: tests/ffi/mtmd.test.ts). llama.cpp
 * encodes them twice; we encode once.
 */
function tileKeys(
  chunks: readonly InputChunk[],
  pictures: readonly { readonly image: RgbImage; readonly id: string }[],
  tileSize: number | null,
): (chunk: InputChunk) => string {
  const idOf = (chunk: InputChunk) => chunk.imageId ?? `chunk-${chunk.index}`;
  const chunksPerId = new Map<string, number>();
  for (const chunk of chunks) {
    if (chunk.kind === "image") {
      chunksPerId.set(idOf(chunk), (chunksPerId.get(idOf(chunk)) ?? 0) + 1);
    }
  }
  const copies = new Map<string, { count: number; oneTile: boolean }>();
  for (const { image, id } of pictures) {
    const oneTile = image.width === tileSize && image.height === tileSize;
    copies.set(id, { count: (copies.get(id)?.count ?? 0) + 1, oneTile });
  }
  const seen = new Map<string, number>();
  return (chunk) => {
    const id = idOf(chunk);
    const ordinal = seen.get(id) ?? 0;
    seen.set(id, ordinal + 1);
    const copy = copies.get(id);
    const perImage = (chunksPerId.get(id) ?? 1) / (copy?.count ?? 1);
    if (!Number.isInteger(perImage)) return `${id}#${ordinal}`; // unexpected tiling: no sharing
    if (copy?.oneTile && perImage === 2) return `${id}#whole`;
    return `${id}#${ordinal % perImage}`;
  };
}

/** The overview image of one tokenized picture: the image chunk right after `<global-img>`. */
function overviewChunk(chunks: readonly InputChunk[], globalImage: number): InputChunk {
  let previous = -1;
  const images = chunks.filter((c) => c.kind === "image");
  for (const chunk of chunks) {
    if (chunk.kind === "text") previous = chunk.textTokens().at(-1) ?? previous;
    else if (previous === globalImage) return chunk;
    else previous = -1;
  }
  // A projector that does not tile gives the picture as its one chunk.
  if (images.length === 1) return images[0]!;
  throw new NativeCallError("tokenize_failed", "mtmd gave no overview image for a video frame");
}

function finish(
  items: PromptItem[],
  chunks: { close(): void } | null,
  started: number,
): PreparedPrompt {
  const last = items.at(-1);
  if (last?.kind !== "text") {
    chunks?.close();
    throw new InvalidRequestError("invalid_request", "the rendered prompt must end with text");
  }
  let positions = 0;
  let imageTokens = 0;
  for (const item of items) {
    if (item.kind === "text") positions++;
    else {
      positions += item.positions;
      imageTokens += item.positions;
    }
  }
  return {
    items,
    positions,
    imageTokens,
    tokenizeMs: performance.now() - started,
    [Symbol.dispose]() {
      chunks?.close();
    },
  };
}
