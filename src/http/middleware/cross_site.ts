/**
 * Refuses POSTs (and other unsafe methods) that a browser sends on behalf of another site's page.
 * CORS only hides the answer: a page on any site can still send a "simple" cross-origin POST
 * (text/plain body, no preflight) to a server on the visitor's machine, which runs the generation,
 * or reloads the model (`/admin/reload` is open without keys on a loopback address). The browser
 * says where a request comes from (`Sec-Fetch-Site`, else `Origin`); clients that are not browsers
 * send neither and pass, as do same-origin calls (the page) and allow-listed origins.
 * Not hono/csrf: it refuses a form or text/plain POST that carries neither Origin nor
 * Sec-Fetch-Site, i.e. `curl -d` and other non-browser clients. A module with no project
 * imports, so the edge front (which forwards without these headers) guards the same way.
 *
 * @module
 */
import type { MiddlewareHandler } from "hono";

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/** `refuse(origin)` is thrown for a cross-site request; `origins` may send ("*": any). */
export function refuseCrossSite(
  origins: readonly string[],
  refuse: (origin: string | undefined) => Error,
): MiddlewareHandler {
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
    throw refuse(origin);
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
