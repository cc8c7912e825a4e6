/**
 * `GET /health`: the seed's body — 200 healthy when the model serves, 503 loading (with
 * Retry-After) or unhealthy (with the reason) otherwise.
 *
 * @module
 */
import { Hono } from "hono";
import type { AppContext, AppEnv } from "../context.ts";

export function healthRoutes(ctx: AppContext): Hono<AppEnv> {
  const { config, holder, clock } = ctx;
  return new Hono<AppEnv>().get("/health", (c) => {
    const s = holder.state;
    const timestamp = new Date(clock.now()).toISOString();
    c.header("cache-control", "no-store");
    if (s.status === "ready") {
      return c.json({ status: "healthy", active_model: config.modelId, timestamp }, 200);
    }
    if (s.status === "loading") {
      c.header("retry-after", "5");
      return c.json({ status: "loading", active_model: config.modelId, timestamp }, 503);
    }
    const reason = s.status === "failed" ? s.reason : "the server is shutting down";
    return c.json({ status: "unhealthy", reason, active_model: config.modelId, timestamp }, 503);
  });
}
