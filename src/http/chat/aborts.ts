/**
 * A request's abort, as the client sees it: the reason (timeout, disconnect, shutdown) decides
 * the status, whichever stage was running when it came.
 *
 * @module
 */
import type { Generation, GenerationResult } from "../../engine/mod.ts";
import { ApiError, toApiError } from "../errors.ts";
import type { AbortReason } from "../tracker.ts";

export function abortError(reason: AbortReason): ApiError {
  switch (reason) {
    case "timeout":
      return new ApiError(504, "the request took longer than the server's timeout", {
        code: "timeout",
      });
    case "shutdown":
      return new ApiError(503, "the server is shutting down; the generation was stopped", {
        code: "server_shutting_down",
        retryAfter: 5,
      });
    default:
      return new ApiError(499 as 400, "the client closed the connection", {
        code: "client_closed_request",
      });
  }
}

export function reasonOf(signal: AbortSignal): AbortReason {
  return (signal.reason as AbortReason | undefined) ?? "disconnect";
}

export function throwIfAborted(signal: AbortSignal): void {
  if (signal.aborted) throw abortError(reasonOf(signal));
}

/** An ApiError for `e`; once the request is aborted, what failed is the abort's doing. */
export function abortAware(e: unknown, signal: AbortSignal): ApiError {
  if (signal.aborted && !(e instanceof ApiError)) return abortError(reasonOf(signal));
  return toApiError(e);
}

/** Awaits the result; an aborted generation becomes the abort's ApiError. */
export async function settle(
  generation: Generation,
  signal: AbortSignal,
): Promise<GenerationResult> {
  const result = await generation.result;
  if (result.finishReason === "abort") throw abortError(reasonOf(signal));
  // The engine's own limit (time holding a slot, see ChatRun.enterEngine) ran out.
  if (result.finishReason === "timeout") throw abortError("timeout");
  return result;
}
