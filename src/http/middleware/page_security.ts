/**
 * The security headers of the page in static/ (hono/secure-headers): its own scripts and styles
 * only, images from the blob:/data: URLs it makes, the camera for live mode, no framing. A module
 * of its own with no project imports, so the edge front serves the page under the same policy
 * without pulling the service's HTTP context (and the engine) into its graph.
 *
 * @module
 */
import type { MiddlewareHandler } from "hono";
import { secureHeaders } from "hono/secure-headers";

export function pageSecurityHeaders(): MiddlewareHandler {
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
