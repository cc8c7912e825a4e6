/**
 * The HTTP application: OpenAI-compatible chat completions, health, models, info, metrics, the
 * admin reload and the page. `createApp` only composes: middleware in one visible order, one sub-app per group
 * of routes (routes/, chat/), one error handler mapping everything to OpenAI's error JSON.
 * Everything is injected, so tests run it with a fake engine and the server with the real one.
 *
 * @module
 */
import { type Context, Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { except } from "hono/combine";
import { requestId } from "hono/request-id";
import { allApiKeys } from "../config/service_config.ts";
import { bodyTooLarge } from "./errors.ts";
import { appContext, type AppDeps, type AppEnv } from "./context.ts";
import { errorHandler, notFound } from "./error_handler.ts";
import { accessLog } from "./middleware/access_log.ts";
import { apiKeyAuth } from "./middleware/auth.ts";
import { corsFor, crossSiteGuard, hostGuard, securityHeaders } from "./middleware/browser.ts";
import { identifyCaller, rateLimits } from "./middleware/rate_limit.ts";
import { chatRoutes } from "./chat/route.ts";
import { adminRoutes } from "./routes/admin.ts";
import { healthRoutes } from "./routes/health.ts";
import { metricsRoutes } from "./routes/metrics.ts";
import { modelRoutes } from "./routes/models.ts";
import { staticRoutes } from "./routes/static.ts";

export type { AppDeps, BuildInfo, Clock } from "./context.ts";
export { systemClock } from "./context.ts";
export { type AbortReason, RequestTracker } from "./tracker.ts";

let seq = 0;
const newRequestId = () => `req_${(++seq).toString(36)}${crypto.randomUUID().slice(0, 6)}`;

export function createApp(deps: AppDeps): Hono<AppEnv> {
  const ctx = appContext(deps);
  const { config } = ctx;
  const keys = allApiKeys(config);
  const maxSize = config.maxBodyBytes;
  const refuseBody = (): never => {
    throw bodyTooLarge(maxSize);
  };
  const app = new Hono<AppEnv>();

  // Middleware, in order: 1 request id, 2 access log + metrics, 3 security headers (CSP),
  // 4 allowed Host names only, 5 CORS (allow-listed origins only; before auth so preflights
  // pass), 6 no unsafe request from another site's page, 7 caller identity, 8 API keys, 9 rate
  // limits, 10 body size.
  app.use(requestId({ limitLength: 64, generator: newRequestId }));
  app.use(accessLog(ctx));
  app.use(securityHeaders());
  // Checked with API keys too, as Jupyter does: a rebinding page cannot send a key, but the page,
  // /health (and /metrics, /admin without keys) stay open, and one rule is easier to trust.
  // Per group, as the cross-site guard below, so a refusal counts under its route group.
  const hosts = hostGuard([...config.allowedHosts, config.host]);
  const groups = ["/v1/*", "/admin/*", "/metrics", "/health"];
  for (const path of groups) app.use(path, hosts);
  app.use(except(groups, hosts));
  const cors = corsFor(config.corsOrigins);
  if (cors) app.use("/v1/*", cors);
  // Per group, so a refusal is counted under its route group (as a 401 is), not as the page's.
  const guard = crossSiteGuard(config.corsOrigins);
  for (const path of ["/v1/*", "/admin/*"]) app.use(path, guard);
  app.use(identifyCaller());
  if (keys.length > 0) {
    const auth = apiKeyAuth(keys);
    const paths = ["/v1/*", "/metrics", "/admin/*", ...(config.protectHealth ? ["/health"] : [])];
    for (const path of paths) {
      app.use(path, auth);
    }
  }
  for (const limit of rateLimits(config.rateLimits)) app.use("/v1/*", limit);
  // Declared sizes are refused unread here; bodies without a Content-Length are read by the chat
  // route's capped reader instead, under the request timeout (bodyLimit would buffer them first).
  const undeclared = (c: Context) => c.req.header("content-length") === undefined;
  app.use("/v1/*", except(undeclared, bodyLimit({ maxSize, onError: () => refuseBody() })));

  app.route("/", healthRoutes(ctx));
  app.route("/", metricsRoutes(ctx));
  app.route("/", adminRoutes(ctx));
  app.route("/v1", modelRoutes(ctx));
  app.route("/v1/chat/completions", chatRoutes(ctx));
  app.route("/", staticRoutes(ctx));

  app.onError(errorHandler(ctx.log));
  app.notFound(notFound);
  return app;
}
