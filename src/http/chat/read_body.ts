/**
 * Parse stage, first half: the request body read under the byte ceiling and the request's
 * abort signal (a slow upload meets the timeout), checked as UTF-8 and handed to
 * @hono/zod-validator. Hono's bodyLimit (app level) already refused bodies that declare too many
 * bytes; this read enforces the same ceiling on bodies that declare none or lie.
 *
 * A large body (an image inline) is parsed in an image worker with its data: URLs decoded there
 * (src/image/json_media.ts): UTF-8 checking, JSON.parse and base64 of a 12 MP photo cost
 * 10-15 ms, which the main thread must not spend while other clients stream.
 *
 * @module
 */
import type { Context, MiddlewareHandler } from "hono";
import { JsonBodyError, MAX_VALUES } from "../../image/json_media.ts";
import type { AppContext } from "../context.ts";
import { ApiError, bodyTooLarge, invalidParam } from "../errors.ts";
import { readCapped } from "../read_capped.ts";
import { abortError, reasonOf } from "./aborts.ts";
import type { ChatEnv } from "./run.ts";

/** Bodies from this size on are parsed in a worker; smaller ones cost less than the hop. */
const WORKER_PARSE_BYTES = 64 * 1024;

export function readJsonBody(ctx: AppContext): MiddlewareHandler<ChatEnv> {
  const limit = ctx.config.maxBodyBytes;
  return async (c, next) => {
    const signal = c.get("run").signal;
    const body = c.req.raw.body;
    if (!body) throw invalidParam(null, "request body is empty; send JSON", "invalid_json");
    let bytes: Uint8Array;
    try {
      bytes = await readCapped(body, limit, () => bodyTooLarge(limit), signal);
    } catch (e) {
      if (signal.aborted) throw abortError(reasonOf(signal));
      if (e instanceof ApiError) throw e;
      throw invalidParam(
        null,
        `request body could not be read: ${(e as Error).message}`,
        "invalid_body",
      );
    }
    if (bytes.byteLength >= WORKER_PARSE_BYTES) {
      await parseInWorker(c, ctx, bytes);
      return await next();
    }
    let text: string;
    try {
      text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    } catch {
      throw invalidParam(null, "request body is not valid UTF-8", "invalid_json");
    }
    if (text.trim() === "") {
      throw invalidParam(null, "request body is empty; send JSON", "invalid_json");
    }
    // Hono caches body reads as promises (its type says string); the validator reads this one.
    (c.req.bodyCache as { text?: Promise<string> }).text = Promise.resolve(text);
    asJson(c);
    await next();
  };
}

async function parseInWorker(c: Context<ChatEnv>, ctx: AppContext, bytes: Uint8Array) {
  const run = c.get("run");
  let parsed;
  try {
    parsed = await ctx.images.parseJsonBody(bytes, run.signal);
  } catch (e) {
    if (run.signal.aborted) throw abortError(reasonOf(run.signal));
    if (!(e instanceof JsonBodyError)) throw e;
    const [a, b, c] = e.path;
    // A count over the limit names the body's biggest top-level field; in response_format,
    // only the schema can be big.
    const inSchema = e.fault === "complex"
      ? a === "response_format"
      : a === "response_format" && b === "json_schema" && c === "schema";
    if (inSchema) {
      // What the schema's own cost check answers (schema_cost.ts) for a schema this deep or big.
      const param = "response_format.json_schema.schema";
      const what = e.fault === "complex"
        ? `holds more than ${MAX_VALUES} JSON values`
        : `nests deeper than ${ctx.config.limits.maxSchemaDepth} levels`;
      throw new ApiError(400, `${param}: ${what} (the server's limit)`, {
        param,
        code: "schema_too_complex",
      });
    }
    if (e.fault === "complex") throw new ApiError(400, e.message, { code: "request_too_complex" });
    throw e.fault === "json"
      ? new ApiError(400, e.message, { code: "invalid_json" })
      : invalidParam(null, e.message, "invalid_json");
  }
  run.media = parsed;
  // The validator's c.req.json() parses Hono's cached text; with the media taken out it is small.
  (c.req.bodyCache as { text?: Promise<string> }).text = Promise.resolve(
    JSON.stringify(parsed.value),
  );
  asJson(c);
}

/**
 * The body is JSON whatever the client declared (curl -d sends form encoding); the validator
 * reads JSON only under a JSON content type.
 */
function asJson(c: Context<ChatEnv>): void {
  if (!/^application\/([\w.-]+\+)?json\b/i.test(c.req.header("content-type") ?? "")) {
    const headers = new Headers(c.req.raw.headers);
    headers.set("content-type", "application/json");
    c.req.raw = new Request(c.req.url, { method: "POST", headers });
  }
}
