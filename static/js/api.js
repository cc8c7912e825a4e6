// @ts-check
/**
 * The service's HTTP API as the page uses it: health, info and streamed chat completions,
 * with every failure turned into an ApiError that says what happened in words.
 */

import { parseChatEvent, readErrorBody, readSse } from "./sse.js";
import { httpErrorMessage, parseRetryAfter } from "./format.js";

/**
 * @typedef {"http" | "timeout" | "network" | "stream" | "aborted" | "protocol"} ApiErrorKind
 */

export class ApiError extends Error {
  /**
   * @param {ApiErrorKind} kind
   * @param {string} message
   * @param {{ status?: number | null, retryAfterMs?: number | null, code?: string | null }} [extra]
   */
  constructor(kind, message, extra = {}) {
    super(message);
    this.name = "ApiError";
    /** @type {ApiErrorKind} */
    this.kind = kind;
    /** @type {number | null} */
    this.status = extra.status ?? null;
    /** @type {number | null} */
    this.retryAfterMs = extra.retryAfterMs ?? null;
    /** @type {string | null} */
    this.code = extra.code ?? null;
  }

  /** Whether trying the same request again may work. */
  get retryable() {
    if (this.kind === "aborted") return true;
    if (this.kind === "http") {
      const s = this.status ?? 0;
      return s === 408 || s === 429 || s >= 500;
    }
    return true;
  }
}

/**
 * @typedef {{ state: "ready" | "loading" | "unhealthy" | "unreachable", detail: string }} Health
 */

/**
 * @param {number} ms
 * @param {AbortSignal} [outer]
 */
function timeoutSignal(ms, outer) {
  const controller = new AbortController();
  const id = setTimeout(() => controller.abort(new DOMException("timeout", "TimeoutError")), ms);
  const onAbort = () => controller.abort(outer?.reason);
  outer?.addEventListener("abort", onAbort, { once: true });
  return {
    signal: controller.signal,
    done() {
      clearTimeout(id);
      outer?.removeEventListener("abort", onAbort);
    },
  };
}

/**
 * GET /health, classified.
 * @param {number} timeoutMs
 * @param {string} [base]
 * @returns {Promise<Health>}
 */
export async function getHealth(timeoutMs, base = "") {
  const t = timeoutSignal(timeoutMs);
  try {
    const res = await fetch(`${base}/health`, { signal: t.signal, cache: "no-store" });
    /** @type {Record<string, unknown>} */
    let body = {};
    try {
      const parsed = await res.json();
      if (parsed && typeof parsed === "object") body = parsed;
    } catch {
      // A body that is not JSON still has a status code.
    }
    const status = typeof body["status"] === "string" ? body["status"] : "";
    const reason = typeof body["reason"] === "string" ? body["reason"] : "";
    if (res.ok && (status === "" || status === "healthy" || status === "ok")) {
      return { state: "ready", detail: "" };
    }
    if (status === "loading") return { state: "loading", detail: reason };
    return { state: "unhealthy", detail: reason || `HTTP ${res.status}` };
  } catch {
    return { state: "unreachable", detail: "" };
  } finally {
    t.done();
  }
}

/**
 * GET /v1/info; null when the server has none or is unreachable.
 * @param {number} timeoutMs
 * @param {string} [base]
 * @returns {Promise<unknown>}
 */
export async function getInfo(timeoutMs, base = "") {
  const t = timeoutSignal(timeoutMs);
  try {
    const res = await fetch(`${base}/v1/info`, { signal: t.signal, cache: "no-store" });
    if (!res.ok) return null;
    return await res.json();
  } catch {
    return null;
  } finally {
    t.done();
  }
}

/**
 * @typedef {object} StreamHandlers
 * @property {(text: string) => void} [onDelta]
 * @property {(final: { finishReason: string, timings: Record<string, number> | null,
 *   imageReports: unknown[] | null }) => void} [onFinish]
 * @property {(usage: import("./sse.js").Usage) => void} [onUsage]
 * @property {() => void} [onResponse] response headers arrived with a 2xx status
 */

/**
 * @typedef {object} StreamResult
 * @property {string} text
 * @property {string | null} finishReason
 * @property {Record<string, number> | null} timings
 * @property {unknown[] | null} imageReports
 * @property {import("./sse.js").Usage | null} usage
 */

/**
 * POSTs a streamed chat completion and feeds its pieces to the handlers as they arrive.
 * Rejects with an ApiError. `idleTimeoutMs` bounds the wait for the response and then the
 * wait between two pieces of the stream.
 * @param {unknown} body
 * @param {{ signal?: AbortSignal, idleTimeoutMs: number, base?: string, sessionId?: string }
 *   & StreamHandlers} opts
 * @returns {Promise<StreamResult>}
 */
export async function streamChat(body, opts) {
  const controller = new AbortController();
  let timedOut = false;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let timer;
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, opts.idleTimeoutMs);
  };
  const onOuterAbort = () => controller.abort();
  if (opts.signal?.aborted) controller.abort();
  opts.signal?.addEventListener("abort", onOuterAbort, { once: true });
  const idleSeconds = Math.round(opts.idleTimeoutMs / 1000);

  /** @param {unknown} error @param {boolean} midStream */
  const failure = (error, midStream) => {
    if (error instanceof ApiError) return error;
    if (timedOut) {
      return new ApiError(
        "timeout",
        midStream
          ? `The answer stopped arriving: nothing came for ${idleSeconds} s.`
          : `The server did not answer within ${idleSeconds} s.`,
      );
    }
    if (opts.signal?.aborted) return new ApiError("aborted", "Stopped.");
    return new ApiError(
      "network",
      midStream
        ? "The connection to the server was lost before the answer was complete."
        : "Could not reach the server. It may have stopped, or the network is down.",
    );
  };

  arm();
  try {
    /** @type {Response} */
    let res;
    try {
      res = await fetch(`${opts.base ?? ""}/v1/chat/completions`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          accept: "text/event-stream",
          ...(opts.sessionId ? { "x-session-id": opts.sessionId } : {}),
        },
        body: JSON.stringify(body),
        signal: controller.signal,
        cache: "no-store",
      });
    } catch (error) {
      throw failure(error, false);
    }
    arm();
    if (!res.ok) {
      const retryAfterMs = parseRetryAfter(res.headers.get("retry-after"));
      /** @type {import("./sse.js").ApiErrorBody | null} */
      let err = null;
      try {
        err = readErrorBody(JSON.parse(await res.text()));
      } catch {
        // Not JSON: the status line alone tells.
      }
      throw new ApiError("http", httpErrorMessage(res.status, err?.message ?? null, retryAfterMs), {
        status: res.status,
        retryAfterMs,
        code: err?.code ?? null,
      });
    }
    opts.onResponse?.();
    /** @type {StreamResult} */
    const result = { text: "", finishReason: null, timings: null, imageReports: null, usage: null };
    const type = res.headers.get("content-type") ?? "";
    if (!res.body) throw new ApiError("protocol", "The server sent an empty response.");
    if (!type.includes("text/event-stream")) {
      throw new ApiError(
        "protocol",
        `The server answered with ${type || "no content type"}, not a stream.`,
      );
    }
    let sawDone = false;
    try {
      for await (const ev of readSse(res.body)) {
        arm();
        const chat = parseChatEvent(ev.data);
        if (chat.kind === "done") {
          sawDone = true;
          break;
        }
        if (chat.kind === "invalid") continue;
        if (chat.kind === "error") {
          throw new ApiError("stream", `The server failed while answering: ${chat.error.message}`, {
            code: chat.error.code,
          });
        }
        if (chat.content) {
          result.text += chat.content;
          opts.onDelta?.(chat.content);
        }
        if (chat.finishReason) {
          result.finishReason = chat.finishReason;
          result.timings = chat.timings;
          result.imageReports = chat.imageReports;
          opts.onFinish?.({
            finishReason: chat.finishReason,
            timings: chat.timings,
            imageReports: chat.imageReports,
          });
        }
        if (chat.usage) {
          result.usage = chat.usage;
          opts.onUsage?.(chat.usage);
        }
      }
    } catch (error) {
      throw failure(error, true);
    }
    if (!sawDone && result.finishReason === null) {
      throw failure(new Error("stream ended early"), true);
    }
    return result;
  } finally {
    clearTimeout(timer);
    opts.signal?.removeEventListener("abort", onOuterAbort);
  }
}
