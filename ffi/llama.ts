/**
 * Thin typed wrappers over libllama: model, context, batch, sampler chain, vocab, chat template.
 * Each wrapper owns one native object; nothing outside ffi/ sees a pointer.
 */
import { NativeHandle, nonNull, unwrap } from "./handle.ts";
import {
  cString,
  type LlamaLib,
  loadedLibraries,
  loadNativeLibraries,
  readCString,
} from "./library.ts";
import {
  ggmlThreadpoolParams,
  llamaBatch,
  llamaChatMessage,
  llamaContextParams,
  llamaModelParams,
  llamaSamplerChainParams,
} from "./structs.ts";
import { StructBuffer } from "./layout.ts";

async function lib(): Promise<LlamaLib> {
  return (await loadNativeLibraries()).llama;
}

const decoder = new TextDecoder();

/** llama.cpp's build and CPU feature line. */
export async function systemInfo(): Promise<string> {
  return readCString((await lib()).llama_print_system_info()) ?? "";
}

export async function supportsGpuOffload(): Promise<boolean> {
  return (await lib()).llama_supports_gpu_offload();
}

/** GGML log levels as llama.cpp passes them to log callbacks. */
export type NativeLogLevel = "debug" | "info" | "warn" | "error" | "cont" | "none";
const LOG_LEVELS: readonly NativeLogLevel[] = ["none", "debug", "info", "warn", "error", "cont"];

let logCallback:
  | Deno.UnsafeCallback<
    { readonly parameters: readonly ["i32", "pointer", "pointer"]; readonly result: "void" }
  >
  | null = null;

/**
 * Routes llama.cpp's and mtmd's log lines to `handler` (null restores their stderr default).
 * The callback is thread-safe: native threads queue lines onto the event loop.
 */
export async function setNativeLogHandler(
  handler: ((level: NativeLogLevel, text: string) => void) | null,
): Promise<void> {
  const { llama, mtmd } = await loadNativeLibraries();
  if (handler === null) {
    llama.llama_log_set(null, null);
    mtmd.mtmd_log_set(null, null);
    mtmd.mtmd_helper_log_set(null, null);
    logCallback?.close();
    logCallback = null;
    return;
  }
  const previous = logCallback;
  logCallback = Deno.UnsafeCallback.threadSafe(
    { parameters: ["i32", "pointer", "pointer"], result: "void" } as const,
    (level, text) => handler(LOG_LEVELS[level] ?? "info", readCString(text) ?? ""),
  );
  logCallback.unref(); // logging must not keep the process alive
  llama.llama_log_set(logCallback.pointer, null);
  mtmd.mtmd_log_set(logCallback.pointer, null);
  mtmd.mtmd_helper_log_set(logCallback.pointer, null);
  previous?.close();
}

/** enum llama_load_mode (llama.h): read into memory, or memory-map. */
const LOAD_MODE_NONE = 0;
const LOAD_MODE_MMAP = 1;

export interface ModelLoadOptions {
  /** Layers to offload to a GPU; 0 for CPU only, -1 for all. */
  readonly gpuLayers?: number;
  /**
   * ggml's extra (repacking) buffer types. Off avoids the AMX kernels that fault on some VMs
   * when a portable build picks an AMX CPU variant.
   */
  readonly useExtraBuffers?: boolean;
  /**
   * Memory-map the file (llama.cpp's default) instead of reading it into memory. Off by
   * default: a mapped file that is truncated or replaced while the server runs faults the whole
   * process (SIGBUS) on the next page it touches; a read copy survives.
   */
  readonly mmap?: boolean;
}

export class LlamaModel extends NativeHandle {
  readonly #llama: LlamaLib;
  readonly vocab: Vocab;

  private constructor(llama: LlamaLib, pointer: Deno.PointerObject) {
    super("llama_model", pointer, (p) => llama.llama_model_free(p));
    this.#llama = llama;
    this.vocab = new Vocab(
      llama,
      nonNull(llama.llama_model_get_vocab(pointer), () => {
        return new Error("model has no vocabulary");
      }),
    );
  }

  /** Loads a GGUF file (blocks the calling thread: the engine worker's); null when rejected. */
  static async load(path: string, options: ModelLoadOptions = {}): Promise<LlamaModel | null> {
    const llama = await lib();
    const params = new StructBuffer(llamaModelParams, llama.llama_model_default_params());
    params.set("n_gpu_layers", options.gpuLayers ?? 0);
    params.set("load_mode", options.mmap ? LOAD_MODE_MMAP : LOAD_MODE_NONE);
    if (options.useExtraBuffers !== undefined) {
      params.set("use_extra_bufts", options.useExtraBuffers);
    }
    const path0 = cString(path);
    const pointer = llama.llama_model_load_from_file(path0, params.bytes);
    return pointer === null ? null : new LlamaModel(llama, pointer);
  }

  description(): string {
    const buf = new Uint8Array(256);
    const n = this.#llama.llama_model_desc(this.pointer, buf, BigInt(buf.length));
    return decoder.decode(buf.subarray(0, Math.max(0, Math.min(n, buf.length - 1))));
  }

  get sizeBytes(): number {
    return Number(this.#llama.llama_model_size(this.pointer));
  }

  get parameterCount(): number {
    return Number(this.#llama.llama_model_n_params(this.pointer));
  }

  get trainContextSize(): number {
    return this.#llama.llama_model_n_ctx_train(this.pointer);
  }

  /** Repeating (transformer) layers; n_gpu_layers counts the output layer as one more. */
  get layerCount(): number {
    return this.#llama.llama_model_n_layer(this.pointer);
  }

  get embeddingSize(): number {
    return this.#llama.llama_model_n_embd(this.pointer);
  }

  /** The GGUF's tokenizer.chat_template, or null. */
  chatTemplate(): string | null {
    return readCString(this.#llama.llama_model_chat_template(this.pointer, null));
  }
}

let vocabPointer: (vocab: Vocab) => Deno.PointerObject;

/** Non-owning view of a model's vocabulary (lives as long as the model). */
export class Vocab {
  readonly #llama: LlamaLib;
  readonly #pointer: Deno.PointerObject;
  readonly size: number;
  readonly #piece = new Uint8Array(256);

  constructor(llama: LlamaLib, pointer: Deno.PointerObject) {
    this.#llama = llama;
    this.#pointer = pointer;
    this.size = llama.llama_vocab_n_tokens(pointer);
  }

  /** The beginning-of-sequence token (-1 when the vocabulary has none). */
  get bos(): number {
    return this.#llama.llama_vocab_bos(this.#pointer);
  }

  isEndOfGeneration(token: number): boolean {
    return this.#llama.llama_vocab_is_eog(this.#pointer, token);
  }

  /** The token's bytes (may be part of a multi-byte UTF-8 character); specials not rendered. */
  tokenBytes(token: number): Uint8Array {
    let buf = this.#piece;
    let n = this.#llama.llama_token_to_piece(this.#pointer, token, buf, buf.length, 0, false);
    if (n < 0) {
      buf = new Uint8Array(-n);
      n = this.#llama.llama_token_to_piece(this.#pointer, token, buf, buf.length, 0, false);
    }
    return buf.slice(0, Math.max(0, n));
  }

  tokenize(text: string, addSpecial: boolean, parseSpecial: boolean): Int32Array {
    const bytes = new TextEncoder().encode(text);
    let tokens = new Int32Array(bytes.length + 8);
    for (;;) {
      const n = this.#llama.llama_tokenize(
        this.#pointer,
        bytes,
        bytes.length,
        tokens,
        tokens.length,
        addSpecial,
        parseSpecial,
      );
      if (n >= 0) return tokens.subarray(0, n);
      tokens = new Int32Array(-n); // too small: -n is the size needed
    }
  }

  static {
    vocabPointer = (vocab) => vocab.#pointer;
  }
}

export interface ChatTemplateMessage {
  readonly role: string;
  readonly content: string;
}

/**
 * Renders messages with llama.cpp's built-in template matching `template` (llama.cpp detects the
 * format from the Jinja text). Returns null when no built-in template matches.
 */
export async function applyChatTemplate(
  template: string,
  messages: readonly ChatTemplateMessage[],
  addAssistant: boolean,
): Promise<string | null> {
  const llama = await lib();
  const strings = messages.flatMap((m) => [cString(m.role), cString(m.content)]);
  const array = new Uint8Array(llamaChatMessage.size * messages.length);
  messages.forEach((_, i) => {
    const message = new StructBuffer(llamaChatMessage);
    message.setPointer("role", Deno.UnsafePointer.of(strings[2 * i]!));
    message.setPointer("content", Deno.UnsafePointer.of(strings[2 * i + 1]!));
    array.set(message.bytes, i * llamaChatMessage.size);
  });
  const tmpl = cString(template);
  const templatePointer = Deno.UnsafePointer.of(tmpl);
  const contentBytes = strings.reduce((sum, s) => sum + s.length, 0);
  let out = new Uint8Array(Math.max(1024, contentBytes * 2));
  let n = llama.llama_chat_apply_template(
    templatePointer,
    array,
    BigInt(messages.length),
    addAssistant,
    out,
    out.length,
  );
  if (n > out.length) {
    out = new Uint8Array(n);
    n = llama.llama_chat_apply_template(
      templatePointer,
      array,
      BigInt(messages.length),
      addAssistant,
      out,
      out.length,
    );
  }
  // `strings` and `tmpl` must outlive the calls above: C holds raw pointers into them.
  void strings;
  void tmpl;
  return n < 0 ? null : decoder.decode(out.subarray(0, n));
}

/**
 * A persistent ggml CPU threadpool (what llama.cpp's own tools attach to their contexts). Without
 * one, ggml starts and joins fresh threads for every decode, which costs ~20% of decode speed
 * when calls arrive from Deno's pool threads. Null when no CPU backend is registered.
 */
export class CpuThreadPool extends NativeHandle {
  private constructor(free: (p: Deno.PointerObject) => void, pointer: Deno.PointerObject) {
    super("ggml_threadpool", pointer, free);
  }

  static async create(threads: number): Promise<CpuThreadPool | null> {
    const { ggmlBase, cpu } = await loadNativeLibraries();
    if (cpu === null) return null;
    const params = new StructBuffer(ggmlThreadpoolParams);
    ggmlBase.ggml_threadpool_params_init(params.bytes, threads);
    const pointer = cpu.threadpoolNew.call(params.bytes);
    return pointer === null ? null : new CpuThreadPool((p) => cpu.threadpoolFree.call(p), pointer);
  }
}

export type FlashAttention = "auto" | "on" | "off";

export interface ContextOptions {
  readonly contextSize: number;
  readonly batchSize?: number;
  readonly microBatchSize?: number;
  readonly sequences?: number;
  readonly threads: number;
  readonly batchThreads?: number;
  readonly flashAttention?: FlashAttention;
  /** One KV cache shared by all sequences (no static per-sequence split). Default true. */
  readonly unifiedKv?: boolean;
  /** Runs decode (and prompt batches) on this pool; it must outlive the context. */
  readonly threadPool?: CpuThreadPool | null;
}

const FLASH_ATTN: Record<FlashAttention, number> = { auto: -1, off: 0, on: 1 };

export class LlamaContext extends NativeHandle {
  readonly #llama: LlamaLib;
  readonly #memory: Deno.PointerObject;

  private constructor(llama: LlamaLib, pointer: Deno.PointerObject) {
    super("llama_context", pointer, (p) => llama.llama_free(p));
    this.#llama = llama;
    this.#memory = nonNull(
      llama.llama_get_memory(pointer),
      () => new Error("context has no memory"),
    );
  }

  /** Creates a context (allocates the KV cache); null on failure. */
  static async create(model: LlamaModel, options: ContextOptions): Promise<LlamaContext | null> {
    const llama = await lib();
    const params = new StructBuffer(llamaContextParams, llama.llama_context_default_params());
    params.set("n_ctx", options.contextSize);
    if (options.batchSize) params.set("n_batch", options.batchSize);
    if (options.microBatchSize) params.set("n_ubatch", options.microBatchSize);
    params.set("n_seq_max", options.sequences ?? 1);
    params.set("n_threads", options.threads);
    params.set("n_threads_batch", options.batchThreads ?? options.threads);
    params.set("flash_attn_type", FLASH_ATTN[options.flashAttention ?? "auto"]);
    params.set("kv_unified", options.unifiedKv ?? true);
    params.set("no_perf", true);
    const pointer = llama.llama_init_from_model(unwrap(model), params.bytes);
    if (pointer === null) return null;
    if (options.threadPool) {
      llama.llama_attach_threadpool(pointer, unwrap(options.threadPool), null);
    }
    return new LlamaContext(llama, pointer);
  }

  get contextSize(): number {
    return this.#llama.llama_n_ctx(this.pointer);
  }

  get batchSize(): number {
    return this.#llama.llama_n_batch(this.pointer);
  }

  get sequences(): number {
    return this.#llama.llama_n_seq_max(this.pointer);
  }

  /** Drops a sequence's cached positions [from, to) (to < 0: to the end). */
  removeSequence(sequence: number, from = -1, to = -1): boolean {
    return this.#llama.llama_memory_seq_rm(this.#memory, sequence, from, to);
  }

  /** The highest position the sequence holds in the KV cache; -1 when it holds none. */
  lastPosition(sequence: number): number {
    return this.#llama.llama_memory_seq_pos_max(this.#memory, sequence);
  }

  clearMemory(): void {
    this.#llama.llama_memory_clear(this.#memory, true);
  }

  /**
   * Runs the model over a batch, synchronously on the calling thread (the engine worker's: one
   * thread drives ggml, no per-call pool-thread hop). Returns llama_decode's code: 0 ok, 1 no KV
   * slot, 2 aborted, < 0 error.
   */
  decode(batch: TokenBatch): number {
    return this.#llama.llama_decode(this.pointer, batch._struct);
  }
}

/** A llama_batch of tokens (one sequence id each), reused across decode calls. */
export class TokenBatch extends NativeHandle {
  readonly capacity: number;
  readonly #struct: StructBuffer<keyof typeof llamaBatch.fields & string>;
  readonly #token: Int32Array;
  readonly #pos: Int32Array;
  readonly #nSeqId: Int32Array;
  readonly #seqId: Int32Array[];
  readonly #logits: Int8Array;

  private constructor(llama: LlamaLib, bytes: Uint8Array, capacity: number) {
    const struct = new StructBuffer(llamaBatch, bytes);
    super(
      "llama_batch",
      nonNull(struct.getPointer("token"), () => new Error("batch alloc")),
      () => {
        llama.llama_batch_free(struct.bytes);
      },
    );
    this.capacity = capacity;
    this.#struct = struct;
    const view = (name: "token" | "pos" | "n_seq_id" | "logits", bytesPer: number) =>
      Deno.UnsafePointerView.getArrayBuffer(
        nonNull(struct.getPointer(name), () => new Error(`batch.${name} is NULL`)),
        capacity * bytesPer,
      );
    this.#token = new Int32Array(view("token", 4));
    this.#pos = new Int32Array(view("pos", 4));
    this.#nSeqId = new Int32Array(view("n_seq_id", 4));
    this.#logits = new Int8Array(view("logits", 1));
    const seqIds = new BigUint64Array(
      Deno.UnsafePointerView.getArrayBuffer(
        nonNull(struct.getPointer("seq_id"), () => new Error("batch.seq_id is NULL")),
        capacity * 8,
      ),
    );
    this.#seqId = [...seqIds].map((address) =>
      new Int32Array(
        Deno.UnsafePointerView.getArrayBuffer(
          nonNull(Deno.UnsafePointer.create(address), () => new Error("seq_id[i] is NULL")),
          4,
        ),
      )
    );
  }

  static async create(capacity: number): Promise<TokenBatch> {
    const llama = await lib();
    return new TokenBatch(llama, llama.llama_batch_init(capacity, 0, 1), capacity);
  }

  get length(): number {
    return this.#struct.getNumber("n_tokens");
  }

  clear(): void {
    this.#struct.set("n_tokens", 0);
  }

  add(token: number, position: number, sequence: number, wantLogits: boolean): void {
    void this.pointer; // throws when closed
    const i = this.length;
    if (i >= this.capacity) throw new Error(`batch full (${this.capacity})`);
    this.#token[i] = token;
    this.#pos[i] = position;
    this.#nSeqId[i] = 1;
    this.#seqId[i]![0] = sequence;
    this.#logits[i] = wantLogits ? 1 : 0;
    this.#struct.set("n_tokens", i + 1);
  }

  /** @internal the by-value llama_batch for ffi/ */
  get _struct(): Uint8Array<ArrayBuffer> {
    void this.pointer;
    return this.#struct.bytes;
  }
}

export interface SamplerOptions {
  readonly temperature: number;
  readonly topK: number;
  readonly topP: number;
  readonly minP: number;
  readonly seed: number;
  readonly repeatPenalty: number;
  readonly frequencyPenalty: number;
  readonly presencePenalty: number;
  readonly penaltyLastN: number;
  readonly grammar?: string;
}

/** A llama_sampler chain: penalties → grammar → top-k → top-p → min-p → temperature → dist. */
export class SamplerChain extends NativeHandle {
  readonly #llama: LlamaLib;

  private constructor(llama: LlamaLib, pointer: Deno.PointerObject) {
    super("llama_sampler", pointer, (p) => llama.llama_sampler_free(p));
    this.#llama = llama;
  }

  /** Null when the grammar does not parse (llama.cpp logs why). */
  static async create(model: LlamaModel, options: SamplerOptions): Promise<SamplerChain | null> {
    await lib();
    return SamplerChain.createNow(model, options);
  }

  /** create() for callers that already hold a loaded model (no await between steps). */
  static createNow(model: LlamaModel, options: SamplerOptions): SamplerChain | null {
    const llama = loadedLibraries().llama;
    const params = new StructBuffer(
      llamaSamplerChainParams,
      llama.llama_sampler_chain_default_params(),
    );
    params.set("no_perf", true);
    const chain = new SamplerChain(
      llama,
      nonNull(llama.llama_sampler_chain_init(params.bytes), () => new Error("sampler chain")),
    );
    const add = (sampler: Deno.PointerValue) => {
      llama.llama_sampler_chain_add(
        chain.pointer,
        nonNull(sampler, () => new Error("sampler init")),
      );
    };
    const penalize = options.repeatPenalty !== 1 || options.frequencyPenalty !== 0 ||
      options.presencePenalty !== 0;
    if (penalize) {
      add(llama.llama_sampler_init_penalties(
        model.vocab.size,
        options.penaltyLastN,
        options.repeatPenalty,
        options.frequencyPenalty,
        options.presencePenalty,
      ));
    }
    if (options.grammar !== undefined) {
      const grammar = llama.llama_sampler_init_grammar(
        vocabPointer(model.vocab),
        cString(options.grammar),
        cString("root"),
      );
      if (grammar === null) {
        chain.close();
        return null;
      }
      add(grammar);
    }
    if (options.temperature <= 0) {
      add(llama.llama_sampler_init_greedy());
      return chain;
    }
    if (options.topK > 0) add(llama.llama_sampler_init_top_k(options.topK));
    if (options.topP < 1) add(llama.llama_sampler_init_top_p(options.topP, 1n));
    if (options.minP > 0) add(llama.llama_sampler_init_min_p(options.minP, 1n));
    add(llama.llama_sampler_init_temp(options.temperature));
    add(llama.llama_sampler_init_dist(options.seed >>> 0));
    return chain;
  }

  /** Samples from the logits of batch output `index` (-1: last) and accepts the token. */
  sample(context: LlamaContext, index = -1): number {
    return this.#llama.llama_sampler_sample(this.pointer, unwrap(context), index);
  }
}
