/**
 * OpenAI-style error JSON for the edge's own refusals (upstream errors pass through as sent).
 *
 * @module
 */
import type { ContentfulStatusCode } from "hono/utils/http-status";

export class EdgeError extends Error {
  override name = "EdgeError";
  constructor(
    readonly status: ContentfulStatusCode,
    readonly type: string,
    message: string,
    readonly code: string | null = null,
    readonly param: string | null = null,
  ) {
    super(message);
  }

  toJSON(): {
    error: { message: string; type: string; param: string | null; code: string | null };
  } {
    return {
      error: { message: this.message, type: this.type, param: this.param, code: this.code },
    };
  }
}

export const invalidRequest = (message: string, param: string | null = null, code?: string) =>
  new EdgeError(400, "invalid_request_error", message, code ?? null, param);
