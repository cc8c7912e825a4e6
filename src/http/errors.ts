/**
 * One error type for the HTTP layer and one function that maps anything thrown in a route
 * (ApiError, engine errors, image errors, zod issues, Hono's HTTPException) to OpenAI's error
 * JSON `{"error":{"message","type","param","code"}}` with the right status.
 *
 * @module
 */
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { z } from "zod";
import { EngineError, QueueFullError } from "../engine/mod.ts";
import { ImageBusyError, ImageConfigError, ImageError } from "../image/errors.ts";

export type ApiErrorType =
  | "invalid_request_error"
  | "rate_limit_error"
  | "server_error"
  | "service_unavailable"
  | "timeout_error";

export interface OpenAiErrorBody {
  error: { message: string; type: ApiErrorType; param: string | null; code: string | null };
}

export class ApiError extends Error {
  readonly status: ContentfulStatusCode;
  readonly type: ApiErrorType;
  readonly param: string | null;
  readonly code: string | null;
  /** Seconds for a `Retry-After` header, when the client should come back later. */
  readonly retryAfter: number | null;
  /** More response headers (e.g. `Allow` on a 405). */
  readonly headers: Readonly<Record<string, string>>;
  constructor(
    status: ContentfulStatusCode,
    message: string,
    opts: {
      type?: ApiErrorType;
      param?: string | null;
      code?: string | null;
      retryAfter?: number | null;
      headers?: Readonly<Record<string, string>>;
      cause?: unknown;
    } = {},
  ) {
    super(message, { cause: opts.cause });
    this.name = "ApiError";
    this.status = status;
    this.type = opts.type ?? defaultType(status);
    this.param = opts.param ?? null;
    this.code = opts.code ?? null;
    this.retryAfter = opts.retryAfter ?? null;
    this.headers = opts.headers ?? {};
  }

  toJSON(): OpenAiErrorBody {
    return {
      error: { message: this.message, type: this.type, param: this.param, code: this.code },
    };
  }
}

function defaultType(status: number): ApiErrorType {
  // OpenAI answers 401 and 404 with invalid_request_error too.
  if (status === 429) return "rate_limit_error";
  if (status === 503) return "service_unavailable";
  if (status === 504) return "timeout_error";
  if (status >= 500) return "server_error";
  return "invalid_request_error";
}

/** 400 with the offending field named in `param`. */
export function invalidParam(
  param: string | null,
  message: string,
  code = "invalid_value",
): ApiError {
  return new ApiError(400, message, { param, code });
}

/** Joins a zod issue path as OpenAI names params: `messages[0].content[1].image_url.url`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const seg of path) {
    if (typeof seg === "number") out += `[${seg}]`;
    else out += out === "" ? String(seg) : `.${String(seg)}`;
  }
  return out;
}

/**
 * The issue to report for a failed union: the alternative that got furthest into the value,
 * when it got as far as a named field — so `content: [{type:"text", text: 5}]` names
 * `content[0].text`, while `stop: [1]` (an element of the wrong type) names `stop`. A union
 * whose alternatives all fail at its own level is reported as itself.
 */
function deepestIssue(issue: z.core.$ZodIssue): z.core.$ZodIssue {
  if (issue.code !== "invalid_union" || issue.errors.length === 0) return issue;
  let best: z.core.$ZodIssue | null = null;
  for (const branch of issue.errors) {
    const first = branch[0];
    const named = first?.path.some((seg) => typeof seg === "string") ?? false;
    if (first && named && (!best || first.path.length > best.path.length)) best = first;
  }
  if (!best) return issue;
  const inner = deepestIssue(best);
  return { ...inner, path: [...issue.path, ...inner.path] };
}

/** The one mapping from a zod issue to a 400 naming the parameter (`messages[0].role`). */
export function fromZodIssue(raw: z.core.$ZodIssue | undefined): ApiError {
  const issue = raw ? deepestIssue(raw) : undefined;
  const param = issue ? formatPath(issue.path) : "";
  const message = issue?.message ?? "invalid request";
  const custom = issue?.code === "custom" ? (issue.params as { code?: unknown } | undefined) : null;
  const code = typeof custom?.code === "string"
    ? custom.code
    : issue?.code === "invalid_type"
    ? "invalid_type"
    : "invalid_value";
  return new ApiError(400, `${param || "request body"}: ${message}`, {
    param: param || null,
    code,
  });
}

/** Maps a zod error to a 400 naming the first bad field. */
export function fromZodError(err: { readonly issues: readonly z.core.$ZodIssue[] }): ApiError {
  return fromZodIssue(err.issues[0]);
}

/** How each engine failure answers: status, OpenAI code, the parameter to blame. */
const ENGINE_ERRORS: Readonly<
  Record<EngineError["code"], readonly [ContentfulStatusCode, string | null, string | null]>
> = {
  queue_full: [429, "queue_full", null],
  engine_closed: [503, "engine_closed", null],
  model_reloading: [503, "model_reloading", null],
  invalid_image: [400, "invalid_image", "messages"],
  invalid_video: [400, "invalid_video", "messages"],
  vision_not_supported: [400, "vision_not_supported", "messages"],
  invalid_request: [400, "invalid_request", null],
  grammar_invalid: [400, "grammar_invalid", "response_format"],
  context_overflow: [400, "context_length_exceeded", "messages"],
  model_load_failed: [503, "model_load_failed", null],
  mmproj_load_failed: [503, "mmproj_load_failed", null],
  tokenize_failed: [500, "tokenize_failed", null],
  decode_failed: [500, "decode_failed", null],
  encode_failed: [500, "encode_failed", null],
};

/** Maps an engine failure (by its stable `code`) to an ApiError. */
export function fromEngineError(err: EngineError): ApiError {
  const [status, code, param] = ENGINE_ERRORS[err.code];
  const retryAfter = err instanceof QueueFullError
    ? Math.max(1, Math.ceil(err.retryAfterSeconds))
    : err.code === "queue_full"
    ? 1
    : status === 503
    ? (err.code === "engine_closed" || err.code === "model_reloading" ? 5 : 30)
    : null;
  return new ApiError(status, err.message, { code, param, retryAfter, cause: err });
}

/** Maps an image-pipeline failure (it carries its status) to an ApiError. */
export function fromImageError(err: ImageError, param: string | null): ApiError {
  if (err instanceof ImageConfigError) {
    const key = err.key.startsWith("image_processing")
      ? err.key
      : err.key
      ? `image_processing.${err.key}`
      : "image_processing";
    return new ApiError(400, err.message.startsWith(key) ? err.message : `${key}: ${err.message}`, {
      param: key,
      code: err.code,
      cause: err,
    });
  }
  const retryAfter = err instanceof ImageBusyError ? err.retryAfterSeconds : null;
  return new ApiError(err.status, err.message, { param, code: err.code, retryAfter, cause: err });
}

/** Turns anything thrown into an ApiError; unknown errors become a 500 that hides details. */
export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof EngineError) return fromEngineError(err);
  if (err instanceof ImageError) return fromImageError(err, null);
  if (err instanceof z.ZodError) return fromZodError(err);
  if (err instanceof HTTPException) {
    // Hono's validator throws 400 "Malformed JSON in request body" for a body JSON.parse refuses.
    const status = err.status as ContentfulStatusCode;
    const code = status === 400 && /JSON/.test(err.message) ? "invalid_json" : null;
    return new ApiError(status, err.message || "request failed", { code, cause: err });
  }
  return new ApiError(500, "internal server error", {
    type: "server_error",
    code: "internal_error",
    cause: err,
  });
}

export function bodyTooLarge(limit: number): ApiError {
  return new ApiError(413, `request body is larger than the limit of ${limit} bytes`, {
    code: "request_too_large",
  });
}

export function modelNotFound(id: string): ApiError {
  return new ApiError(404, `The model '${id}' does not exist`, {
    param: "model",
    code: "model_not_found",
  });
}

/** The headers of an error answer: JSON, `Retry-After` when due, the Bearer challenge on 401. */
export function errorHeaders(err: ApiError): Record<string, string> {
  const headers: Record<string, string> = {
    ...err.headers,
    "content-type": "application/json; charset=utf-8",
  };
  if (err.retryAfter !== null) headers["retry-after"] = String(err.retryAfter);
  if (err.status === 401) headers["www-authenticate"] = 'Bearer realm="smolvlm"';
  return headers;
}
