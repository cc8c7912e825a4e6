/**
 * Generate stage: hands the request to the engine and gathers what both answers (JSON and SSE)
 * report when the generation ends — timings, metrics, log fields.
 *
 * @module
 */
import type { Engine, GenerateRequest, Generation, GenerationResult } from "../../engine/mod.ts";
import { round2 } from "../context.ts";
import { type ChunkContext, type TimingsJson, timingsJson } from "../sse.ts";
import type { ResolvedImages } from "./images.ts";
import type { ChatRun } from "./run.ts";

export interface StartedGeneration {
  readonly run: ChatRun;
  readonly generation: Generation;
  readonly chunk: ChunkContext;
  readonly images: ResolvedImages;
}

export function startGeneration(
  run: ChatRun,
  engine: Engine,
  request: GenerateRequest,
  images: ResolvedImages,
  includeUsage: boolean,
): StartedGeneration {
  const generation = engine.generate(request);
  generation.result.catch(() => {}); // observed by the answer; never an unhandled rejection
  run.fields.generation_id = generation.id;
  return {
    run,
    generation,
    images,
    chunk: {
      // Random: the engine numbers generations from 1 per process and model load (its id stays
      // in the log line), and several servers behind the edge would repeat each other's.
      id: `chatcmpl-${crypto.randomUUID().replaceAll("-", "")}`,
      created: Math.floor(run.ctx.clock.now() / 1000),
      model: run.ctx.config.modelId,
      includeUsage,
    },
  };
}

/** Records a finished generation (metrics) and returns its timings and log fields. */
export function finished(
  g: StartedGeneration,
  result: GenerationResult,
  ttftMs: number | null,
): { timings: TimingsJson; fields: Record<string, unknown> } {
  const { ctx } = g.run;
  const timings = timingsJson(g.images.ms, result.timings, ctx.clock.perf() - g.run.t0);
  ctx.metrics.recordGeneration({
    promptTokens: result.usage.promptTokens,
    completionTokens: result.usage.completionTokens,
    imageTokens: result.usage.imageTokens,
    images: g.images.rgb.length,
    preprocessSeconds: g.images.ms / 1000,
    encodeSeconds: result.timings.encodeMs / 1000,
    prefillSeconds: result.timings.prefillMs / 1000,
    decodeTokensPerSecond: result.timings.decodeTokensPerSecond,
    seconds: result.timings.totalMs / 1000,
    queueSeconds: result.timings.queueMs / 1000,
    ttftSeconds: ttftMs === null ? null : ttftMs / 1000,
    finishReason: result.finishReason,
  });
  const fields: Record<string, unknown> = {
    finish_reason: result.finishReason,
    prompt_tokens: result.usage.promptTokens,
    image_tokens: result.usage.imageTokens,
    completion_tokens: result.usage.completionTokens,
    timings,
  };
  if (ttftMs !== null) fields.ttft_ms = round2(ttftMs);
  return { timings, fields };
}
