/**
 * Generate stage: hands the request to the engine and gathers what both answers (JSON and SSE)
 * report when the generation ends — timings, metrics, log fields. At debug level it also
 * records the admission (queue position) and the engine's own account of the generation when
 * it ends, however it ends.
 *
 * @module
 */
import {
  type Engine,
  EngineError,
  type GenerateRequest,
  type Generation,
  type GenerationResult,
} from "../../engine/mod.ts";
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
  run.fields.generation_id = generation.id;
  run.log.debug(
    "chat {request_id} admitted to the engine as {generation_id}: queue position " +
      "{queue_position} ({running} running, {queued} queued)",
    () => {
      const stats = engine.stats();
      return {
        generation_id: generation.id,
        // Requests queue first come, first served: a queued one just added is the last.
        queue_position: stats.queued,
        running: stats.running,
        queued: stats.queued,
        session: request.sessionId ?? null,
      };
    },
  );
  // Observed by the answer too; these handlers also keep it from being an unhandled rejection.
  const leftEngine = () => run.ctx.tracker.leftEngine(run.controller);
  generation.result.then(leftEngine, leftEngine);
  generation.result.then(
    (result) => logGenerationEnd(run, generation.id, result),
    (error) => logGenerationFailure(run, generation.id, error),
  ).catch(() => {}); // a debug record that fails to build must not end the process
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

/** The engine's account of a generation, whatever its finish reason (debug level). */
function logGenerationEnd(run: ChatRun, id: string, result: GenerationResult): void {
  run.log.debug(
    "chat {request_id} generation {generation_id} finished ({finish_reason}): " +
      "{prompt_tokens} prompt tokens ({cached_tokens} cached, {image_tokens} from images), " +
      "{completion_tokens} completion tokens; queue {queue_ms} ms, tokenize {tokenize_ms} ms, " +
      "encode {encode_ms} ms, prefill {prefill_ms} ms, decode {decode_ms} ms",
    () => {
      const { usage, timings: t } = result;
      return {
        generation_id: id,
        finish_reason: result.finishReason,
        prompt_tokens: usage.promptTokens,
        cached_tokens: usage.cachedTokens ?? 0,
        image_tokens: usage.imageTokens,
        completion_tokens: usage.completionTokens,
        queue_ms: round2(t.queueMs),
        tokenize_ms: round2(t.tokenizeMs),
        encode_ms: round2(t.encodeMs),
        prefill_ms: round2(t.prefillMs),
        decode_ms: round2(t.decodeMs),
        engine_total_ms: round2(t.totalMs),
        image_encoder_passes: t.imageEncoderPasses,
        image_cache_hits: t.imageCacheHits ?? 0,
        decode_tokens_per_second: round2(t.decodeTokensPerSecond),
      };
    },
  );
}

function logGenerationFailure(run: ChatRun, id: string, error: unknown): void {
  run.log.debug("chat {request_id} generation {generation_id} failed ({code}): {error}", () => ({
    generation_id: id,
    code: error instanceof EngineError ? error.code : null,
    error: error instanceof Error ? error.message : String(error),
  }));
}
