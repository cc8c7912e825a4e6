// @ts-check
/**
 * Server-sent events, parsed incrementally from text pieces that may split lines anywhere,
 * and the OpenAI chat-completion chunk format read from them.
 */

/** @typedef {{ event: string, data: string, id: string | null }} SseEvent */

export class SseParser {
  constructor() {
    /** @type {string} */
    this.buffer = "";
    /** @type {string[]} */
    this.dataLines = [];
    /** @type {string} */
    this.eventName = "";
    /** @type {string | null} */
    this.lastId = null;
    this.sawCr = false;
  }

  /**
   * Feeds a piece of text; returns the events it completed.
   * @param {string} text
   * @returns {SseEvent[]}
   */
  push(text) {
    /** @type {SseEvent[]} */
    const out = [];
    let s = this.buffer + text;
    // A "\r\n" split across two pieces: the "\n" ends nothing new.
    if (this.sawCr && s.startsWith("\n")) s = s.slice(1);
    this.sawCr = false;
    let start = 0;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c !== 10 && c !== 13) continue;
      this.line(s.slice(start, i), out);
      if (c === 13) {
        if (i + 1 < s.length) {
          if (s.charCodeAt(i + 1) === 10) i++;
        } else {
          this.sawCr = true;
        }
      }
      start = i + 1;
    }
    this.buffer = s.slice(start);
    return out;
  }

  /**
   * Ends the stream; an event left without its blank line is dispatched all the same.
   * @returns {SseEvent[]}
   */
  end() {
    /** @type {SseEvent[]} */
    const out = [];
    if (this.buffer) this.line(this.buffer, out);
    this.buffer = "";
    this.line("", out);
    return out;
  }

  /**
   * @param {string} line
   * @param {SseEvent[]} out
   */
  line(line, out) {
    if (line === "") {
      if (this.dataLines.length > 0) {
        out.push({
          event: this.eventName || "message",
          data: this.dataLines.join("\n"),
          id: this.lastId,
        });
      }
      this.dataLines = [];
      this.eventName = "";
      return;
    }
    if (line.startsWith(":")) return;
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "data") this.dataLines.push(value);
    else if (field === "event") this.eventName = value;
    else if (field === "id") this.lastId = value;
  }
}

/**
 * @typedef {{ message: string, type: string | null, code: string | null, param: string | null }}
 *   ApiErrorBody
 * @typedef {{ prompt_tokens?: number, completion_tokens?: number, total_tokens?: number }} Usage
 * @typedef {{ kind: "done" }
 *   | { kind: "error", error: ApiErrorBody }
 *   | { kind: "chunk", role: string | null, content: string, finishReason: string | null,
 *       timings: Record<string, number> | null, imageReports: unknown[] | null,
 *       usage: Usage | null }
 *   | { kind: "invalid", data: string }} ChatEvent
 */

/**
 * Reads an error object in the agreed `{"error":{...}}` shape (or a bare string).
 * @param {unknown} value
 * @returns {ApiErrorBody | null}
 */
export function readErrorBody(value) {
  if (!value || typeof value !== "object") return null;
  const err = /** @type {Record<string, unknown>} */ (value)["error"];
  if (typeof err === "string") return { message: err, type: null, code: null, param: null };
  if (!err || typeof err !== "object") return null;
  const e = /** @type {Record<string, unknown>} */ (err);
  const str = (/** @type {unknown} */ v) => (typeof v === "string" ? v : null);
  const code = typeof e["code"] === "number" ? String(e["code"]) : str(e["code"]);
  return {
    message: str(e["message"]) ?? "Unknown error",
    type: str(e["type"]),
    code,
    param: str(e["param"]),
  };
}

/**
 * One SSE data payload of a chat completion stream, classified.
 * @param {string} data
 * @returns {ChatEvent}
 */
export function parseChatEvent(data) {
  const trimmed = data.trim();
  if (trimmed === "[DONE]") return { kind: "done" };
  /** @type {unknown} */
  let json;
  try {
    json = JSON.parse(trimmed);
  } catch {
    return { kind: "invalid", data };
  }
  if (!json || typeof json !== "object") return { kind: "invalid", data };
  const error = readErrorBody(json);
  if (error) return { kind: "error", error };
  const o = /** @type {Record<string, unknown>} */ (json);
  const choices = Array.isArray(o["choices"]) ? o["choices"] : [];
  /** @type {Record<string, unknown>} */
  const choice = choices[0] && typeof choices[0] === "object" ? choices[0] : {};
  const deltaRaw = choice["delta"];
  /** @type {Record<string, unknown>} */
  const delta = deltaRaw && typeof deltaRaw === "object"
    ? /** @type {Record<string, unknown>} */ (deltaRaw)
    : {};
  const timings = o["timings"] && typeof o["timings"] === "object"
    ? /** @type {Record<string, number>} */ (o["timings"])
    : null;
  const usage = o["usage"] && typeof o["usage"] === "object"
    ? /** @type {Usage} */ (o["usage"])
    : null;
  return {
    kind: "chunk",
    role: typeof delta["role"] === "string" ? delta["role"] : null,
    content: typeof delta["content"] === "string" ? delta["content"] : "",
    finishReason: typeof choice["finish_reason"] === "string" ? choice["finish_reason"] : null,
    timings,
    imageReports: Array.isArray(o["image_reports"]) ? o["image_reports"] : null,
    usage,
  };
}

/**
 * Yields the events of a byte stream as they arrive.
 * @param {ReadableStream<Uint8Array>} body
 * @returns {AsyncGenerator<SseEvent>}
 */
export async function* readSse(body) {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  const parser = new SseParser();
  let finished = false;
  try {
    while (true) {
      const { value, done } = await reader.read();
      if (done) break;
      yield* parser.push(decoder.decode(value, { stream: true }));
    }
    finished = true;
    yield* parser.push(decoder.decode());
    yield* parser.end();
  } finally {
    // A consumer that stops early (an error event, say) closes the connection.
    if (!finished) reader.cancel().catch(() => {});
    reader.releaseLock();
  }
}
