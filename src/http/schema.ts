/**
 * Validation of `POST /v1/chat/completions` bodies (OpenAI's format plus the `image_processing`
 * extension) and the step from a validated body to the engine's `GenerateRequest`.
 *
 * Unknown fields are ignored (as OpenAI does); `null` counts as absent for optional fields (the
 * official clients send it); a wrong type or an out-of-range value is a 400 naming the field.
 *
 * @module
 */
import { z } from "zod";
import type {
  ChatContentPart,
  ChatMessage,
  ChatRole,
  GenerateRequest,
  RgbImage,
  SamplingOptions,
} from "../engine/mod.ts";
import { ApiError, formatPath, fromZodError, invalidParam } from "./errors.ts";

const optNumber = (min: number, max: number) => z.number().min(min).max(max).nullish();

const responseFormatSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("text") }),
  z.object({ type: z.literal("json_object") }),
  z.object({
    type: z.literal("json_schema"),
    json_schema: z.object({
      name: z.string().optional(),
      description: z.string().optional(),
      schema: z.record(z.string(), z.unknown()).optional(),
      strict: z.boolean().nullish(),
    }),
  }),
]);

/** The top-level body schema; `messages` is checked separately for precise field names. */
export const chatRequestSchema = z.object({
  model: z.string().nullish(),
  messages: z.array(z.unknown()),
  max_tokens: z.number().int().min(1).nullish(),
  max_completion_tokens: z.number().int().min(1).nullish(),
  temperature: optNumber(0, 2),
  top_p: optNumber(0, 1),
  top_k: z.number().int().min(0).nullish(),
  min_p: optNumber(0, 1),
  seed: z.number().int().nullish(),
  stop: z.union([z.string(), z.array(z.string()).max(16)]).nullish(),
  presence_penalty: optNumber(-2, 2),
  frequency_penalty: optNumber(-2, 2),
  /** llama.cpp's extension. */
  repeat_penalty: optNumber(0, 10),
  stream: z.boolean().nullish(),
  stream_options: z.object({ include_usage: z.boolean().nullish() }).nullish(),
  n: z.number().int().nullish(),
  response_format: responseFormatSchema.nullish(),
  image_processing: z.record(z.string(), z.unknown()).nullish(),
});

export type ChatRequestBody = z.infer<typeof chatRequestSchema>;

export type ParsedPart =
  | { readonly type: "text"; readonly text: string }
  | { readonly type: "image"; readonly url: string; readonly param: string };

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

const ROLE_MAP: Readonly<Record<string, ChatRole>> = {
  system: "system",
  developer: "system",
  user: "user",
  assistant: "assistant",
};

function typeName(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  return typeof v;
}

function parseMessages(raw: readonly unknown[]): { messages: ParsedMessage[]; images: number } {
  if (raw.length === 0) {
    throw invalidParam("messages", "messages must contain at least one message", "empty_array");
  }
  let images = 0;
  const messages = raw.map((m, i): ParsedMessage => {
    const at = `messages[${i}]`;
    if (typeof m !== "object" || m === null || Array.isArray(m)) {
      throw invalidParam(at, `${at}: expected an object, got ${typeName(m)}`, "invalid_type");
    }
    const msg = m as Record<string, unknown>;
    const roleRaw = msg.role;
    if (typeof roleRaw !== "string") {
      throw invalidParam(
        `${at}.role`,
        `${at}.role: expected a string, got ${typeName(roleRaw)}`,
        "invalid_type",
      );
    }
    const role = ROLE_MAP[roleRaw];
    if (!role) {
      throw invalidParam(
        `${at}.role`,
        `${at}.role: '${roleRaw}' is not supported (use system, user or assistant)`,
      );
    }
    const content = msg.content;
    if (content === undefined || content === null) {
      if (role === "assistant") return { role, content: "" };
      throw invalidParam(`${at}.content`, `${at}.content is required`, "missing");
    }
    if (typeof content === "string") return { role, content };
    if (!Array.isArray(content)) {
      throw invalidParam(
        `${at}.content`,
        `${at}.content: expected a string or an array of parts, got ${typeName(content)}`,
        "invalid_type",
      );
    }
    const parts = content.map((p, j): ParsedPart => {
      const pat = `${at}.content[${j}]`;
      if (typeof p !== "object" || p === null || Array.isArray(p)) {
        throw invalidParam(pat, `${pat}: expected an object, got ${typeName(p)}`, "invalid_type");
      }
      const part = p as Record<string, unknown>;
      if (part.type === "text") {
        if (typeof part.text !== "string") {
          throw invalidParam(
            `${pat}.text`,
            `${pat}.text: expected a string, got ${typeName(part.text)}`,
            "invalid_type",
          );
        }
        return { type: "text", text: part.text };
      }
      if (part.type === "image_url") {
        if (role !== "user") {
          throw invalidParam(pat, `${pat}: images are only accepted in user messages`);
        }
        const iu = part.image_url;
        let url: unknown = iu;
        let param = `${pat}.image_url`;
        if (typeof iu === "object" && iu !== null && !Array.isArray(iu)) {
          url = (iu as Record<string, unknown>).url;
          param = `${pat}.image_url.url`;
        }
        if (typeof url !== "string") {
          throw invalidParam(
            param,
            `${param}: expected a URL string, got ${typeName(url)}`,
            "invalid_type",
          );
        }
        images++;
        return { type: "image", url, param };
      }
      if (typeof part.type !== "string") {
        throw invalidParam(`${pat}.type`, `${pat}.type: expected a string`, "invalid_type");
      }
      throw invalidParam(
        `${pat}.type`,
        `${pat}.type: '${part.type}' is not supported (use text or image_url)`,
      );
    });
    if (role !== "user" && parts.some((p) => p.type !== "text")) {
      throw invalidParam(`${at}.content`, `${at}.content: only text is accepted here`);
    }
    return { role, content: parts };
  });
  return { messages, images };
}

/** Validates a parsed JSON body. Throws ApiError (400) naming the field on failure. */
export function parseChatRequest(body: unknown): ParsedChatRequest {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw invalidParam(
      null,
      `request body must be a JSON object, got ${typeName(body)}`,
      "invalid_type",
    );
  }
  const result = chatRequestSchema.safeParse(body);
  if (!result.success) throw fromZodError(result.error);
  const b = result.data;
  const { messages, images } = parseMessages(b.messages);

  if (b.n !== undefined && b.n !== null && b.n !== 1) {
    throw invalidParam("n", `n: only n=1 is supported (got ${b.n})`, "unsupported_value");
  }
  const stop = b.stop === undefined || b.stop === null
    ? []
    : (typeof b.stop === "string" ? [b.stop] : b.stop).filter((s) => s.length > 0);

  let responseFormat: ResponseFormat = { type: "text" };
  const rf = b.response_format;
  if (rf?.type === "json_object") responseFormat = { type: "json_object" };
  if (rf?.type === "json_schema") {
    if (rf.json_schema.schema === undefined) {
      throw invalidParam(
        "response_format.json_schema.schema",
        "response_format.json_schema.schema is required",
        "missing",
      );
    }
    responseFormat = {
      type: "json_schema",
      name: rf.json_schema.name ?? "response",
      schema: rf.json_schema.schema,
    };
  }

  const sampling: { -readonly [K in keyof SamplingOptions]: SamplingOptions[K] } = {};
  if (b.temperature != null) sampling.temperature = b.temperature;
  if (b.top_p != null) sampling.topP = b.top_p;
  if (b.top_k != null) sampling.topK = b.top_k;
  if (b.min_p != null) sampling.minP = b.min_p;
  if (b.seed != null) sampling.seed = ((b.seed % 2 ** 32) + 2 ** 32) % 2 ** 32;
  if (b.presence_penalty != null) sampling.presencePenalty = b.presence_penalty;
  if (b.frequency_penalty != null) sampling.frequencyPenalty = b.frequency_penalty;
  if (b.repeat_penalty != null) sampling.repeatPenalty = b.repeat_penalty;

  return {
    model: b.model ?? null,
    messages,
    maxTokens: b.max_completion_tokens ?? b.max_tokens ?? null,
    stop,
    sampling,
    stream: b.stream ?? false,
    includeUsage: b.stream_options?.include_usage ?? false,
    responseFormat,
    imageProcessing: b.image_processing ?? null,
    imageCount: images,
  };
}

/** The image parts of a request in order, with where each came from (for error params). */
export function imageParts(req: ParsedChatRequest): { url: string; param: string }[] {
  const out: { url: string; param: string }[] = [];
  for (const m of req.messages) {
    if (typeof m.content === "string") continue;
    for (const p of m.content) if (p.type === "image") out.push({ url: p.url, param: p.param });
  }
  return out;
}

/**
 * Builds the engine request: images (already decoded, in request order) replace the image
 * parts; the grammar (if any) joins the sampling options.
 */
export function toGenerateRequest(
  req: ParsedChatRequest,
  images: readonly RgbImage[],
  opts: { defaultMaxTokens: number; grammar: string | null; signal?: AbortSignal },
): GenerateRequest {
  let next = 0;
  const messages: ChatMessage[] = req.messages.map((m) => {
    if (typeof m.content === "string") return { role: m.role, content: m.content };
    const parts: ChatContentPart[] = m.content.map((p) => {
      if (p.type === "text") return { type: "text", text: p.text };
      const image = images[next++];
      if (!image) throw new ApiError(500, "image count mismatch", { type: "server_error" });
      return { type: "image", image };
    });
    return { role: m.role, content: parts };
  });
  const sampling: SamplingOptions = opts.grammar !== null
    ? { ...req.sampling, grammar: opts.grammar }
    : req.sampling;
  return {
    messages,
    maxTokens: req.maxTokens ?? opts.defaultMaxTokens,
    stop: req.stop,
    sampling,
    signal: opts.signal,
  };
}

export { formatPath };
