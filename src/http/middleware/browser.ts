/**
 * Browser safety: security headers on every response and a Content-Security-Policy that lets
 * the page in static/ run (its own scripts and styles only; images from blob:/data: URLs it
 * makes itself), through hono/secure-headers; CORS for /v1/* only for allow-listed origins,
 * through hono/cors (off when the list is empty: browsers then allow same-origin calls only);
 * and no state-changing request from another site's page (crossSiteGuard).
 *
 * @module
 */
import type { MiddlewareHandler } from "hono";
import { cors } from "hono/cors";
import { pageSecurityHeaders } from "./page_security.ts";
import type { AppEnv } from "../context.ts";
import { ApiError } from "../errors.ts";

/** The page's policy and the usual security headers, on every response. */
export function securityHeaders(): MiddlewareHandler<AppEnv> {
  return pageSecurityHeaders();
}

/** CORS for allow-listed origins, or null when none are configured. */
export function corsFor(origins: readonly string[]): MiddlewareHandler<AppEnv> | null {
  if (origins.length === 0) return null;
  return cors({
    origin: origins.includes("*") ? "*" : [...origins],
    allowMethods: ["GET", "POST", "OPTIONS"],
    allowHeaders: ["Authorization", "Content-Type", "X-Request-Id", "X-Session-Id"],
    exposeHeaders: ["X-Request-Id", "Retry-After"],
    maxAge: 600,
  });
}

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/**
 * Refuses POSTs (and other unsafe methods) that a browser sends on behalf of another site's page.
 * CORS only hides the answer: a page on any site can still send a "simple" cross-origin POST
 * (text/plain body, no preflight) to a server on the visitor's machine, which runs the generation,
 * or reloads the model (`/admin/reload` is open without keys on a loopback address). The browser
 * says where a request comes from (`Sec-Fetch-Site`, else `Origin`); clients that are not browsers
 * send neither and pass, as do same-origin calls (the page) and allow-listed origins.
 * Not hono/csrf: it refuses a form or text/plain POST that carries neither Origin nor
 * Sec-Fetch-Site, i.e. `curl -d` and other non-browser clients.
 */
export function crossSiteGuard(origins: readonly string[]): MiddlewareHandler<AppEnv> {
  const anyOrigin = origins.includes("*");
  const allowed = new Set(origins.map((o) => o.toLowerCase()));
  return async (c, next) => {
    if (anyOrigin || SAFE_METHODS.has(c.req.method)) return await next();
    const origin = c.req.header("origin");
    if (origin !== undefined && allowed.has(origin.toLowerCase())) return await next();
    const site = c.req.header("sec-fetch-site")?.toLowerCase();
    const sameOrigin = site !== undefined
      ? site === "same-origin" || site === "none"
      : origin === undefined || originHost(origin) === c.req.header("host")?.toLowerCase();
    if (sameOrigin) return await next();
    throw new ApiError(
      403,
      `cross-origin request from ${origin ?? "another site"} refused; ` +
        "list its origin in cors.allow_origins to allow it",
      { code: "cross_origin_forbidden" },
    );
  };
}

/** The host[:port] of an Origin header; null for "null" or anything that is not a URL. */
function originHost(origin: string): string | null {
  try {
    return new URL(origin).host.toLowerCase();
  } catch {
    return null;
  }
}
