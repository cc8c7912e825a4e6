/**
 * The page: static files from `config.staticDir` (or, in the single binary, from the module
 * graph) for every GET outside /v1/ (see static_files.ts for the path checks). Mounted last; what it does not find falls through to
 * the app's not-found answer.
 *
 * @module
 */
import { Hono } from "hono";
import type { AppContext, AppEnv } from "../context.ts";
import { embeddedStatic, serveEmbedded, serveStatic } from "../static_files.ts";

export function staticRoutes(ctx: AppContext): Hono<AppEnv> {
  return new Hono<AppEnv>().get("*", async (c, next) => {
    if (c.req.path.startsWith("/v1/")) return await next();
    const embedded = embeddedStatic();
    const res = embedded
      ? serveEmbedded(c.req.raw, embedded)
      : await serveStatic(c.req.raw, { root: ctx.config.staticDir });
    if (res) return res;
    return await next();
  });
}
