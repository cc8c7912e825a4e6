/**
 * Browser safety: security headers on every response and a Content-Security-Policy that lets
 * the page in static/ run (its own scripts and styles only; images from blob:/data: URLs it
 * makes itself), through hono/secure-headers; CORS for /v1/* only for allow-listed origins,
 * through hono/cors (off when the list is empty: browsers then allow same-origin calls only);
 * no state-changing request from another site's page (crossSiteGuard); and no request for a
 * host name that is not allowed (hostGuard: DNS rebinding).
 *
 * @module
 */
import type { MiddlewareHandler } from "hono";
import { cors } from "hono/cors";
import { refuseUnknownHost } from "./allowed_hosts.ts";
import { refuseCrossSite } from "./cross_site.ts";
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

/**
 * No state-changing request from another site's page (refuseCrossSite); the refusal names
 * `cors.allow_origins`, where an origin is allowed.
 */
export function crossSiteGuard(origins: readonly string[]): MiddlewareHandler<AppEnv> {
  return refuseCrossSite(origins, (origin) =>
    new ApiError(
      403,
      `cross-origin request from ${origin ?? "another site"} refused; ` +
        "list its origin in cors.allow_origins to allow it",
      { code: "cross_origin_forbidden" },
    ));
}

/**
 * No request whose Host is a name other than loopback's, the bind address's and those listed
 * (refuseUnknownHost); the refusal names `server.allowed_hosts`, where a name is allowed.
 */
export function hostGuard(allowed: readonly string[]): MiddlewareHandler<AppEnv> {
  return refuseUnknownHost(allowed, (host) =>
    new ApiError(
      403,
      `Host '${host}' is not allowed (DNS-rebinding protection); list the name in ` +
        'server.allowed_hosts (--allowed-host, env SMOLVLM_ALLOWED_HOSTS; "*" allows any)',
      { code: "host_not_allowed" },
    ));
}
