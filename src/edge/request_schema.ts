/**
 * What the edge checks in a chat request before it spends an upstream on it: a JSON object with
 * a non-empty `messages` array of known roles whose content is text or an array of parts (the
 * text and image_url parts checked, parts of other types such as this service's `video_url`
 * and `video_frames` passed on for the upstream to judge), and the few fields the edge itself
 * reads (`stream`, `user`, `image_processing`). Everything
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
const knownPart = z.discriminatedUnion("type", [textPart, imagePart]);

/**
 * `schema`'s result for `value` inside a transform, its issues keeping their own paths (zod
 * prefixes the enclosing path): a union would report one vague issue at its own path instead.
 */
function parseInside<T>(schema: z.ZodType<T>, value: unknown, ctx: z.RefinementCtx): T {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  for (const issue of r.error.issues) ctx.issues.push({ ...issue, input: value } as never);
  return z.NEVER;
}

export type EdgeImagePart = z.infer<typeof imagePart>;
/** A part the edge does not read (video, audio, ...): the upstream decides. */
export interface EdgeOtherPart {
  readonly type: string;
  readonly [key: string]: unknown;
}

const part = z.looseObject({ type: z.string() }, {
  error: "expected a content part: an object with a string `type`",
}).transform((p, ctx): z.infer<typeof knownPart> | EdgeOtherPart => {
  if (p.type !== "text" && p.type !== "image_url") return p;
  return parseInside(knownPart, p, ctx);
});
const parts = z.array(part);

/** This service's video parts (the edge passes them on unread). */
export function isVideoPart(p: { readonly type: string }): boolean {
  return p.type === "video_url" || p.type === "video_frames";
}

export function isImagePart(p: { readonly type: string }): p is EdgeImagePart {
  return p.type === "image_url";
}

const message = z.looseObject({
  role: z.enum(["system", "developer", "user", "assistant"], {
    error: "expected system, developer, user or assistant",
  }),
  content: z.union([z.string(), z.array(z.unknown())], {
    error: "expected a string or an array of parts",
  }).transform((c, ctx) => typeof c === "string" ? c : parseInside(parts, c, ctx)).nullish(),
});

/** The body the edge accepts; unknown fields are kept for the upstream. */
export const edgeChatRequest = z.looseObject({
  messages: z.array(message).min(1, "must contain at least one message").max(1000),
  stream: z.boolean().nullish(),
  user: z.string().max(256).nullish(),
  image_processing: z.record(z.string(), z.unknown()).nullish(),
}, { error: "must be a JSON object" });

export type EdgeChatRequest = z.infer<typeof edgeChatRequest>;
