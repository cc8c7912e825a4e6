/**
 * `GET /metrics`: Prometheus text (version 0.0.4) from the in-process Metrics plus live gauges.
 *
 * @module
 */
import { Hono } from "hono";
import type { AppContext, AppEnv } from "../context.ts";

export function metricsRoutes(ctx: AppContext): Hono<AppEnv> {
  return new Hono<AppEnv>().get("/metrics", (c) => {
    const stats = ctx.holder.engine?.stats();
    const body = ctx.metrics.render({
      queueDepth: stats?.queued ?? 0,
      running: stats?.running ?? 0,
      inFlight: ctx.tracker.size,
      ready: ctx.holder.state.status === "ready",
      uptimeSeconds: (ctx.clock.perf() - ctx.startedPerf) / 1000,
    });
    return c.body(body, 200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" });
  });
}
