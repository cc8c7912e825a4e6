/**
 * Browser safety: security headers on every response and a Content-Security-Policy that lets
 * the page in static/ run (its own scripts and styles only; images from blob:/data: URLs it
 * makes itself), through hono/secure-headers; CORS for /v1/* only for allow-listed origins,
 * through hono/cors (off when the list is empty: browsers then allow same-origin calls only).
 *
 * @module
 */
import type { MiddlewareHandler } from "hono";
import { cors } from "hono/cors";
import { secureHeaders } from "hono/secure-headers";
import type { AppEnv } from "../context.ts";

export function securityHeaders(): MiddlewareHandler<AppEnv> {
  return secureHeaders({
    contentSecurityPolicy: {
      defaultSrc: ["'self'"],
      scriptSrc: ["'self'"],
      styleSrc: ["'self'"],
      imgSrc: ["'self'", "blob:", "data:"],
      mediaSrc: ["'self'", "blob:"],
      connectSrc: ["'self'"],
      objectSrc: ["'none'"],
      baseUri: ["'none'"],
      formAction: ["'self'"],
      frameAncestors: ["'none'"],
    },
    // The page uses the camera for live mode; nothing else.
    permissionsPolicy: { camera: ["self"], microphone: [], geolocation: [] },
  });
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
