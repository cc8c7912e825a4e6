/**
 * The app's one error handler and its not-found answer: whatever a route or middleware throws
 * becomes OpenAI's error JSON with the right status (see errors.ts for the mapping).
 *
 * @module
 */
import type { Logger } from "@logtape/logtape";
import type { ErrorHandler, NotFoundHandler } from "hono";
import type { AppEnv } from "./context.ts";
import { ApiError, errorHeaders, toApiError } from "./errors.ts";

export function errorHandler(log: Logger): ErrorHandler<AppEnv> {
  return (err, c) => {
    const api = toApiError(err);
    if (api.status >= 500 && api.code === "internal_error") {
      log.error("request {request_id} failed: {message}", {
        request_id: c.get("requestId"),
        message: api.message,
        error: api.cause ?? err,
      });
    }
    // Through the context, so headers set earlier (request id, rate limits) stay on the answer.
    return c.body(JSON.stringify(api.toJSON()), api.status, errorHeaders(api));
  };
}

/** API paths get OpenAI's error JSON; anything else (the page's namespace) a plain 404. */
export const notFound: NotFoundHandler<AppEnv> = (c) => {
  if (c.req.path.startsWith("/v1/") || c.req.path === "/v1") {
    throw new ApiError(404, `Invalid URL (${c.req.method} ${c.req.path})`, { code: "unknown_url" });
  }
  return c.text("Not Found", 404);
};
