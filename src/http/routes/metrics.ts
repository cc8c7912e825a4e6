/**
 * `GET /metrics`: Prometheus text (version 0.0.4) from prom-client (metrics.ts), the live
 * gauges read from the engine, the request tracker and the lifecycle when scraped.
 *
 * @module
 */
import { Hono } from "hono";
import type { AppContext, AppEnv } from "../context.ts";

export function metricsRoutes(ctx: AppContext): Hono<AppEnv> {
  return new Hono<AppEnv>().get("/metrics", async (c) => {
    const { holder } = ctx;
    const stats = holder.engine?.stats();
    const loadMs = holder.lastLoadMs;
    const body = await ctx.metrics.render({
      queueDepth: stats?.queued ?? 0,
      running: stats?.running ?? 0,
      inFlight: ctx.tracker.size,
      state: holder.state.status,
      reloading: holder.reloading,
      uptimeSeconds: (ctx.clock.perf() - ctx.startedPerf) / 1000,
      modelLoadSeconds: loadMs === null ? null : loadMs / 1000,
      reloads: holder.reloads,
      imageCache: stats?.imageCache,
      slots: stats?.slots,
    });
    return c.body(body, 200, { "content-type": ctx.metrics.contentType });
  });
}
