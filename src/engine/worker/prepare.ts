/**
 * A request's prompt made ready for the step loop: chat template applied, images hashed and
 * handed to mtmd (which tiles them), and the result flattened into KV items (prefix.ts).
 */
import { createHash } from "node:crypto";
import { Bitmap, type InputChunk, type InputChunks } from "../../../ffi/mtmd.ts";
import { InvalidRequestError, NativeCallError } from "../errors.ts";
import { renderPrompt } from "../prompt.ts";
import type { RgbImage } from "../types.ts";
import type { WireMessage } from "../protocol.ts";
import type { NativeSession } from "./native_session.ts";

export type PromptItem =
  | { readonly kind: "text"; readonly token: number }
  | {
    readonly kind: "image";
    /** Content hash of the image's pixels and this tile's ordinal within the image. */
    readonly key: string;
    readonly positions: number;
    readonly chunk: InputChunk;
  };

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
  if (vision === null) {
    const tokens = model.vocab.tokenize(prompt.text, true, true);
    const items: PromptItem[] = Array.from(tokens, (token) => ({ kind: "text", token }));
    return finish(items, null, started);
  }
  const bitmaps: Bitmap[] = [];
  let tokenized: InputChunks | number;
  try {
    for (const image of prompt.images) {
      bitmaps.push(await Bitmap.fromRgb(image.width, image.height, image.data, imageKey(image)));
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
    const items: PromptItem[] = [];
    const tilesSeen = new Map<string, number>();
    for (const chunk of chunks.chunks) {
      if (chunk.kind === "text") {
        for (const token of chunk.textTokens()) items.push({ kind: "text", token });
        continue;
      }
      const id = chunk.imageId ?? `chunk-${chunk.index}`;
      const ordinal = tilesSeen.get(id) ?? 0;
      tilesSeen.set(id, ordinal + 1);
      items.push({ kind: "image", key: `${id}#${ordinal}`, positions: chunk.positions, chunk });
    }
    return finish(items, chunks, started);
  } catch (error) {
    chunks.close();
    throw error;
  }
}

function finish(
  items: PromptItem[],
  chunks: InputChunks | null,
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
