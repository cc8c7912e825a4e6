/**
 * One generation on one sequence: tokenize the prompt with its images, evaluate the chunks
 * (images batch-encoded, as llama-mtmd-cli does), then sample and decode token by token.
 */
import {
  type CpuThreadPool,
  type LlamaContext,
  type LlamaModel,
  SamplerChain,
  type TokenBatch,
} from "../../ffi/llama.ts";
import { Bitmap, type EncodeBatch, type InputChunks, type VisionContext } from "../../ffi/mtmd.ts";
import {
  ContextOverflowError,
  EngineError,
  InvalidRequestError,
  NativeCallError,
} from "./errors.ts";
import type { DeltaStream } from "./delta_stream.ts";
import type { ResolvedEngineOptions } from "./options.ts";
import { renderPrompt } from "./prompt.ts";
import { StopMatcher } from "./stop_strings.ts";
import { Utf8Stream } from "./utf8.ts";
import type { FinishReason, GenerateRequest, GenerationResult, SamplingOptions } from "./types.ts";

/** The native objects a generation runs on; owned by the engine, borrowed here. */
export interface NativeSession {
  readonly threadPool: CpuThreadPool | null;
  readonly model: LlamaModel;
  readonly context: LlamaContext;
  readonly vision: VisionContext | null;
  readonly batches: readonly TokenBatch[];
  readonly marker: string;
  readonly template: string | null;
  readonly options: ResolvedEngineOptions;
}

export const SAMPLING_DEFAULTS = {
  temperature: 0.2,
  topK: 40,
  topP: 0.95,
  minP: 0.05,
  repeatPenalty: 1,
  frequencyPenalty: 0,
  presencePenalty: 0,
  penaltyLastN: 64,
} as const;

function resolveSampling(sampling: SamplingOptions = {}) {
  const seed = sampling.seed ?? Math.floor(Math.random() * 0xffff_ffff);
  return {
    temperature: sampling.temperature ?? SAMPLING_DEFAULTS.temperature,
    topK: sampling.topK ?? SAMPLING_DEFAULTS.topK,
    topP: sampling.topP ?? SAMPLING_DEFAULTS.topP,
    minP: sampling.minP ?? SAMPLING_DEFAULTS.minP,
    seed,
    repeatPenalty: sampling.repeatPenalty ?? SAMPLING_DEFAULTS.repeatPenalty,
    frequencyPenalty: sampling.frequencyPenalty ?? SAMPLING_DEFAULTS.frequencyPenalty,
    presencePenalty: sampling.presencePenalty ?? SAMPLING_DEFAULTS.presencePenalty,
    penaltyLastN: sampling.penaltyLastN ?? SAMPLING_DEFAULTS.penaltyLastN,
    grammar: sampling.grammar,
  };
}

interface PromptTimings {
  tokenizeMs: number;
  encodeMs: number;
  prefillMs: number;
  encoderPasses: number;
}

/** Evaluates the prompt into `sequence`; returns the next position. */
async function evaluatePrompt(
  session: NativeSession,
  chunks: InputChunks,
  sequence: number,
  timings: PromptTimings,
): Promise<number> {
  const { vision, context } = session;
  const list = chunks.chunks;
  const batchSize = context.batchSize;
  let position = 0;
  let encodeBatch: EncodeBatch | null = null;
  try {
    for (const chunk of list) {
      const last = chunk.index === list.length - 1;
      if (chunk.kind === "text") {
        const t0 = performance.now();
        position = await vision!.evalTextChunk(
          context,
          chunk,
          position,
          sequence,
          batchSize,
          last,
        );
        timings.prefillMs += performance.now() - t0;
        continue;
      }
      if (!encodeBatch?.has(chunk)) {
        // Encode this image and the images right after it in one encoder call.
        encodeBatch?.close();
        encodeBatch = vision!.newEncodeBatch();
        encodeBatch.add(chunk);
        for (const next of list.slice(chunk.index + 1)) {
          if (next.kind === "text" || !encodeBatch.add(next)) break;
        }
        const t0 = performance.now();
        await encodeBatch.encode();
        timings.encodeMs += performance.now() - t0;
      }
      const t0 = performance.now();
      position = await vision!.decodeImageChunk(
        context,
        chunk,
        encodeBatch,
        position,
        sequence,
        batchSize,
      );
      timings.prefillMs += performance.now() - t0;
    }
  } catch (error) {
    if (error instanceof EngineError) throw error;
    throw new NativeCallError(
      "decode_failed",
      `prompt evaluation failed: ${error instanceof Error ? error.message : error}`,
    );
  } finally {
    encodeBatch?.close();
  }
  return position;
}

/** A model without mmproj: plain tokens, decoded in batches of the context's batch size. */
async function evaluateTextOnly(
  session: NativeSession,
  tokens: Int32Array,
  sequence: number,
  timings: PromptTimings,
): Promise<number> {
  const batch = session.batches[sequence]!;
  const t0 = performance.now();
  for (let start = 0; start < tokens.length; start += batch.capacity) {
    const end = Math.min(tokens.length, start + batch.capacity);
    batch.clear();
    for (let i = start; i < end; i++) batch.add(tokens[i]!, i, sequence, i === tokens.length - 1);
    const code = await session.context.decode(batch);
    if (code !== 0) throw new NativeCallError("decode_failed", `llama_decode returned ${code}`);
  }
  timings.prefillMs += performance.now() - t0;
  return tokens.length;
}

/** SmolVLM's encoder turns each 512 px tile (and the overview) into 64 tokens. */
const TOKENS_PER_ENCODER_PASS = 64;

export async function generate(
  session: NativeSession,
  request: GenerateRequest,
  sequence: number,
  stream: DeltaStream,
  queueMs: number,
): Promise<void> {
  const started = performance.now();
  const { context, model, options } = session;
  const signal = request.signal;
  const timings: PromptTimings = { tokenizeMs: 0, encodeMs: 0, prefillMs: 0, encoderPasses: 0 };
  const maxTokens = request.maxTokens ?? options.defaultMaxTokens;
  if (!Number.isInteger(maxTokens) || maxTokens < 1) {
    throw new InvalidRequestError("invalid_request", `max_tokens must be a positive integer`);
  }

  const prompt = await renderPrompt(request.messages, session.template, session.marker);
  if (prompt.images.length > 0 && session.vision === null) {
    throw new InvalidRequestError(
      "vision_not_supported",
      "this model has no vision projector (mmproj); it cannot take images",
    );
  }
  const t0 = performance.now();
  let chunks: InputChunks | null = null;
  let textTokens: Int32Array | null = null;
  if (session.vision === null) {
    textTokens = model.vocab.tokenize(prompt.text, true, true);
  } else {
    const bitmaps: Bitmap[] = [];
    let tokenized: InputChunks | number;
    try {
      for (const image of prompt.images) {
        bitmaps.push(await Bitmap.fromRgb(image.width, image.height, image.data));
      }
      tokenized = await session.vision.tokenize(prompt.text, bitmaps, true);
    } finally {
      bitmaps.forEach((b) => b.close());
    }
    if (typeof tokenized === "number") {
      throw tokenized === 2
        ? new InvalidRequestError("invalid_image", "an image could not be preprocessed by mtmd")
        : new NativeCallError("tokenize_failed", `mtmd_tokenize failed with code ${tokenized}`);
    }
    chunks = tokenized;
  }
  timings.tokenizeMs = performance.now() - t0;

  using _chunks = chunks;
  const chunkList = chunks?.chunks ?? [];
  const promptPositions = textTokens?.length ??
    chunkList.reduce((n, c) => n + c.positions, 0);
  const imageTokens = chunkList.filter((c) => c.kind === "image").reduce(
    (n, c) => n + c.tokens,
    0,
  );
  const contextSize = Math.floor(context.contextSize / context.sequences);
  if (promptPositions >= contextSize) {
    throw new ContextOverflowError(promptPositions, contextSize);
  }
  timings.encoderPasses = Math.round(imageTokens / TOKENS_PER_ENCODER_PASS);

  const sampler = await SamplerChain.create(model, resolveSampling(request.sampling));
  if (sampler === null) {
    throw new InvalidRequestError("grammar_invalid", "the grammar could not be parsed");
  }
  using _sampler = sampler;

  context.removeSequence(sequence);
  const decodeStarted = { at: 0 };
  let position = 0;
  const tokens: number[] = [];
  let text = "";
  let finishReason: FinishReason = "length";
  try {
    if (signal?.aborted) {
      finishReason = "abort";
    } else {
      position = chunks
        ? await evaluatePrompt(session, chunks, sequence, timings)
        : await evaluateTextOnly(session, textTokens!, sequence, timings);
      decodeStarted.at = performance.now();
      const utf8 = new Utf8Stream();
      const stops = new StopMatcher(request.stop ?? []);
      const batch = session.batches[sequence]!;
      const emit = (piece: string) => {
        if (piece.length === 0) return;
        text += piece;
        stream.push(piece);
      };
      while (true) {
        if (signal?.aborted) {
          finishReason = "abort";
          break;
        }
        if (tokens.length >= maxTokens) {
          finishReason = "length";
          break;
        }
        const token = sampler.sample(context, -1);
        if (model.vocab.isEndOfGeneration(token)) {
          finishReason = "stop";
          break;
        }
        tokens.push(token);
        emit(stops.push(utf8.push(model.vocab.tokenBytes(token))));
        if (stops.stopped) {
          finishReason = "stop";
          break;
        }
        if (tokens.length >= maxTokens || position + 1 >= contextSize) {
          finishReason = "length";
          break;
        }
        batch.clear();
        batch.add(token, position, sequence, true);
        const code = await context.decode(batch);
        if (code !== 0) {
          throw new NativeCallError("decode_failed", `llama_decode returned ${code}`);
        }
        position++;
      }
      if (!stops.stopped) emit(stops.push(utf8.end()) + stops.flush());
    }
  } finally {
    context.removeSequence(sequence);
  }

  const now = performance.now();
  const decodeMs = decodeStarted.at === 0 ? 0 : now - decodeStarted.at;
  const result: GenerationResult = {
    text,
    tokens,
    finishReason,
    usage: { promptTokens: promptPositions, imageTokens, completionTokens: tokens.length },
    timings: {
      queueMs: queueMs,
      tokenizeMs: timings.tokenizeMs,
      encodeMs: timings.encodeMs,
      prefillMs: timings.prefillMs,
      decodeMs,
      totalMs: now - started,
      imageEncoderPasses: timings.encoderPasses,
      prefillTokensPerSecond: timings.prefillMs > 0
        ? promptPositions / (timings.prefillMs / 1000)
        : 0,
      // The first token is sampled from prefill logits; the rest each cost one decode.
      decodeTokensPerSecond: decodeMs > 0 ? Math.max(0, tokens.length - 1) / (decodeMs / 1000) : 0,
    },
  };
  stream.finish(result);
}
