/** Messages between IsolatedImagePipeline and its workers (pipeline_worker.ts). */
import type { RgbImage } from "./codecs.ts";
import type { WireImageError } from "./errors.ts";
import type { PreprocessReport } from "./pipeline.ts";

export interface PipelineJob {
  readonly id: number;
  readonly bytes: Uint8Array;
  readonly mime?: string;
  /** A validated ImageConfig (plain data). */
  readonly config: unknown;
  readonly output?: "rgb" | "jpeg";
  /** Tests only: sleep this long before processing, to exercise the deadline. */
  readonly testDelayMs?: number;
}

export type PipelineReply =
  | {
    readonly id: number;
    readonly ok: true;
    readonly image: RgbImage;
    readonly report: PreprocessReport;
    readonly jpeg?: Uint8Array;
  }
  | { readonly id: number; readonly ok: false; readonly error: WireImageError };

export type PipelineMessage = PipelineReply | { readonly ready: true };
