/**
 * Prompt stage: the engine's GenerateRequest from the parsed request and its decoded images
 * (images replace the image parts in order), with the grammar `response_format` asks for.
 *
 * @module
 */
import type {
  ChatContentPart,
  ChatMessage,
  GenerateRequest,
  RgbImage,
  VideoClip,
} from "../../engine/mod.ts";
import type { RequestLimits } from "../../config/service_config.ts";
import { ApiError, invalidParam } from "../errors.ts";
import {
  JSON_OBJECT_GBNF,
  JsonSchemaGrammarError,
  jsonSchemaToGbnf,
} from "../json_schema_grammar.ts";
import type { ParsedChatRequest } from "./request_schema.ts";

const SCHEMA_PARAM = "response_format.json_schema.schema";

/** The GBNF grammar for the request's response_format, or null for free text. */
export function grammarFor(req: ParsedChatRequest, limits: RequestLimits): string | null {
  const rf = req.responseFormat;
  if (rf.type === "json_object") return JSON_OBJECT_GBNF;
  if (rf.type !== "json_schema") return null;
  let grammar: string;
  try {
    grammar = jsonSchemaToGbnf(rf.schema);
  } catch (e) {
    if (!(e instanceof JsonSchemaGrammarError)) throw e;
    const sep = e.message.startsWith("/") ? "" : " ";
    throw invalidParam(SCHEMA_PARAM, `${SCHEMA_PARAM}${sep}${e.message}`, "unsupported_schema");
  }
  if (grammar.length > limits.maxGrammarBytes) {
    throw invalidParam(
      SCHEMA_PARAM,
      `${SCHEMA_PARAM}: its grammar is ${grammar.length} bytes; at most ${limits.maxGrammarBytes} (the server's limit)`,
      "schema_too_complex",
    );
  }
  return grammar;
}

export function toGenerateRequest(
  req: ParsedChatRequest,
  images: readonly RgbImage[],
  singleTile: readonly boolean[],
  videos: readonly VideoClip[],
  opts: {
    defaultMaxTokens: number;
    grammar: string | null;
    signal?: AbortSignal;
    sessionId?: string;
    arrivedAt?: number;
    timeoutMs?: number;
  },
): GenerateRequest {
  let next = 0;
  let nextVideo = 0;
  const messages: ChatMessage[] = req.messages.map((m) => {
    if (typeof m.content === "string") return { role: m.role, content: m.content };
    const parts: ChatContentPart[] = m.content.map((p) => {
      if (p.type === "text") return { type: "text", text: p.text };
      if (p.type === "video") {
        const video = videos[nextVideo++];
        if (!video) throw new ApiError(500, "video count mismatch", { type: "server_error" });
        return { type: "video", video };
      }
      const single = singleTile[next] === true;
      const image = images[next++];
      if (!image) throw new ApiError(500, "image count mismatch", { type: "server_error" });
      return single ? { type: "image", image, singleTile: true } : { type: "image", image };
    });
    return { role: m.role, content: parts };
  });
  return {
    messages,
    maxTokens: req.maxTokens ?? opts.defaultMaxTokens,
    stop: req.stop,
    sampling: opts.grammar !== null ? { ...req.sampling, grammar: opts.grammar } : req.sampling,
    signal: opts.signal,
    sessionId: opts.sessionId,
    arrivedAt: opts.arrivedAt,
    timeoutMs: opts.timeoutMs,
  };
}
