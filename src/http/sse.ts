/**
 * Server-Sent Events framing and the OpenAI response/chunk objects.
 *
 * @module
 */
import type { FinishReason, Timings, Usage } from "../engine/mod.ts";
import type { ApiError } from "./errors.ts";
import type { ImageReport } from "./images.ts";

const encoder = new TextEncoder();

/** One SSE event carrying JSON: `data: <json>\n\n`. */
export function sseEvent(payload: unknown): Uint8Array {
  return encoder.encode(`data: ${JSON.stringify(payload)}\n\n`);
}

/** The stream's terminator. */
export const SSE_DONE: Uint8Array = encoder.encode("data: [DONE]\n\n");

export const SSE_HEADERS: Readonly<Record<string, string>> = {
  "content-type": "text/event-stream; charset=utf-8",
  "cache-control": "no-cache, no-transform",
  "x-accel-buffering": "no",
};

export interface TimingsJson {
  preprocess_ms: number;
  encode_ms: number;
  prefill_ms: number;
  decode_ms: number;
  queue_ms: number;
  total_ms: number;
  prompt_tokens_per_second: number;
  completion_tokens_per_second: number;
  /** Image pipeline time in the HTTP layer (part of preprocess_ms). */
  image_preprocess_ms: number;
  /** The engine's prompt tokenization incl. mtmd's own image preprocessing (part of preprocess_ms). */
  tokenize_ms: number;
  /** The engine's own total for this generation. */
  engine_total_ms: number;
  image_encoder_passes: number;
  /** Image tiles whose embeddings came from the engine's cache instead of the encoder. */
  image_cache_hits: number;
}

const r2 = (n: number) => Math.round(n * 100) / 100;

/**
 * The `timings` object: preprocess_ms = HTTP-side image pipeline + engine tokenization;
 * total_ms = server time from request arrival to the end of the generation.
 */
export function timingsJson(imagePreprocessMs: number, t: Timings, totalMs: number): TimingsJson {
  return {
    preprocess_ms: r2(imagePreprocessMs + t.tokenizeMs),
    encode_ms: r2(t.encodeMs),
    prefill_ms: r2(t.prefillMs),
    decode_ms: r2(t.decodeMs),
    queue_ms: r2(t.queueMs),
    total_ms: r2(totalMs),
    prompt_tokens_per_second: r2(t.prefillTokensPerSecond),
    completion_tokens_per_second: r2(t.decodeTokensPerSecond),
    image_preprocess_ms: r2(imagePreprocessMs),
    tokenize_ms: r2(t.tokenizeMs),
    engine_total_ms: r2(t.totalMs),
    image_encoder_passes: t.imageEncoderPasses,
    image_cache_hits: t.imageCacheHits ?? 0,
  };
}

export interface UsageJson {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  prompt_tokens_details: { cached_tokens: number; image_tokens: number };
}

export function usageJson(u: Usage): UsageJson {
  return {
    prompt_tokens: u.promptTokens,
    completion_tokens: u.completionTokens,
    total_tokens: u.promptTokens + u.completionTokens,
    // The prompt positions reused from a slot's KV cache (prefix reuse), as OpenAI reports them.
    prompt_tokens_details: { cached_tokens: u.cachedTokens ?? 0, image_tokens: u.imageTokens },
  };
}

/**
 * OpenAI's finish reasons, plus "superseded" for a realtime request that a newer frame of its
 * session replaced (X-Session-Id); an aborted generation never reaches a client as a success.
 */
export type FinishReasonJson = "stop" | "length" | "superseded";
export function finishReasonJson(r: FinishReason): FinishReasonJson {
  return r === "length" ? "length" : r === "superseded" ? "superseded" : "stop";
}

export interface ChunkContext {
  readonly id: string;
  readonly created: number;
  readonly model: string;
  readonly includeUsage: boolean;
}

/** A `chat.completion.chunk` with one choice delta. */
export function chunk(
  ctx: ChunkContext,
  delta: { role?: "assistant"; content?: string },
  finishReason: FinishReasonJson | null = null,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  const out: Record<string, unknown> = {
    id: ctx.id,
    object: "chat.completion.chunk",
    created: ctx.created,
    model: ctx.model,
    system_fingerprint: null,
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
  };
  if (ctx.includeUsage) out.usage = null;
  return Object.assign(out, extra);
}

/** The usage chunk that follows the finish chunk when `stream_options.include_usage`. */
export function usageChunk(ctx: ChunkContext, usage: Usage): Record<string, unknown> {
  return {
    id: ctx.id,
    object: "chat.completion.chunk",
    created: ctx.created,
    model: ctx.model,
    system_fingerprint: null,
    choices: [],
    usage: usageJson(usage),
  };
}

/** An error event for a stream that already answered 200. */
export function errorEvent(err: ApiError): Uint8Array {
  return sseEvent(err.toJSON());
}

/** The non-streaming `chat.completion` object. */
export function completionJson(
  ctx: Omit<ChunkContext, "includeUsage">,
  text: string,
  finishReason: FinishReason,
  usage: Usage,
  timings: TimingsJson,
  imageReports: readonly ImageReport[],
): Record<string, unknown> {
  return {
    id: ctx.id,
    object: "chat.completion",
    created: ctx.created,
    model: ctx.model,
    system_fingerprint: null,
    choices: [{
      index: 0,
      message: { role: "assistant", content: text, refusal: null },
      logprobs: null,
      finish_reason: finishReasonJson(finishReason),
    }],
    usage: usageJson(usage),
    timings,
    image_reports: imageReports,
  };
}
