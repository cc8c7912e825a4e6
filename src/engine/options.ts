/** How an engine is configured, with the defaults a user gets when a field is absent. */
import { z } from "zod";
import type { FlashAttention } from "../../ffi/llama.ts";

export interface EngineOptions {
  readonly modelPath: string;
  /** The vision projector (mmproj) GGUF; without it the engine is text-only. */
  readonly mmprojPath?: string;
  /** Context window in tokens, shared by the parallel sequences. Default 4096. */
  readonly contextSize?: number;
  /** Logical batch for prompt decoding. Default 2048 (llama.cpp's). */
  readonly batchSize?: number;
  /** The seed's max_image_size: longest image side the tiler works at. Default 1024. */
  readonly maxImageSize?: number;
  /** Tokens per image for mtmd; default derived from maxImageSize (see imageTokenBudget). */
  readonly imageMaxTokens?: number;
  /** CPU threads for decode and the vision encoder. Default: all cores. */
  readonly threads?: number;
  /** Requests allowed to wait while all sequences are busy. Default 8. */
  readonly maxQueue?: number;
  /**
   * Slots decoded together in one batch (continuous batching over one unified KV cache).
   * Default 1.
   */
  readonly parallel?: number;
  /** @deprecated the old name of `parallel` (used when `parallel` is absent). */
  readonly parallelSequences?: number;
  /** Memory bound of the image-embedding cache (LRU), bytes. Default 256 MiB; 0 disables. */
  readonly imageCacheBytes?: number;
  /**
   * Text-model layers offloaded to the GPU: 0 none, -1 all, N the first N. Default: all, with
   * the vision encoder, when ggml has a GPU device; none otherwise (see placement.ts).
   */
  readonly gpuLayers?: number;
  /**
   * Flash attention. Default "auto", except on CPU with parallel > 1, where it means "off": the
   * CPU kernel's arithmetic depends on how many query rows share a batch, so with it a
   * request's tokens would depend on what else was batched with it. Where the model runs is
   * known only once the devices are, so that default is settled at load (decidePlacement).
   */
  readonly flashAttention?: FlashAttention;
  /** ggml's repacking buffers; disable on CPUs whose AMX kernels fault. Default llama.cpp's. */
  readonly useExtraBuffers?: boolean;
  /** Run one vision-encoder pass at load so the first request is not slower. Default true. */
  readonly warmup?: boolean;
  /** completion tokens when a request gives no max_tokens. Default 256. */
  readonly defaultMaxTokens?: number;
  /**
   * Where llama.cpp's and mtmd's log lines go: "silent" (default) keeps them quiet, "errors"
   * prints warnings and errors, "verbose" prints all. The last error line is always kept and
   * quoted when loading or a native call fails.
   */
  readonly nativeLog?: "silent" | "errors" | "verbose";
  /**
   * Tests of the recovery path only: a prompt containing this text gets an out-of-vocabulary
   * token in its decode batch, so llama_decode itself fails for it. Never set in production.
   */
  readonly injectDecodeFault?: string;
}

export type ResolvedEngineOptions =
  & Required<
    Omit<
      EngineOptions,
      | "mmprojPath"
      | "useExtraBuffers"
      | "parallelSequences"
      | "injectDecodeFault"
      | "gpuLayers"
      | "flashAttention"
      | "imageMaxTokens"
    >
  >
  & {
    readonly mmprojPath: string | null;
    readonly injectDecodeFault: string | null;
    /** null: derived at load from the projector's facts (model_facts.ts imageTokenBudget). */
    readonly imageMaxTokens: number | null;
    readonly useExtraBuffers: boolean | undefined;
    /** Null: all layers when a GPU is present, else none (decided at load). */
    readonly gpuLayers: number | null;
    /** Null: decided at load from where the model runs. */
    readonly flashAttention: FlashAttention | null;
  };

const positive = z.number().int().positive();
const optionsSchema = z.object({
  modelPath: z.string().min(1),
  mmprojPath: z.string().min(1).optional(),
  contextSize: positive.optional(),
  batchSize: positive.optional(),
  maxImageSize: positive.optional(),
  imageMaxTokens: positive.optional(),
  threads: positive.optional(),
  maxQueue: z.number().int().nonnegative().optional(),
  parallel: positive.max(256).optional(),
  parallelSequences: positive.max(256).optional(),
  imageCacheBytes: z.number().int().nonnegative().optional(),
  gpuLayers: z.number().int().min(-1).optional(),
  flashAttention: z.enum(["auto", "on", "off"]).optional(),
  useExtraBuffers: z.boolean().optional(),
  warmup: z.boolean().optional(),
  defaultMaxTokens: positive.optional(),
  nativeLog: z.enum(["silent", "errors", "verbose"]).optional(),
  injectDecodeFault: z.string().min(1).optional(),
});

/** Checks the options (a TypeError naming the bad field) and fills in the defaults. */
export function resolveEngineOptions(input: EngineOptions): ResolvedEngineOptions {
  const parsed = optionsSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new TypeError(`engine option ${issue.path.join(".")}: ${issue.message}`);
  }
  const options = parsed.data;
  const maxImageSize = options.maxImageSize ?? 1024;
  const parallel = options.parallel ?? options.parallelSequences ?? 1;
  const gpuLayers = options.gpuLayers ?? null;
  // Only parallel slots on the CPU need flash attention off; whether the CPU runs the model is
  // certain here only when nothing is offloaded by request.
  const flashAttention = options.flashAttention ??
    (parallel === 1 ? "auto" : gpuLayers === 0 ? "off" : null);
  return {
    modelPath: options.modelPath,
    mmprojPath: options.mmprojPath ?? null,
    contextSize: options.contextSize ?? 4096,
    batchSize: options.batchSize ?? 2048,
    maxImageSize,
    imageMaxTokens: options.imageMaxTokens ?? null,
    threads: options.threads ?? navigator.hardwareConcurrency,
    maxQueue: options.maxQueue ?? 8,
    parallel,
    imageCacheBytes: options.imageCacheBytes ?? 256 * 1024 * 1024,
    gpuLayers,
    flashAttention,
    useExtraBuffers: options.useExtraBuffers,
    warmup: options.warmup ?? true,
    defaultMaxTokens: options.defaultMaxTokens ?? 256,
    nativeLog: options.nativeLog ?? "silent",
    injectDecodeFault: options.injectDecodeFault ?? null,
  };
}
