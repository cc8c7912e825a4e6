/**
 * Thin typed wrappers over libmtmd: the vision context, RGB bitmaps, tokenized input chunks,
 * image encoding and decoding image embeddings into the LLM. Every call is synchronous: the
 * engine worker owns these objects and drives them from its one thread.
 */
import { NativeHandle, nonNull, unwrap } from "./handle.ts";
import { cString, loadNativeLibraries, type MtmdLib, readCString } from "./library.ts";
import type { FlashAttention, LlamaContext, LlamaModel } from "./llama.ts";
import { StructBuffer } from "./layout.ts";
import { mtmdContextParams, mtmdInputText } from "./structs.ts";
import { MTMD_INPUT_CHUNK_TYPE_TEXT } from "./mtmd_symbols.ts";

async function lib(): Promise<MtmdLib> {
  return (await loadNativeLibraries()).mtmd;
}

/** The marker mtmd replaces with an image's tokens ("<__media__>"). */
export async function defaultMediaMarker(): Promise<string> {
  return readCString((await lib()).mtmd_default_marker()) ?? "<__media__>";
}

export interface VisionOptions {
  readonly threads: number;
  readonly useGpu?: boolean;
  /** Caps tokens per image; for idefics3 this switches tiling to the min/max-pixels path. */
  readonly imageMaxTokens?: number;
  readonly imageMinTokens?: number;
  readonly warmup?: boolean;
  readonly flashAttention?: FlashAttention;
}

const FLASH_ATTN: Record<FlashAttention, number> = { auto: -1, off: 0, on: 1 };

export class VisionContext extends NativeHandle {
  readonly #mtmd: MtmdLib;

  private constructor(mtmd: MtmdLib, pointer: Deno.PointerObject) {
    super("mtmd_context", pointer, (p) => mtmd.mtmd_free(p));
    this.#mtmd = mtmd;
  }

  /** Loads an mmproj GGUF for `model`; null when mtmd rejects it. */
  static async load(
    path: string,
    model: LlamaModel,
    options: VisionOptions,
  ): Promise<VisionContext | null> {
    const mtmd = await lib();
    const params = new StructBuffer(mtmdContextParams, mtmd.mtmd_context_params_default());
    params.set("use_gpu", options.useGpu ?? false);
    params.set("print_timings", false);
    params.set("n_threads", options.threads);
    params.set("warmup", options.warmup ?? true);
    params.set("flash_attn_type", FLASH_ATTN[options.flashAttention ?? "auto"]);
    if (options.imageMaxTokens) params.set("image_max_tokens", options.imageMaxTokens);
    if (options.imageMinTokens) params.set("image_min_tokens", options.imageMinTokens);
    const path0 = cString(path);
    const pointer = mtmd.mtmd_init_from_file(path0, unwrap(model), params.bytes);
    return pointer === null ? null : new VisionContext(mtmd, pointer);
  }

  get supportsVision(): boolean {
    return this.#mtmd.mtmd_support_vision(this.pointer);
  }

  /**
   * Splits `text` at media markers and tokenizes it, with one bitmap per marker, in order.
   * Returns mtmd's code on failure: 1 marker/bitmap count mismatch, 2 image preprocessing.
   */
  tokenize(text: string, bitmaps: readonly Bitmap[], addSpecial: boolean): InputChunks | number {
    const chunks = InputChunks.create(this.#mtmd);
    const text0 = cString(text);
    const input = new StructBuffer(mtmdInputText)
      .setPointer("text", Deno.UnsafePointer.of(text0))
      .set("text_len", BigInt(text0.length - 1))
      .set("add_special", addSpecial)
      .set("parse_special", true);
    const array = new BigUint64Array(Math.max(1, bitmaps.length));
    bitmaps.forEach((b, i) => array[i] = BigInt(Deno.UnsafePointer.value(unwrap(b))));
    const code = this.#mtmd.mtmd_tokenize(
      this.pointer,
      unwrap(chunks),
      input.bytes,
      new Uint8Array(array.buffer),
      BigInt(bitmaps.length),
    );
    void text0; // C reads it through input.text until the call returns
    if (code !== 0) {
      chunks.close();
      return code;
    }
    return chunks;
  }

  /**
   * Runs the vision encoder over one image chunk and returns a copy of its embeddings
   * (chunk.tokens x embeddingSize floats); throws MtmdCallError when encoding fails.
   */
  encodeChunk(chunk: InputChunk, embeddingSize: number): Float32Array<ArrayBuffer> {
    const code = this.#mtmd.mtmd_encode_chunk(this.pointer, chunkPointer(chunk));
    if (code !== 0) throw new MtmdCallError("mtmd_encode_chunk", code);
    const out = nonNull(this.#mtmd.mtmd_get_output_embd(this.pointer), () => {
      return new Error("mtmd_get_output_embd returned NULL");
    });
    const floats = chunk.tokens * embeddingSize;
    return new Float32Array(Deno.UnsafePointerView.getArrayBuffer(out, floats * 4).slice(0));
  }

  /**
   * Decodes an image chunk's embeddings into `sequence` of the LLM at `position` (in batches of
   * `batchSize`); returns the next position or throws with mtmd's code.
   */
  decodeImageChunk(
    context: LlamaContext,
    chunk: InputChunk,
    embeddings: Float32Array<ArrayBuffer>,
    position: number,
    sequence: number,
    batchSize: number,
  ): number {
    const newPosition = Int32Array.of(position); // mtmd advances it in place
    const code = this.#mtmd.mtmd_helper_decode_image_chunk(
      this.pointer,
      unwrap(context),
      chunkPointer(chunk),
      embeddings,
      position,
      sequence,
      batchSize,
      newPosition,
      null,
      null,
    );
    if (code !== 0) throw new MtmdCallError("mtmd_helper_decode_image_chunk", code);
    return newPosition[0]!;
  }
}

export class MtmdCallError extends Error {
  readonly code: number;
  constructor(call: string, code: number) {
    super(`${call} failed with code ${code}`);
    this.name = "MtmdCallError";
    this.code = code;
  }
}

/** An RGB image handed to mtmd (copied on creation). */
export class Bitmap extends NativeHandle {
  private constructor(mtmd: MtmdLib, pointer: Deno.PointerObject) {
    super("mtmd_bitmap", pointer, (p) => mtmd.mtmd_bitmap_free(p));
  }

  /** `id` names the image's content (a hash): every chunk made from it carries that id. */
  static async fromRgb(
    width: number,
    height: number,
    rgb: Uint8Array,
    id?: string,
  ): Promise<Bitmap> {
    if (rgb.length !== width * height * 3) {
      throw new RangeError(`RGB buffer has ${rgb.length} bytes, expected ${width * height * 3}`);
    }
    const mtmd = await lib();
    const pointer = mtmd.mtmd_bitmap_init(width, height, rgb as Uint8Array<ArrayBuffer>);
    const bitmap = new Bitmap(mtmd, nonNull(pointer, () => new Error("mtmd_bitmap_init failed")));
    if (id !== undefined) mtmd.mtmd_bitmap_set_id(bitmap.pointer, cString(id));
    return bitmap;
  }
}

let chunkPointer: (chunk: InputChunk) => Deno.PointerObject;

/** One tokenized piece of the prompt: text tokens or one image's tokens. Owned by its list. */
export class InputChunk {
  readonly index: number;
  readonly kind: "text" | "image";
  /** Tokens it adds to the context (image: embeddings). */
  readonly tokens: number;
  /** Positions it advances (equal to tokens for SmolVLM's non-M-RoPE model). */
  readonly positions: number;
  /** The id of the bitmap an image chunk came from; null for text. */
  readonly imageId: string | null;
  readonly #pointer: Deno.PointerObject;
  readonly #mtmd: MtmdLib;

  constructor(mtmd: MtmdLib, index: number, pointer: Deno.PointerObject) {
    this.index = index;
    this.kind = mtmd.mtmd_input_chunk_get_type(pointer) === MTMD_INPUT_CHUNK_TYPE_TEXT
      ? "text"
      : "image";
    this.tokens = Number(mtmd.mtmd_input_chunk_get_n_tokens(pointer));
    this.positions = mtmd.mtmd_input_chunk_get_n_pos(pointer);
    this.imageId = this.kind === "image"
      ? readCString(mtmd.mtmd_input_chunk_get_id(pointer))
      : null;
    this.#pointer = pointer;
    this.#mtmd = mtmd;
  }

  /** A copy of a text chunk's token ids (empty for an image chunk). */
  textTokens(): Int32Array {
    if (this.kind !== "text") return new Int32Array(0);
    const count = new BigUint64Array(1);
    const tokens = this.#mtmd.mtmd_input_chunk_get_tokens_text(
      this.#pointer,
      new Uint8Array(count.buffer),
    );
    const n = Number(count[0]);
    if (tokens === null || n === 0) return new Int32Array(0);
    return new Int32Array(Deno.UnsafePointerView.getArrayBuffer(tokens, n * 4).slice(0));
  }

  static {
    chunkPointer = (chunk) => chunk.#pointer;
  }
}

export class InputChunks extends NativeHandle implements Iterable<InputChunk> {
  readonly #chunks: InputChunk[] = [];
  readonly #mtmd: MtmdLib;

  private constructor(mtmd: MtmdLib, pointer: Deno.PointerObject) {
    super("mtmd_input_chunks", pointer, (p) => mtmd.mtmd_input_chunks_free(p));
    this.#mtmd = mtmd;
  }

  static create(mtmd: MtmdLib): InputChunks {
    return new InputChunks(mtmd, nonNull(mtmd.mtmd_input_chunks_init(), () => new Error("chunks")));
  }

  /** Reads the chunk list (after tokenize filled it). */
  get chunks(): readonly InputChunk[] {
    if (this.#chunks.length === 0) {
      const m = this.#mtmd;
      const n = Number(m.mtmd_input_chunks_size(this.pointer));
      for (let i = 0; i < n; i++) {
        const p = nonNull(m.mtmd_input_chunks_get(this.pointer, BigInt(i)), () => {
          return new Error(`chunk ${i} is NULL`);
        });
        this.#chunks.push(new InputChunk(m, i, p));
      }
    }
    return this.#chunks;
  }

  [Symbol.iterator](): Iterator<InputChunk> {
    return this.chunks[Symbol.iterator]();
  }
}
