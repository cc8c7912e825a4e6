/**
 * Typed engine failures. `code` is stable (the HTTP layer maps it to a status); messages are
 * written for the person who reads them.
 */
export type EngineErrorCode =
  | "model_load_failed"
  | "mmproj_load_failed"
  | "vision_not_supported"
  | "invalid_image"
  | "invalid_video"
  | "invalid_request"
  | "context_overflow"
  | "queue_full"
  | "engine_closed"
  | "model_reloading"
  | "tokenize_failed"
  | "decode_failed"
  | "encode_failed"
  | "grammar_invalid";

export class EngineError extends Error {
  readonly code: EngineErrorCode;
  constructor(code: EngineErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "EngineError";
    this.code = code;
  }
}

/** The model or projector file could not be loaded (missing, not GGUF, wrong architecture). */
export class ModelLoadError extends EngineError {
  constructor(code: "model_load_failed" | "mmproj_load_failed", message: string) {
    super(code, message);
    this.name = "ModelLoadError";
  }
}

/** The request (messages, images, parameters) cannot be run as given. */
export class InvalidRequestError extends EngineError {
  constructor(
    code:
      | "invalid_request"
      | "invalid_image"
      | "invalid_video"
      | "vision_not_supported"
      | "grammar_invalid",
    message: string,
  ) {
    super(code, message);
    this.name = "InvalidRequestError";
  }
}

/** Prompt (with image tokens) plus max_tokens does not fit the context window. */
export class ContextOverflowError extends EngineError {
  readonly promptTokens: number;
  readonly contextSize: number;
  constructor(promptTokens: number, contextSize: number) {
    super(
      "context_overflow",
      `prompt needs ${promptTokens} tokens (images included) but the context holds ${contextSize}`,
    );
    this.name = "ContextOverflowError";
    this.promptTokens = promptTokens;
    this.contextSize = contextSize;
  }
}

export class QueueFullError extends EngineError {
  readonly retryAfterSeconds: number;
  constructor(maxQueue: number, retryAfterSeconds: number) {
    super("queue_full", `the engine's queue is full (${maxQueue} waiting); retry later`);
    this.name = "QueueFullError";
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

export class EngineClosedError extends EngineError {
  constructor() {
    super("engine_closed", "the engine is shutting down");
    this.name = "EngineClosedError";
  }
}

/**
 * A reload of the model stopped this generation: it was still running when the reload's grace
 * period ran out (a long or stuck generation must not hold the new model back for minutes).
 */
export class ModelReloadingError extends EngineError {
  readonly graceMs: number;
  constructor(graceMs: number) {
    super(
      "model_reloading",
      `the model is being reloaded; this generation was still running when the reload's grace ` +
        `period (${graceMs / 1000} s) ran out and was stopped: retry the request`,
    );
    this.name = "ModelReloadingError";
    this.graceMs = graceMs;
  }
}

/** A native call failed mid-generation (decode/encode/tokenize returned an error code). */
export class NativeCallError extends EngineError {
  constructor(
    code: "tokenize_failed" | "decode_failed" | "encode_failed",
    message: string,
  ) {
    super(code, message);
    this.name = "NativeCallError";
  }
}

/** An engine error as it crosses the worker boundary (structured clone drops classes). */
export interface WireError {
  readonly name: string;
  readonly code: EngineErrorCode;
  readonly message: string;
  readonly promptTokens?: number;
  readonly contextSize?: number;
  readonly retryAfterSeconds?: number;
  readonly graceMs?: number;
}

export function toWireError(error: unknown): WireError {
  if (error instanceof ContextOverflowError) {
    return {
      name: error.name,
      code: error.code,
      message: error.message,
      promptTokens: error.promptTokens,
      contextSize: error.contextSize,
    };
  }
  if (error instanceof ModelReloadingError) {
    return { name: error.name, code: error.code, message: error.message, graceMs: error.graceMs };
  }
  if (error instanceof EngineError) {
    return { name: error.name, code: error.code, message: error.message };
  }
  return {
    name: "NativeCallError",
    code: "decode_failed",
    message: `generation failed: ${error instanceof Error ? error.message : String(error)}`,
  };
}

/** Rebuilds the typed error on the main thread, so `instanceof` works for callers. */
export function fromWireError(wire: WireError): EngineError {
  let error: EngineError;
  switch (wire.name) {
    case "ModelLoadError":
      error = new ModelLoadError(wire.code as "model_load_failed", wire.message);
      break;
    case "InvalidRequestError":
      error = new InvalidRequestError(wire.code as "invalid_request", wire.message);
      break;
    case "ContextOverflowError":
      error = new ContextOverflowError(wire.promptTokens ?? 0, wire.contextSize ?? 0);
      break;
    case "EngineClosedError":
      error = new EngineClosedError();
      break;
    case "ModelReloadingError":
      error = new ModelReloadingError(wire.graceMs ?? 0);
      break;
    case "NativeCallError":
      error = new NativeCallError(wire.code as "decode_failed", wire.message);
      break;
    default:
      error = new EngineError(wire.code, wire.message);
  }
  return error;
}
