/**
 * One access-log line and one metrics sample per request, for every route that does not write
 * its own (chat writes a richer one and sets `logged`). Never logs headers, so API keys cannot
 * reach a log line from here. Hand-written: hono/logger prints plain console lines; this writes
 * structured LogTape records with the request id and feeds the metrics.
 *
 * @module
 */
import type { MiddlewareHandler } from "hono";
import { type AppContext, type AppEnv, round2 } from "../context.ts";

/** Paths polled by monitors; counted in metrics, left out of the log. */
const QUIET = new Set(["/health", "/metrics"]);

export function accessLog(ctx: AppContext): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const t0 = ctx.clock.perf();
    c.set("logged", false);
    await next();
    if (c.get("logged")) return;
    const ms = ctx.clock.perf() - t0;
    const route = c.req.routePath && c.req.routePath !== "*" && c.req.routePath !== "/*"
      ? c.req.routePath
      : "static";
    ctx.metrics.recordRequest(c.req.method, route, c.res.status, ms / 1000);
    if (QUIET.has(c.req.path)) return;
    ctx.log.info("{method} {path} {status} {duration_ms} ms", {
      request_id: c.get("requestId"),
      method: c.req.method,
      path: c.req.path,
      status: c.res.status,
      duration_ms: round2(ms),
    });
  };
}
