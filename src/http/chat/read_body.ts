/**
 * Parse stage, first half: the request body read under the byte ceiling and the request's
 * abort signal (a slow upload meets the timeout), checked as UTF-8 and handed to
 * @hono/zod-validator as text. Hono's bodyLimit (app level) already refused bodies that declare
 * too many bytes; this read enforces the same ceiling on bodies that declare none or lie.
 *
 * @module
 */
import type { MiddlewareHandler } from "hono";
import { ApiError, bodyTooLarge, invalidParam } from "../errors.ts";
import { readCapped } from "../read_capped.ts";
import { abortError, reasonOf } from "./aborts.ts";
import type { ChatEnv } from "./run.ts";

export function readJsonBody(limit: number): MiddlewareHandler<ChatEnv> {
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
    // The body is JSON whatever the client declared (curl -d sends form encoding);
    // the validator reads JSON only under a JSON content type.
    if (!/^application\/([\w.-]+\+)?json\b/i.test(c.req.header("content-type") ?? "")) {
      const headers = new Headers(c.req.raw.headers);
      headers.set("content-type", "application/json");
      c.req.raw = new Request(c.req.url, { method: "POST", headers });
    }
    await next();
  };
}
