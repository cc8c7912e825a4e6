/**
 * The typed messages between the engine's main-thread handle (engine.ts) and its worker
 * (worker/engine_worker.ts). Requests go in; deltas, results, errors and stats come out. Pixel
 * buffers travel as transferred copies. Aborts also bump a shared counter (the mailbox) so a
 * step in progress can notice them without waiting for the message.
 */
import type { WireError } from "./errors.ts";
import type { ResolvedEngineOptions } from "./options.ts";
import type {
  ChatRole,
  EngineInfo,
  GenerationResult,
  ImageCacheStats,
  SamplingOptions,
  SlotStats,
} from "./types.ts";

export interface WireImage {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8Array<ArrayBuffer>;
}

export interface WireVideo {
  readonly frames: readonly { readonly image: WireImage; readonly timestamp: number }[];
  readonly duration: number;
}

export type WireContentPart =
  | { readonly type: "text"; readonly text: string }
  | { readonly type: "image"; readonly image: WireImage; readonly singleTile?: boolean }
  | { readonly type: "video"; readonly video: WireVideo };

export interface WireMessage {
  readonly role: ChatRole;
  readonly content: string | readonly WireContentPart[];
}

export interface WireRequest {
  readonly id: string;
  readonly messages: readonly WireMessage[];
  readonly maxTokens?: number;
  readonly stop?: readonly string[];
  readonly sampling?: SamplingOptions;
  readonly timeoutMs?: number;
}

/** The steps of a model load, in the order they run (the worker reports each as it ends). */
export type LoadPhase =
  | "native_libraries"
  | "gguf_check"
  | "devices"
  | "text_model"
  | "context"
  | "projector"
  | "warmup";

/** Why the main thread stops a generation: its client left, or a newer frame superseded it. */
export type StopReason = "abort" | "superseded";

export type ToWorker =
  | {
    readonly type: "load";
    readonly options: ResolvedEngineOptions;
    /** Int32Array(1) over a SharedArrayBuffer: bumped by the main thread on every abort. */
    readonly mailbox: SharedArrayBuffer;
  }
  | { readonly type: "generate"; readonly request: WireRequest }
  | { readonly type: "stop"; readonly id: string; readonly reason: StopReason }
  /** `graceMs`: how long running generations may still run before they are stopped. */
  | { readonly type: "reload"; readonly graceMs: number }
  | { readonly type: "close" };

export interface WorkerStats {
  readonly completed: number;
  readonly failed: number;
  readonly superseded: number;
  readonly slots: readonly SlotStats[];
  readonly imageCache: ImageCacheStats;
  readonly promptTokensEvaluated: number;
  readonly promptTokensReused: number;
}

export type FromWorker =
  | { readonly type: "loaded"; readonly info: EngineInfo }
  | { readonly type: "load_failed"; readonly error: WireError }
  /** One step of a load (at start or a reload) is done, after `ms`. */
  | { readonly type: "load_phase"; readonly phase: LoadPhase; readonly ms: number }
  | { readonly type: "started"; readonly id: string }
  | { readonly type: "delta"; readonly id: string; readonly text: string }
  | { readonly type: "result"; readonly id: string; readonly result: GenerationResult }
  | { readonly type: "failed"; readonly id: string; readonly error: WireError }
  | { readonly type: "stats"; readonly stats: WorkerStats }
  | { readonly type: "reloaded"; readonly info: EngineInfo }
  | { readonly type: "reload_failed"; readonly error: WireError }
  | { readonly type: "closed" }
  /** What one step produced, in order: one message, so the main thread wakes once per step. */
  | { readonly type: "batch"; readonly messages: readonly FromWorker[] };
