/**
 * Bearer API keys through hono/bearer-auth (constant-time comparison of every configured key).
 * Every failure — no header, a malformed one, a wrong key — is the same 401 in OpenAI's error
 * JSON; the key that matched is remembered only by its position (`key#N`) for per-key limits.
 *
 * @module
 */
import type { MiddlewareHandler } from "hono";
import { bearerAuth } from "hono/bearer-auth";
import { timingSafeEqual } from "hono/utils/buffer";
import type { AppEnv } from "../context.ts";
import { ApiError } from "../errors.ts";

function deny(): never {
  throw new ApiError(401, "Incorrect or missing API key (Authorization: Bearer <key>)", {
    code: "invalid_api_key",
  });
}

export function apiKeyAuth(keys: readonly string[]): MiddlewareHandler<AppEnv> {
  return bearerAuth({
    realm: "smolvlm",
    async verifyToken(token, c) {
      // Compare against every key (no early exit), so timing does not tell which one matched.
      let matched = -1;
      for (let i = 0; i < keys.length; i++) {
        if (await timingSafeEqual(keys[i]!, token)) matched = i;
      }
      if (matched >= 0) c.set("caller", `key#${matched + 1}`);
      return matched >= 0;
    },
    noAuthenticationHeader: { message: deny },
    invalidAuthenticationHeader: { message: deny },
    invalidToken: { message: deny },
  });
}
