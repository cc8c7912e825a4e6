/**
 * What the edge checks in a chat request before it spends an upstream on it: a JSON object with
 * a non-empty `messages` array of known roles whose content is text or text/image_url parts,
 * and the few fields the edge itself reads (`stream`, `user`, `image_processing`). Everything
 * else passes through untouched: sampling ceilings belong to the upstream, and upstreams differ
 * (this service, llama-server, vLLM). The HTTP layer's full schema (src/http/chat/
 * request_schema.ts) is not reused because its type imports pull src/engine and ffi/ into the
 * edge's module graph.
 *
 * @module
 */
import { z } from "zod";

const textPart = z.looseObject({ type: z.literal("text"), text: z.string() });
const imagePart = z.looseObject({
  type: z.literal("image_url"),
  image_url: z.union([z.string(), z.looseObject({ url: z.string() })], {
    error: "expected a URL string or an object with `url`",
  }),
});
const part = z.discriminatedUnion("type", [textPart, imagePart], {
  error: "expected a part of type 'text' or 'image_url'",
});

const message = z.looseObject({
  role: z.enum(["system", "developer", "user", "assistant"], {
    error: "expected system, developer, user or assistant",
  }),
  content: z.union([z.string(), z.array(part)], {
    error: "expected a string or an array of parts",
  }).nullish(),
});

/** The body the edge accepts; unknown fields are kept for the upstream. */
export const edgeChatRequest = z.looseObject({
  messages: z.array(message).min(1, "must contain at least one message").max(1000),
  stream: z.boolean().nullish(),
  user: z.string().max(256).nullish(),
  image_processing: z.record(z.string(), z.unknown()).nullish(),
}, { error: "must be a JSON object" });

export type EdgeChatRequest = z.infer<typeof edgeChatRequest>;
