/** Messages between IsolatedImagePipeline and its workers (pipeline_worker.ts). */
import type { RgbImage } from "./codecs.ts";
import type { WireImageError } from "./errors.ts";
import type { JsonBodyFault, JsonWithMedia } from "./json_media.ts";
import type { PreprocessReport, TilingRule } from "./pipeline.ts";

export interface PipelineJob {
  readonly kind: "image";
  readonly id: number;
  readonly bytes: Uint8Array;
  readonly mime?: string;
  /** A validated ImageConfig (plain data). */
  readonly config: unknown;
  readonly output?: "rgb" | "jpeg";
  /** The model's tiling for the report's estimate (PreprocessOptions.tiling). */
  readonly tiling?: TilingRule | null;
  /** Tests only: sleep this long before processing, to exercise the deadline. */
  readonly testDelayMs?: number;
}

/** A request body to parse with its inline media decoded (json_media.ts). */
export interface JsonMediaJob {
  readonly kind: "json";
  readonly id: number;
  readonly bytes: Uint8Array;
  readonly nonce: string;
  readonly minLength: number;
}

export type WorkerJob = PipelineJob | JsonMediaJob;

export type JsonMediaReply =
  | { readonly id: number; readonly ok: true; readonly json: JsonWithMedia }
  | {
    readonly id: number;
    readonly ok: false;
    readonly json: {
      readonly fault: JsonBodyFault;
      readonly message: string;
      readonly path: readonly (string | number)[];
    };
  };

export type PipelineReply =
  | {
    readonly id: number;
    readonly ok: true;
    readonly image: RgbImage;
    readonly report: PreprocessReport;
    readonly jpeg?: Uint8Array;
  }
  | { readonly id: number; readonly ok: false; readonly error: WireImageError };

export type PipelineMessage = PipelineReply | JsonMediaReply | { readonly ready: true };
