/**
 * The engine's public contract: what the HTTP layer and the CLI see. Nothing here touches FFI.
 */
import type { BackendReport } from "./placement.ts";

export type { BackendDevice, BackendReport, CpuBackendInfo } from "./placement.ts";
import type { ImageTiling, ModelFacts } from "./model_facts.ts";

/** Packed 8-bit RGB pixels, row-major, 3 bytes per pixel. */
export interface RgbImage {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8Array;
}

/** One sampled frame of a video: its pixels and when it was taken, in seconds from the start. */
export interface VideoFrame {
  readonly image: RgbImage;
  readonly timestamp: number;
}

/**
 * A clip as SmolVLM2 takes it: sampled frames (each one encoder pass, never tiled) and the
 * clip's duration in seconds. The prompt around the frames is the model's (video_prompt.ts).
 */
export interface VideoClip {
  readonly frames: readonly VideoFrame[];
  readonly duration: number;
}

export type ChatContentPart =
  | { readonly type: "text"; readonly text: string }
  | {
    readonly type: "image";
    readonly image: RgbImage;
    /**
     * One encoder pass: the picture as SmolVLM's single (unsplit) image, 64 tokens, like a
     * video frame, instead of tiles plus an overview (realtime frames, OpenAI's `detail: "low"`).
     */
    readonly singleTile?: boolean;
  }
  | { readonly type: "video"; readonly video: VideoClip };

export type ChatRole = "system" | "user" | "assistant";

export interface ChatMessage {
  readonly role: ChatRole;
  readonly content: string | readonly ChatContentPart[];
}

export interface SamplingOptions {
  /** 0 (or below) means greedy. Default 0.2. */
  readonly temperature?: number;
  readonly topK?: number;
  readonly topP?: number;
  readonly minP?: number;
  /** Seed for the dist sampler; random when absent. */
  readonly seed?: number;
  readonly repeatPenalty?: number;
  readonly presencePenalty?: number;
  readonly frequencyPenalty?: number;
  /** How many recent tokens the penalties look at. Default 64. */
  readonly penaltyLastN?: number;
  /** A GBNF grammar constraining the output (root rule "root"). */
  readonly grammar?: string;
}

export interface GenerateRequest {
  readonly messages: readonly ChatMessage[];
  /** Upper bound on completion tokens. Default 256. */
  readonly maxTokens?: number;
  /** Generation ends before any of these strings; they are not part of the output. */
  readonly stop?: readonly string[];
  readonly sampling?: SamplingOptions;
  /** Aborting stops the generation within one engine step (finish reason "abort"). */
  readonly signal?: AbortSignal;
  /**
   * A realtime session's name: a newer request with the same id supersedes this one, queued or
   * running, which then ends with finish reason "superseded".
   */
  readonly sessionId?: string;
  /**
   * When the request arrived, on any clock that increases (the HTTP layer's): within a session
   * the later arrival wins, so an older request that reaches the engine after a newer one (its
   * image took longer to prepare) is the one superseded. Without it, arrival at the engine counts.
   */
  readonly arrivedAt?: number;
  /**
   * Time limit once the generation holds a slot (queue time does not count); past it the
   * generation ends with finish reason "timeout" and its slot is freed at the next step.
   */
  readonly timeoutMs?: number;
}

/**
 * "abort": the caller's signal or close(); "superseded": a newer request of the same session;
 * "timeout": the request's own timeoutMs ran out while it held a slot.
 */
export type FinishReason = "stop" | "length" | "abort" | "superseded" | "timeout";

export interface Usage {
  /** All prompt positions evaluated, image tokens included. */
  readonly promptTokens: number;
  /** The part of promptTokens that came from images. */
  readonly imageTokens: number;
  readonly completionTokens: number;
  /** The part of promptTokens reused from a slot's KV cache (not evaluated again). */
  readonly cachedTokens?: number;
}

export interface Timings {
  /** Time spent waiting in the scheduler's queue for a slot (tokenizeMs not included). */
  readonly queueMs: number;
  /** Prompt tokenization with mtmd (includes image preprocessing/tiling inside mtmd). */
  readonly tokenizeMs: number;
  /** Vision encoder time, all images. */
  readonly encodeMs: number;
  /** Decoding the prompt (text and image embeddings) through the LLM. */
  readonly prefillMs: number;
  /** Generating completion tokens. */
  readonly decodeMs: number;
  /** From tokenization to the end (queueMs not included). */
  readonly totalMs: number;
  /** Vision-encoder passes this generation ran (cached image tiles cost none). */
  readonly imageEncoderPasses: number;
  /** Image tiles whose embeddings came from the image-embedding cache. */
  readonly imageCacheHits?: number;
  readonly prefillTokensPerSecond: number;
  readonly decodeTokensPerSecond: number;
}

export interface GenerationResult {
  readonly text: string;
  /** The sampled token ids, end-of-generation token excluded. */
  readonly tokens: readonly number[];
  readonly finishReason: FinishReason;
  readonly usage: Usage;
  readonly timings: Timings;
}

/** One streamed piece of output: always whole UTF-8 characters, stop strings held back. */
export interface TextDelta {
  readonly text: string;
}

/**
 * A running generation: iterate it for text deltas; `result` settles when it ends (and
 * rejects with an EngineError when it fails). Iterating is optional: `result` alone works.
 */
export interface Generation extends AsyncIterable<TextDelta> {
  readonly id: string;
  readonly result: Promise<GenerationResult>;
}

export interface EngineInfo {
  readonly modelPath: string;
  readonly mmprojPath: string | null;
  readonly modelDescription: string;
  readonly contextSize: number;
  readonly trainContextSize: number;
  readonly vocabSize: number;
  readonly embeddingSize: number;
  readonly parameterCount: number;
  readonly modelSizeBytes: number;
  readonly vision: boolean;
  /** Longest image side the tiler aims for (the seed's max_image_size). */
  readonly maxImageSize: number;
  /** Upper bound on tokens per image handed to mtmd (image_max_tokens). */
  readonly imageMaxTokens: number;
  /** How mtmd tiles an image for this model and budget; null without a vision projector. */
  readonly tiling: ImageTiling | null;
  readonly threads: number;
  /** n_gpu_layers as loaded: 0 none, -1 all, N the first N. */
  readonly gpuLayers: number;
  /** Which device runs the text model and the vision encoder, and the CPU variant. */
  readonly backends?: BackendReport;
  /** llama.cpp's system info line (SIMD features, backends). */
  readonly systemInfo: string;
  /** Slots decoded together in one batch (continuous batching). */
  readonly parallelSequences: number;
  /** Memory bound of the image-embedding cache. */
  readonly imageCacheBytes?: number;
  /** Per-model facts from the GGUF headers (src/engine/model_facts.ts). */
  readonly facts: ModelFacts;
}

export type SlotState = "idle" | "prefill" | "generate";

export interface SlotStats {
  readonly sequence: number;
  readonly state: SlotState;
  /** Positions this slot's sequence holds in the KV cache (kept after a finished generation
   * for prefix reuse; 0 after a cancelled one). */
  readonly kvTokens: number;
}

export interface ImageCacheStats {
  readonly hits: number;
  readonly misses: number;
  readonly entries: number;
  readonly bytes: number;
  readonly capacityBytes: number;
}

export interface EngineStats {
  readonly running: number;
  readonly queued: number;
  readonly maxQueue: number;
  readonly completed: number;
  readonly failed: number;
  readonly slots?: readonly SlotStats[];
  readonly imageCache?: ImageCacheStats;
  /** Prompt positions evaluated / reused from KV (prefix reuse), since load. */
  readonly promptTokensEvaluated?: number;
  readonly promptTokensReused?: number;
  /** Generations ended because a newer request of their session arrived. */
  readonly superseded?: number;
}

export interface ReloadOptions {
  /**
   * How long running generations may still run before the reload stops them, ms (default
   * 30 000; 0 stops them at the next step). Queued requests are never stopped by a reload.
   */
  readonly graceMs?: number;
}

export interface Engine extends AsyncDisposable {
  readonly info: EngineInfo;
  /**
   * Queues a generation. Throws QueueFullError at once when the queue is full and
   * EngineClosedError after close(); other failures reject `result`.
   */
  generate(request: GenerateRequest): Generation;
  stats(): EngineStats;
  /**
   * Loads the model again without a new process (the files may have changed): running
   * generations finish within the grace period (those still running then fail with
   * ModelReloadingError), requests meanwhile wait; when the files are refused the current model
   * keeps serving and the error is thrown. Engines without it are replaced by a fresh load.
   */
  reload?(options?: ReloadOptions): Promise<EngineInfo>;
  /** Stops accepting work, aborts queued and running generations, frees native memory. */
  close(): Promise<void>;
}
