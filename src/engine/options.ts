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
  readonly gpuLayers?: number;
  /**
   * Flash attention. Default "auto", except on CPU with parallel > 1, where it means "off": the
   * CPU kernel's arithmetic depends on how many query rows share a batch, so with it a
   * request's tokens would depend on what else was batched with it.
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
}

export type ResolvedEngineOptions =
  & Required<
    Omit<EngineOptions, "mmprojPath" | "useExtraBuffers" | "parallelSequences" | "imageMaxTokens">
  >
  & {
    readonly mmprojPath: string | null;
    /** null: derived at load from the projector's facts (model_facts.ts imageTokenBudget). */
    readonly imageMaxTokens: number | null;
    readonly useExtraBuffers: boolean | undefined;
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
  const gpuLayers = options.gpuLayers ?? 0;
  const batchInvariant = parallel > 1 && gpuLayers === 0;
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
    flashAttention: options.flashAttention ?? (batchInvariant ? "off" : "auto"),
    useExtraBuffers: options.useExtraBuffers,
    warmup: options.warmup ?? true,
    defaultMaxTokens: options.defaultMaxTokens ?? 256,
    nativeLog: options.nativeLog ?? "silent",
  };
}
