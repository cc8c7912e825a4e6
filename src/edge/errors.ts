/**
 * OpenAI-style error JSON for the edge's own refusals (upstream errors pass through as sent),
 * with the headers that go with them: `Retry-After` when the client should come back later,
 * the Bearer challenge on a 401.
 *
 * @module
 */
import type { ContentfulStatusCode } from "hono/utils/http-status";

export interface EdgeErrorJson {
  error: { message: string; type: string; param: string | null; code: string | null };
}

export class EdgeError extends Error {
  override name = "EdgeError";
  /** Seconds for a `Retry-After` header, or null. */
  retryAfter: number | null = null;

  constructor(
    readonly status: ContentfulStatusCode,
    readonly type: string,
    message: string,
    readonly code: string | null = null,
    readonly param: string | null = null,
  ) {
    super(message);
  }

  toJSON(): EdgeErrorJson {
    return {
      error: { message: this.message, type: this.type, param: this.param, code: this.code },
    };
  }

  /** The response headers this refusal needs besides its JSON body. */
  headers(): Record<string, string> {
    const h: Record<string, string> = {};
    if (this.retryAfter !== null) h["retry-after"] = String(this.retryAfter);
    if (this.status === 401) h["www-authenticate"] = 'Bearer realm="edge"';
    return h;
  }
}

export const invalidRequest = (message: string, param: string | null = null, code?: string) =>
  new EdgeError(400, "invalid_request_error", message, code ?? null, param);

/** The SSE event that ends a stream the edge could not finish (the service's own shape). */
export function sseErrorEvent(e: EdgeError): Uint8Array {
  return new TextEncoder().encode(`data: ${JSON.stringify(e.toJSON())}\n\ndata: [DONE]\n\n`);
}
