/**
 * Request-rate limits per client address and per API key, through hono-rate-limiter (fixed
 * window, in-memory store). Over the limit: 429 in OpenAI's error JSON with `Retry-After`.
 *
 * @module
 */
import type { Context, MiddlewareHandler } from "hono";
import { MemoryStore, rateLimiter, type RateLimitInfo } from "hono-rate-limiter";
import type { RateLimits } from "../../config/service_config.ts";
import type { AppEnv } from "../context.ts";
import { ApiError } from "../errors.ts";

/**
 * The peer's IP address. Hand-written because `c.env` is absent when the app runs in-process
 * (app.request in tests), which hono/deno's getConnInfo does not allow.
 */
export function clientAddress(c: Context): string {
  const addr = (c.env as Partial<Deno.ServeHandlerInfo> | undefined)?.remoteAddr;
  return addr && "hostname" in addr ? addr.hostname : "local";
}

/** Sets `caller` to the peer's address; authentication replaces it with the key's id. */
export function identifyCaller(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    c.set("caller", `addr:${clientAddress(c)}`);
    await next();
  };
}

function limiter(
  windowMs: number,
  limit: number,
  what: string,
  keyOf: (c: Context<AppEnv>) => string | null,
): MiddlewareHandler<AppEnv> {
  const store = new MemoryStore<AppEnv>();
  const middleware = rateLimiter<AppEnv>({
    windowMs,
    limit,
    store,
    standardHeaders: "draft-6",
    keyGenerator: (c) => keyOf(c) ?? "",
    skip: (c) => keyOf(c) === null,
    handler: (c) => {
      const info = (c.var as { rateLimit?: RateLimitInfo }).rateLimit;
      const reset = info?.resetTime?.getTime() ?? Date.now() + windowMs;
      throw new ApiError(
        429,
        `rate limit reached: ${limit} requests per ${windowMs / 1000} s ${what}`,
        {
          code: "rate_limit_exceeded",
          retryAfter: Math.max(1, Math.ceil((reset - Date.now()) / 1000)),
        },
      );
    },
  });
  // The store sweeps expired windows on an interval; it must not keep the process alive.
  if (typeof store.interval === "number") Deno.unrefTimer(store.interval);
  return middleware;
}

/** The configured limiters, in order (address first, then key); none when all are 0. */
export function rateLimits(limits: RateLimits): MiddlewareHandler<AppEnv>[] {
  const out: MiddlewareHandler<AppEnv>[] = [];
  if (limits.perAddress > 0) {
    out.push(limiter(limits.windowMs, limits.perAddress, "per client address", (c) => {
      return `addr:${clientAddress(c)}`;
    }));
  }
  if (limits.perKey > 0) {
    out.push(limiter(limits.windowMs, limits.perKey, "per API key", (c) => {
      const caller = c.get("caller");
      return caller.startsWith("key#") ? caller : null;
    }));
  }
  return out;
}
