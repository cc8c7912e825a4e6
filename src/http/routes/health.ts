/**
 * `GET /health`: the seed's body — 200 `{status: "healthy", active_model, timestamp}` when the
 * model serves; otherwise 503 with the lifecycle state: "loading" (with Retry-After; also
 * during a reload, while requests wait for the new model), "failed" with its reason, or
 * "draining" / "stopped" during shutdown. `status` keeps the seed's "unhealthy" for the last
 * three, `state` names the lifecycle state.
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
      return c.json({
        status: "loading",
        state: "loading",
        reloading: s.engine !== null,
        active_model: config.modelId,
        timestamp,
      }, 503);
    }
    const reason = s.status === "failed" ? s.reason : "the server is shutting down";
    return c.json(
      { status: "unhealthy", state: s.status, reason, active_model: config.modelId, timestamp },
      503,
    );
  });
}
