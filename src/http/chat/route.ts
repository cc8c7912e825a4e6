/**
 * `POST /v1/chat/completions` as a sub-app, one stage per module:
 * parse (read_body + request_schema through @hono/zod-validator) → resolve images (images) →
 * prompt (prompt) → generate (generate) → respond (respond_json or respond_sse). Streaming and
 * non-streaming share everything but the last step. Other methods get 405.
 *
 * @module
 */
import { Hono } from "hono";
import { zValidator } from "@hono/zod-validator";
import type { AppContext } from "../context.ts";
import { ApiError, fromZodError, modelNotFound } from "../errors.ts";
import { abortAware, throwIfAborted } from "./aborts.ts";
import { resolveImages } from "./images.ts";
import { grammarFor, toGenerateRequest } from "./prompt.ts";
import { readJsonBody } from "./read_body.ts";
import { chatRequestSchema, type ParsedChatRequest } from "./request_schema.ts";
import { startGeneration } from "./generate.ts";
import { respondJson } from "./respond_json.ts";
import { respondSse } from "./respond_sse.ts";
import { type ChatEnv, chatRun } from "./run.ts";

export function chatRoutes(ctx: AppContext): Hono<ChatEnv> {
  const { config } = ctx;
  const limits = config.limits;
  const schema = chatRequestSchema(limits);
  const validate = zValidator("json", schema, (result) => {
    if (!result.success) throw fromZodError(result.error);
  });
  return new Hono<ChatEnv>()
    .post("/", chatRun(ctx), readJsonBody(ctx), validate, async (c) => {
      const run = c.get("run");
      try {
        const req: ParsedChatRequest = c.req.valid("json");
        run.fields.images = req.imageCount;
        run.fields.stream = req.stream;
        if (req.model !== null && req.model !== "" && !ctx.modelIds.has(req.model)) {
          throw modelNotFound(req.model);
        }
        const grammar = grammarFor(req, limits);
        // How the model tiles an image (its projector's facts); null for a text-only model.
        const tiling = run.engine.info.tiling;
        const images = await resolveImages(ctx, req, run.signal, {
          media: run.media,
          sessionId: run.session,
          tiling,
          log: run.log,
        });
        if (images.videos.length > 0) run.fields.video_decode_ms = Math.round(images.videoDecodeMs);
        const request = toGenerateRequest(req, images.rgb, images.singleTile, images.videos, {
          defaultMaxTokens: Math.min(config.defaultMaxTokens, limits.maxTokens),
          grammar,
          signal: run.signal,
          sessionId: run.session,
          // Arrival here, not at the engine: a frame whose image takes longer to prepare must not
          // supersede a newer frame of its session that got there first.
          arrivedAt: run.t0,
          timeoutMs: run.enterEngine(),
        });
        throwIfAborted(run.signal);
        const started = startGeneration(run, run.engine, request, images, req.includeUsage);
        return req.stream ? await respondSse(c, started) : await respondJson(c, started);
      } catch (e) {
        throw abortAware(e, run.signal);
      }
    })
    .all("/", (c) => {
      throw new ApiError(405, `${c.req.method} is not allowed here; use POST`, {
        code: "method_not_allowed",
        headers: { allow: "POST" },
      });
    });
}
