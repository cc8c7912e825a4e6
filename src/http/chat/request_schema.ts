/**
 * The body of `POST /v1/chat/completions` as one zod schema (OpenAI's format plus the
 * `image_processing` extension), built from the operator's ceilings, and its output: the
 * ParsedChatRequest the later stages use.
 *
 * Unknown fields are ignored (as llama.cpp's server does); `null` counts as absent for optional
 * fields (the official clients send it); a wrong type, an out-of-range value, a value above a
 * ceiling or a feature the server lacks (n > 1, logprobs, logit_bias, forced tool calls) is a 400
 * naming the field (errors.ts maps the zod issue).
 *
 * @module
 */
import { z } from "zod";
import type { ChatRole, SamplingOptions } from "../../engine/mod.ts";
import type { RequestLimits } from "../../config/service_config.ts";
import { checkSchemaCost } from "./schema_cost.ts";

export type ImageDetail = "auto" | "low" | "high";

/** A clip as the client sent it: encoded video, or frames it sampled itself. */
export type ParsedVideoSource =
  | { readonly kind: "url"; readonly url: string }
  | {
    readonly kind: "frames";
    readonly frames: readonly { readonly url: string; readonly timestamp: number }[];
    readonly duration: number;
  };

export type ParsedPart =
  | { readonly type: "text"; readonly text: string }
  | {
    readonly type: "image";
    readonly url: string;
    readonly param: string;
    /** OpenAI's `image_url.detail`: "low" is one encoder pass, "high" tiles, "auto" decides. */
    readonly detail: ImageDetail;
  }
  | { readonly type: "video"; readonly source: ParsedVideoSource; readonly param: string };

export interface ParsedMessage {
  readonly role: ChatRole;
  readonly content: string | readonly ParsedPart[];
}

export type ResponseFormat =
  | { readonly type: "text" }
  | { readonly type: "json_object" }
  | { readonly type: "json_schema"; readonly name: string; readonly schema: unknown };

export interface ParsedChatRequest {
  readonly model: string | null;
  readonly messages: readonly ParsedMessage[];
  readonly maxTokens: number | null;
  readonly stop: readonly string[];
  readonly sampling: SamplingOptions;
  readonly stream: boolean;
  readonly includeUsage: boolean;
  readonly responseFormat: ResponseFormat;
  readonly imageProcessing: Readonly<Record<string, unknown>> | null;
  /** The image parts in request order (across all messages). */
  readonly imageCount: number;
}

const ROLES: Readonly<Record<string, ChatRole>> = {
  system: "system",
  developer: "system",
  user: "user",
  assistant: "assistant",
};

const optNumber = (min: number, max: number) => z.number().min(min).max(max).nullish();
const custom = (code: string) => ({ code });
const unsupported = (message: string) => ({ message, params: custom("unsupported_value") });

/** Adds an issue; `code` becomes the OpenAI error code (errors.ts reads it from params). */
function refuse(ctx: z.RefinementCtx, path: PropertyKey[], message: string, code?: string) {
  ctx.addIssue({ code: "custom", path, message, ...(code ? { params: custom(code) } : {}) });
}

const textPart = z.object({ type: z.literal("text"), text: z.string() });
const imagePart = z.object({
  type: z.literal("image_url"),
  image_url: z.union([
    z.string(),
    z.object({ url: z.string(), detail: z.enum(["auto", "low", "high"]).nullish() }),
  ], {
    error: "expected a URL string or an object with `url` (and optionally `detail`)",
  }),
});
/** vLLM's shape: encoded video (mp4, webm) as a data: URL. */
const videoUrlPart = z.object({
  type: z.literal("video_url"),
  video_url: z.union([z.string(), z.object({ url: z.string() })], {
    error: "expected a URL string or an object with `url`",
  }),
});
/** Frames a client decoded itself: image data URLs with their timestamps, plus the duration. */
const videoFramesPart = z.object({
  type: z.literal("video_frames"),
  video_frames: z.object({
    frames: z.array(z.object({ url: z.string(), timestamp: z.number().min(0).max(86_400) }))
      .min(1, "must hold at least one frame").max(256, "at most 256 frames"),
    duration: z.number().positive().max(86_400),
  }).superRefine((v, ctx) => {
    v.frames.forEach((f, i) => {
      if (i > 0 && f.timestamp < v.frames[i - 1]!.timestamp) {
        refuse(ctx, ["frames", i, "timestamp"], "timestamps must not decrease");
      }
      if (f.timestamp > v.duration) {
        refuse(ctx, ["frames", i, "timestamp"], "is past the clip's duration");
      }
    });
  }),
});
const PART_TYPES = "text, image_url, video_url or video_frames";
const part = z.discriminatedUnion("type", [textPart, imagePart, videoUrlPart, videoFramesPart], {
  error: (iss) => {
    if (iss.code !== "invalid_union") return undefined;
    const type = (iss.input as { type?: unknown } | undefined)?.type;
    return typeof type === "string"
      ? `'${type}' is not supported (use ${PART_TYPES})`
      : `expected ${PART_TYPES}`;
  },
});

const message = z.object({
  role: z.string().refine((r) => r in ROLES, {
    error: (iss) => `'${String(iss.input)}' is not supported (use system, user or assistant)`,
  }),
  content: z.union([z.string(), z.array(part)], {
    error: "expected a string or an array of parts",
  }).nullish(),
}).superRefine((m, ctx) => {
  if (m.content == null && m.role !== "assistant") {
    refuse(ctx, ["content"], "is required", "missing");
  }
  if (!Array.isArray(m.content) || m.role === "user") return;
  m.content.forEach((p, j) => {
    if (p.type !== "text") refuse(ctx, ["content", j], "images are only accepted in user messages");
  });
});

type RawMessage = z.infer<typeof message>;

/** Content parts per request, all messages together (a part is text, an image or a clip). */
export const MAX_CONTENT_PARTS = 2048;

/** The length of a message's `content` array, before the message itself is checked. */
function contentParts(m: unknown): number {
  const content = (m as { content?: unknown } | null)?.content;
  return Array.isArray(content) ? content.length : 0;
}

function responseFormat(limits: RequestLimits) {
  return z.discriminatedUnion("type", [
    z.object({ type: z.literal("text") }),
    z.object({ type: z.literal("json_object") }),
    z.object({
      type: z.literal("json_schema"),
      json_schema: z.object({
        name: z.string().nullish(),
        description: z.string().nullish(),
        schema: z.record(z.string(), z.unknown()).superRefine((s, ctx) => {
          const problem = checkSchemaCost(s, limits);
          if (problem) refuse(ctx, [], problem, "schema_too_complex");
        }),
        strict: z.boolean().nullish(),
      }),
    }),
  ]);
}

/** The body schema under the given ceilings; its output is a ParsedChatRequest. */
export function chatRequestSchema(limits: RequestLimits) {
  const stopString = z.string().max(limits.maxStopChars);
  return z.object({
    model: z.string().nullish(),
    // Counted before any part is checked: zod spends about a microsecond per part on the main
    // thread, so a 25 MB body of empty parts would hold every other client for seconds.
    messages: z.array(z.unknown()).min(1, "must contain at least one message")
      .max(limits.maxMessages, `at most ${limits.maxMessages} messages on this server`)
      .superRefine((ms, ctx) => {
        const parts = ms.reduce((n: number, m) => n + contentParts(m), 0);
        if (parts <= MAX_CONTENT_PARTS) return;
        const msg = `${parts} content parts; at most ${MAX_CONTENT_PARTS} per request`;
        refuse(ctx, [], msg, "too_many_parts");
      })
      .pipe(z.array(message)),
    max_tokens: z.number().int().min(1).max(limits.maxTokens).nullish(),
    max_completion_tokens: z.number().int().min(1).max(limits.maxTokens).nullish(),
    temperature: optNumber(0, 2),
    top_p: optNumber(0, 1),
    top_k: z.number().int().min(0).nullish(),
    min_p: optNumber(0, 1),
    seed: z.number().int().nullish(),
    stop: z.union([stopString, z.array(stopString).max(limits.maxStop)]).nullish(),
    presence_penalty: optNumber(-2, 2),
    frequency_penalty: optNumber(-2, 2),
    /** llama.cpp's extension. */
    repeat_penalty: optNumber(0, 10),
    stream: z.boolean().nullish(),
    stream_options: z.object({ include_usage: z.boolean().nullish() }).nullish(),
    n: z.number().int().nullish().refine((n) => n == null || n === 1, {
      message: "only n=1 is supported",
      params: custom("unsupported_value"),
    }),
    // Known OpenAI fields this server cannot honour are refused when they ask for something
    // (ignoring them would answer a different question); their defaults and empty values pass.
    logprobs: z.boolean().nullish().refine(
      (v) => v !== true,
      unsupported("is not supported on this server"),
    ),
    top_logprobs: z.number().int().min(0).max(20).nullish()
      .refine((v) => !v, unsupported("needs logprobs, which this server does not support")),
    logit_bias: z.record(z.string(), z.number()).nullish()
      .refine(
        (v) => v == null || Object.keys(v).length === 0,
        unsupported("is not supported on this server"),
      ),
    tool_choice: z.union([z.string(), z.record(z.string(), z.unknown())]).nullish().refine(
      (v) => v == null || v === "none" || v === "auto",
      unsupported('this server makes no tool calls; use "auto" or "none"'),
    ),
    response_format: responseFormat(limits).nullish(),
    image_processing: z.record(z.string(), z.unknown()).nullish(),
  }, { error: (iss) => iss.code === "invalid_type" ? "must be a JSON object" : undefined })
    .superRefine((b, ctx) => {
      const images = countImages(b.messages);
      const { maxImages, maxPromptChars } = limits;
      if (images > maxImages) {
        const msg = `${images} images; at most ${maxImages} per request on this server`;
        refuse(ctx, ["messages"], msg, "too_many_images");
      }
      const chars = countChars(b.messages);
      if (chars > maxPromptChars) {
        const msg = `${chars} characters of text; at most ${maxPromptChars} on this server`;
        refuse(ctx, ["messages"], msg, "prompt_too_long");
      }
    })
    .transform((b): ParsedChatRequest => ({
      model: b.model ?? null,
      messages: b.messages.map(toParsedMessage),
      maxTokens: b.max_completion_tokens ?? b.max_tokens ?? null,
      stop: (typeof b.stop === "string" ? [b.stop] : b.stop ?? []).filter((s) => s.length > 0),
      sampling: sampling(b),
      stream: b.stream ?? false,
      includeUsage: b.stream_options?.include_usage ?? false,
      responseFormat: b.response_format?.type === "json_schema"
        ? {
          type: "json_schema",
          name: b.response_format.json_schema.name ?? "response",
          schema: b.response_format.json_schema.schema,
        }
        : { type: b.response_format?.type ?? "text" },
      imageProcessing: b.image_processing ?? null,
      imageCount: countImages(b.messages),
    }));
}

function countImages(messages: readonly RawMessage[]): number {
  let n = 0;
  for (const m of messages) {
    if (Array.isArray(m.content)) n += m.content.filter((p) => p.type !== "text").length;
  }
  return n;
}

function countChars(messages: readonly RawMessage[]): number {
  let n = 0;
  for (const m of messages) {
    if (typeof m.content === "string") n += m.content.length;
    else for (const p of m.content ?? []) if (p.type === "text") n += p.text.length;
  }
  return n;
}

function toParsedMessage(m: RawMessage, i: number): ParsedMessage {
  const role = ROLES[m.role]!;
  if (m.content == null) return { role, content: "" };
  if (typeof m.content === "string") return { role, content: m.content };
  return {
    role,
    content: m.content.map((p, j): ParsedPart => {
      if (p.type === "text") return { type: "text", text: p.text };
      if (p.type === "video_url") {
        const at = `messages[${i}].content[${j}].video_url`;
        return typeof p.video_url === "string"
          ? { type: "video", source: { kind: "url", url: p.video_url }, param: at }
          : { type: "video", source: { kind: "url", url: p.video_url.url }, param: `${at}.url` };
      }
      if (p.type === "video_frames") {
        const { frames, duration } = p.video_frames;
        const param = `messages[${i}].content[${j}].video_frames`;
        return { type: "video", source: { kind: "frames", frames, duration }, param };
      }
      const at = `messages[${i}].content[${j}].image_url`;
      return typeof p.image_url === "string"
        ? { type: "image", url: p.image_url, param: at, detail: "auto" }
        : {
          type: "image",
          url: p.image_url.url,
          param: `${at}.url`,
          detail: p.image_url.detail ?? "auto",
        };
    }),
  };
}

type SamplingFields = {
  temperature?: number | null;
  top_p?: number | null;
  top_k?: number | null;
  min_p?: number | null;
  seed?: number | null;
  presence_penalty?: number | null;
  frequency_penalty?: number | null;
  repeat_penalty?: number | null;
};

function sampling(b: SamplingFields): SamplingOptions {
  const s: { -readonly [K in keyof SamplingOptions]: SamplingOptions[K] } = {};
  if (b.temperature != null) s.temperature = b.temperature;
  if (b.top_p != null) s.topP = b.top_p;
  if (b.top_k != null) s.topK = b.top_k;
  if (b.min_p != null) s.minP = b.min_p;
  if (b.seed != null) s.seed = ((b.seed % 2 ** 32) + 2 ** 32) % 2 ** 32;
  if (b.presence_penalty != null) s.presencePenalty = b.presence_penalty;
  if (b.frequency_penalty != null) s.frequencyPenalty = b.frequency_penalty;
  if (b.repeat_penalty != null) s.repeatPenalty = b.repeat_penalty;
  return s;
}
