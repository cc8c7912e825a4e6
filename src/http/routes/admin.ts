/**
 * `POST /admin/reload`: reloads the model without restarting the process (as SIGHUP does) and
 * answers when the new model serves (200 with the load time), or with the reason it cannot
 * (503; the previous model keeps serving when there was one, `state` says which).
 *
 * Authentication: with API keys configured it needs one (the app's bearer check). Without keys
 * it is allowed only when the server is bound to a loopback address (127.0.0.0/8, ::1,
 * localhost), where only local users can reach it; otherwise 403 says to configure a key.
 *
 * @module
 */
import { Hono } from "hono";
import { allApiKeys } from "../../config/service_config.ts";
import type { AppContext, AppEnv } from "../context.ts";
import { ReloadRefusedError } from "../engine_state.ts";
import { ApiError } from "../errors.ts";

/** Addresses only this machine can reach. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "").toLowerCase();
  return h === "localhost" || h === "::1" || /^127\.\d+\.\d+\.\d+$/.test(h);
}

export function adminRoutes(ctx: AppContext): Hono<AppEnv> {
  const keyed = allApiKeys(ctx.config).length > 0;
  const open = !keyed && isLoopbackHost(ctx.config.host);
  return new Hono<AppEnv>().post("/admin/reload", async (c) => {
    if (!keyed && !open) {
      throw new ApiError(
        403,
        `the admin endpoints need an API key when the server listens on ${ctx.config.host} ` +
          "(set --api-key or SMOLVLM_API_KEY), or a loopback bind address; SIGHUP reloads too",
        { code: "admin_forbidden" },
      );
    }
    if (!ctx.reload) {
      throw new ApiError(501, "this server cannot reload its model", { code: "not_supported" });
    }
    try {
      const outcome = await ctx.reload();
      return c.json({
        status: "reloaded",
        state: ctx.holder.state.status,
        load_ms: Math.round(outcome.loadMs),
        reloads: ctx.holder.reloads,
      });
    } catch (e) {
      const reason = e instanceof Error ? e.message.split("\n")[0] : String(e);
      const state = ctx.holder.state.status;
      throw new ApiError(
        e instanceof ReloadRefusedError ? 409 : 503,
        `reload failed: ${reason}; ${
          state === "ready" ? "the previous model keeps serving" : `the service is ${state}`
        }`,
        { code: e instanceof ReloadRefusedError ? "reload_refused" : "reload_failed" },
      );
    }
  });
}
