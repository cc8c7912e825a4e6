/**
 * Thin typed wrappers over libmtmd: the vision context, RGB bitmaps, tokenized input chunks and
 * batched image encoding. Long calls (init, tokenize, encode, chunk decode) are nonblocking.
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

  /** Loads an mmproj GGUF for `model` off the event loop; null when mtmd rejects it. */
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
    const pointer = await mtmd.mtmd_init_from_file(path0, unwrap(model), params.bytes);
    return pointer === null ? null : new VisionContext(mtmd, pointer);
  }

  get supportsVision(): boolean {
    return this.#mtmd.mtmd_support_vision(this.pointer);
  }

  /**
   * Splits `text` at media markers and tokenizes it, with one bitmap per marker, in order.
   * Returns mtmd's code on failure: 1 marker/bitmap count mismatch, 2 image preprocessing.
   */
  async tokenize(
    text: string,
    bitmaps: readonly Bitmap[],
    addSpecial: boolean,
  ): Promise<InputChunks | number> {
    const chunks = await InputChunks.create(this.#mtmd);
    const text0 = cString(text);
    const input = new StructBuffer(mtmdInputText)
      .setPointer("text", Deno.UnsafePointer.of(text0))
      .set("text_len", BigInt(text0.length - 1))
      .set("add_special", addSpecial)
      .set("parse_special", true);
    const array = new BigUint64Array(Math.max(1, bitmaps.length));
    bitmaps.forEach((b, i) => array[i] = BigInt(Deno.UnsafePointer.value(unwrap(b))));
    const code = await this.#mtmd.mtmd_tokenize(
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

  newEncodeBatch(): EncodeBatch {
    return EncodeBatch.create(this.#mtmd, this.pointer);
  }

  /** Decodes a text chunk into the LLM; returns the new position or throws with mtmd's code. */
  async evalTextChunk(
    context: LlamaContext,
    chunk: InputChunk,
    position: number,
    sequence: number,
    batchSize: number,
    logitsLast: boolean,
  ): Promise<number> {
    const newPosition = Int32Array.of(position); // mtmd advances it in place
    const code = await this.#mtmd.mtmd_helper_eval_chunk_single(
      this.pointer,
      unwrap(context),
      chunkPointer(chunk),
      position,
      sequence,
      batchSize,
      logitsLast,
      newPosition,
    );
    if (code !== 0) throw new MtmdCallError("mtmd_helper_eval_chunk_single", code);
    return newPosition[0]!;
  }

  /** Decodes an image chunk's encoded embeddings into the LLM; returns the new position. */
  async decodeImageChunk(
    context: LlamaContext,
    chunk: InputChunk,
    batch: EncodeBatch,
    position: number,
    sequence: number,
    batchSize: number,
  ): Promise<number> {
    const embeddings = batch._embeddingsFor(chunk);
    const newPosition = Int32Array.of(position); // mtmd advances it in place
    const code = await this.#mtmd.mtmd_helper_decode_image_chunk(
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

  static async fromRgb(width: number, height: number, rgb: Uint8Array): Promise<Bitmap> {
    if (rgb.length !== width * height * 3) {
      throw new RangeError(`RGB buffer has ${rgb.length} bytes, expected ${width * height * 3}`);
    }
    const mtmd = await lib();
    const pointer = mtmd.mtmd_bitmap_init(width, height, rgb as Uint8Array<ArrayBuffer>);
    return new Bitmap(mtmd, nonNull(pointer, () => new Error("mtmd_bitmap_init failed")));
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
  readonly #pointer: Deno.PointerObject;

  constructor(mtmd: MtmdLib, index: number, pointer: Deno.PointerObject) {
    this.index = index;
    this.kind = mtmd.mtmd_input_chunk_get_type(pointer) === MTMD_INPUT_CHUNK_TYPE_TEXT
      ? "text"
      : "image";
    this.tokens = Number(mtmd.mtmd_input_chunk_get_n_tokens(pointer));
    this.positions = mtmd.mtmd_input_chunk_get_n_pos(pointer);
    this.#pointer = pointer;
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

  static async create(mtmd?: MtmdLib): Promise<InputChunks> {
    const m = mtmd ?? await lib();
    return new InputChunks(m, nonNull(m.mtmd_input_chunks_init(), () => new Error("chunks")));
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

/** Encodes several image chunks in one vision-encoder call (mtmd_batch). */
export class EncodeBatch extends NativeHandle {
  readonly #mtmd: MtmdLib;
  readonly #members = new Set<Deno.PointerObject>();
  #encoded = false;

  private constructor(mtmd: MtmdLib, pointer: Deno.PointerObject) {
    super("mtmd_batch", pointer, (p) => mtmd.mtmd_batch_free(p));
    this.#mtmd = mtmd;
  }

  static create(mtmd: MtmdLib, context: Deno.PointerObject): EncodeBatch {
    return new EncodeBatch(mtmd, nonNull(mtmd.mtmd_batch_init(context), () => new Error("batch")));
  }

  /** False when the chunk cannot join this batch (full or incompatible). */
  add(chunk: InputChunk): boolean {
    const ok = this.#mtmd.mtmd_batch_add_chunk(this.pointer, chunkPointer(chunk)) === 0;
    if (ok) this.#members.add(chunkPointer(chunk));
    return ok;
  }

  has(chunk: InputChunk): boolean {
    return this.#encoded && this.#members.has(chunkPointer(chunk));
  }

  async encode(): Promise<void> {
    const code = await this.#mtmd.mtmd_batch_encode(this.pointer);
    if (code !== 0) throw new MtmdCallError("mtmd_batch_encode", code);
    this.#encoded = true;
  }

  /** @internal for ffi/ */
  _embeddingsFor(chunk: InputChunk): Deno.PointerObject {
    if (!this.has(chunk)) throw new Error(`chunk ${chunk.index} was not encoded in this batch`);
    return nonNull(this.#mtmd.mtmd_batch_get_output_embd(this.pointer, chunkPointer(chunk)), () => {
      return new Error(`no embeddings for chunk ${chunk.index}`);
    });
  }
}
