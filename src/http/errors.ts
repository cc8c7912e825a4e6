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
import { ImageConfigError, ImageError } from "../image/errors.ts";

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
  constructor(
    status: ContentfulStatusCode,
    message: string,
    opts: {
      type?: ApiErrorType;
      param?: string | null;
      code?: string | null;
      retryAfter?: number | null;
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

/** Maps a zod error to a 400 naming the first bad field. */
export function fromZodError(err: z.ZodError): ApiError {
  const issue = err.issues[0];
  const param = issue ? formatPath(issue.path) : null;
  let message = issue?.message ?? "invalid request";
  if (issue?.code === "invalid_type") {
    message = `${param || "request body"}: ${issue.message}`;
  } else if (param) {
    message = `${param}: ${message}`;
  }
  return new ApiError(400, message, {
    param: param || null,
    code: issue?.code === "invalid_type" ? "invalid_type" : "invalid_value",
  });
}

/** Maps an engine failure (by its stable `code`) to an ApiError. */
export function fromEngineError(err: EngineError): ApiError {
  switch (err.code) {
    case "queue_full":
      return new ApiError(429, err.message, {
        code: "queue_full",
        retryAfter: err instanceof QueueFullError
          ? Math.max(1, Math.ceil(err.retryAfterSeconds))
          : 1,
        cause: err,
      });
    case "engine_closed":
      return new ApiError(503, err.message, { code: "engine_closed", retryAfter: 5, cause: err });
    case "invalid_image":
      return new ApiError(400, err.message, {
        code: "invalid_image",
        param: "messages",
        cause: err,
      });
    case "vision_not_supported":
      return new ApiError(400, err.message, {
        code: "vision_not_supported",
        param: "messages",
        cause: err,
      });
    case "invalid_request":
      return new ApiError(400, err.message, { code: "invalid_request", cause: err });
    case "grammar_invalid":
      return new ApiError(400, err.message, {
        code: "grammar_invalid",
        param: "response_format",
        cause: err,
      });
    case "context_overflow":
      return new ApiError(400, err.message, {
        code: "context_length_exceeded",
        param: "messages",
        cause: err,
      });
    case "model_load_failed":
    case "mmproj_load_failed":
      return new ApiError(503, err.message, { code: err.code, retryAfter: 30, cause: err });
    case "tokenize_failed":
    case "decode_failed":
    case "encode_failed":
      return new ApiError(500, err.message, { type: "server_error", code: err.code, cause: err });
  }
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
  return new ApiError(err.status, err.message, { param, code: err.code, cause: err });
}

/** Turns anything thrown into an ApiError; unknown errors become a 500 that hides details. */
export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof EngineError) return fromEngineError(err);
  if (err instanceof ImageError) return fromImageError(err, null);
  if (err instanceof z.ZodError) return fromZodError(err);
  if (err instanceof HTTPException) {
    const status = err.status as ContentfulStatusCode;
    return new ApiError(status, err.message || "request failed", { cause: err });
  }
  return new ApiError(500, "internal server error", {
    type: "server_error",
    code: "internal_error",
    cause: err,
  });
}

/** A JSON error Response with `Retry-After` when due. */
export function errorResponse(err: ApiError, extraHeaders?: HeadersInit): Response {
  const headers = new Headers(extraHeaders);
  headers.set("content-type", "application/json; charset=utf-8");
  if (err.retryAfter !== null) headers.set("retry-after", String(err.retryAfter));
  if (err.status === 401) headers.set("www-authenticate", 'Bearer realm="smolvlm"');
  return new Response(JSON.stringify(err.toJSON()), { status: err.status, headers });
}
