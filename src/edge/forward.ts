/**
 * Forwards one request to the pool: picks an upstream, sends the body with the upstream bearer
 * token, and waits for the response head and its first body chunk. A connection error, a 5xx,
 * a 401 (the edge's own token refused: the client's never goes upstream) or a body that breaks
 * before its first chunk counts against that upstream and the request moves to another one; a
 * body that ends empty is the answer. Once a chunk has been relayed the request stays where it
 * is (a broken event stream then ends the client's with an error event). The body is relayed
 * as it arrives (an event stream in whole events). A 429 (the upstream's queue is full) also
 * moves the request on, without counting as a failure; it reaches the client only when every
 * upstream is busy. An upstream silent past the deadline is not retried elsewhere: the client
 * has already waited that long.
 *
 * @module
 */
import { EDGE_ENV } from "./config.ts";
import { EdgeError, sseErrorEvent } from "./errors.ts";
import type { Upstream, UpstreamPool } from "./upstreams.ts";

export interface ForwardRequest {
  readonly path: string;
  readonly method: string;
  readonly body?: string;
  readonly session: string | null;
  readonly signal?: AbortSignal;
  readonly headers: Headers;
  /**
   * The longest wait for the upstream's first byte, and afterwards between two chunks; a
   * hung upstream otherwise holds the client (and a half-open breaker's trial) forever.
   */
  readonly timeoutMs?: number;
}

/** The timer of one attempt: armed while the edge waits on the upstream, aborting it on expiry. */
class Deadline {
  readonly #controller = new AbortController();
  readonly #ms: number | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  expired = false;

  constructor(ms: number | undefined) {
    this.#ms = ms;
  }

  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  arm(): void {
    if (this.#ms === undefined) return;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.expired = true;
      this.#controller.abort(new Error(`the upstream sent nothing for ${this.#ms} ms`));
    }, this.#ms);
  }

  disarm(): void {
    clearTimeout(this.#timer);
  }

  error(upstream: string): EdgeError {
    return new EdgeError(
      504,
      "server_error",
      `the upstream ${upstream} sent nothing for ${this.#ms} ms`,
      "upstream_timeout",
    );
  }
}

/**
 * Request headers passed on to upstreams (the rest, auth and hop-by-hop included, are not).
 * Not the client's content-type: the edge has parsed the body as JSON and says so, since some
 * upstreams (vLLM) refuse a JSON body sent as curl's default form type.
 */
const FORWARDED_REQUEST_HEADERS = ["accept", "x-request-id", "x-session-id"];
/** Response headers passed back to clients. */
const FORWARDED_RESPONSE_HEADERS = ["content-type", "cache-control", "x-request-id", "retry-after"];

function upstreamHeaders(
  incoming: Headers,
  token: string | undefined,
  hasBody: boolean,
): Headers {
  const h = new Headers();
  if (hasBody) h.set("content-type", "application/json");
  for (const name of FORWARDED_REQUEST_HEADERS) {
    const v = incoming.get(name);
    if (v !== null) h.set(name, v);
  }
  if (token) h.set("authorization", `Bearer ${token}`);
  return h;
}

function responseHeaders(res: Response, upstream: Upstream): Headers {
  const headers = new Headers();
  for (const name of FORWARDED_RESPONSE_HEADERS) {
    const v = res.headers.get(name);
    if (v !== null) headers.set(name, v);
  }
  headers.set("x-edge-upstream", upstream.url);
  return headers;
}

type FirstChunk =
  | { readonly ok: true; readonly chunk: Uint8Array | null; readonly done: boolean }
  | { readonly ok: false; readonly error: string };

async function readFirstChunk(
  reader: ReadableStreamDefaultReader<Uint8Array>,
): Promise<FirstChunk> {
  try {
    const { value, done } = await reader.read();
    return { ok: true, chunk: value ?? null, done };
  } catch (e) {
    return { ok: false, error: e instanceof Error ? e.message : String(e) };
  }
}

/**
 * Index just past the last blank line (the end of an SSE event) in `bytes`; 0 when none. Only
 * blank lines ending at or after `from` are looked for (the bytes before were scanned already).
 */
function lastEventEnd(bytes: Uint8Array, from = 0): number {
  for (let i = bytes.length - 1; i > Math.max(0, from - 1); i--) {
    if (bytes[i] !== 0x0a) continue;
    if (bytes[i - 1] === 0x0a) return i + 1;
    if (bytes[i - 1] === 0x0d && i >= 2 && bytes[i - 2] === 0x0a) return i + 1;
  }
  return 0;
}

/** Longest SSE event relayed: an upstream that never ends one is not buffered without bound. */
const MAX_EVENT_BYTES = 1 << 20;

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

/**
 * A stream that yields `first` and then the rest of `reader`; `onEnd(ok)` runs once, when the
 * upstream body ends, fails, or the client cancels.
 *
 * For an event stream (`sse`) only whole events are passed on (upstreams write one event per
 * chunk, so nothing waits in practice), and a body that breaks off ends the client's stream
 * with an error event and `[DONE]` after the last whole event, as this service's own streams
 * end, instead of a connection the client sees cut mid-event.
 */
function relay(
  first: Uint8Array | null,
  reader: ReadableStreamDefaultReader<Uint8Array>,
  onEnd: (ok: boolean) => void,
  stream: { readonly sse: boolean; readonly upstream: string; readonly deadline: Deadline },
): ReadableStream<Uint8Array> {
  const { deadline } = stream;
  let ended = false;
  const end = (ok: boolean) => {
    deadline.disarm();
    if (!ended) {
      ended = true;
      onEnd(ok);
    }
  };
  let pending = first;
  /** The start of an event not yet complete (event streams only). */
  let partial: Uint8Array = new Uint8Array(0);
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      // Loops until something is enqueued: a pull that enqueues nothing is not called again.
      for (;;) {
        let chunk: Uint8Array;
        if (pending) {
          chunk = pending;
          pending = null;
        } else {
          let next: ReadableStreamReadResult<Uint8Array>;
          try {
            deadline.arm();
            next = await reader.read();
            deadline.disarm();
          } catch (e) {
            end(false);
            if (!stream.sse) return controller.error(e);
            const why = e instanceof Error ? e.message : String(e);
            controller.enqueue(sseErrorEvent(
              deadline.expired ? deadline.error(stream.upstream) : new EdgeError(
                502,
                "server_error",
                `the upstream ${stream.upstream} broke off the stream: ${why}`,
                "upstream_stream_broken",
              ),
            ));
            return controller.close();
          }
          if (next.done) {
            end(true);
            // It ended on its own: whatever it sent last is passed on as sent.
            if (partial.length > 0) controller.enqueue(partial);
            return controller.close();
          }
          chunk = next.value;
        }
        if (!stream.sse) return controller.enqueue(chunk);
        const joined = partial.length > 0 ? concat(partial, chunk) : chunk;
        // A blank line may end across the seam: back up two bytes into what was scanned.
        const cut = lastEventEnd(joined, partial.length - 2);
        partial = joined.slice(cut);
        if (partial.length > MAX_EVENT_BYTES) {
          end(false);
          await reader.cancel().catch(() => {});
          if (cut > 0) controller.enqueue(joined.subarray(0, cut));
          controller.enqueue(sseErrorEvent(
            new EdgeError(
              502,
              "server_error",
              `the upstream ${stream.upstream} sent an event over ${MAX_EVENT_BYTES} bytes`,
              "upstream_stream_broken",
            ),
          ));
          return controller.close();
        }
        if (cut > 0) return controller.enqueue(joined.subarray(0, cut));
      }
    },
    async cancel(reason) {
      end(true);
      await reader.cancel(reason).catch(() => {});
    },
  }, { highWaterMark: 0 });
}

export interface ForwardResult {
  readonly response: Response;
  readonly upstream: Upstream;
  readonly attempts: number;
}

/** Sends the request to the best upstream, retrying elsewhere while nothing has been relayed. */
export async function forward(
  pool: UpstreamPool,
  req: ForwardRequest,
  token: string | undefined,
): Promise<ForwardResult> {
  const tried = new Set<Upstream>();
  let lastError = "no upstream is available";
  /** A 429 from a busy upstream: returned as is when no other upstream can take the request. */
  let busy: Response | null = null;
  for (;;) {
    req.signal?.throwIfAborted();
    const upstream = pool.choose(req.session, tried);
    if (!upstream) break;
    tried.add(upstream);
    upstream.breaker.begin();
    upstream.outstanding++;
    upstream.counters.requests++;
    let settled = false;
    /** ok: it answered; false: it failed; null: the client left first (no verdict). */
    const settle = (ok: boolean | null) => {
      if (settled) return;
      settled = true;
      upstream.outstanding--;
      if (ok === null) {
        upstream.breaker.release();
      } else if (ok) {
        upstream.counters.successes++;
        upstream.breaker.success();
      } else {
        upstream.counters.failures++;
        upstream.breaker.failure();
      }
    };
    const failBeforeStreaming = (why: string) => {
      settle(false);
      upstream.counters.retriedAway++;
      lastError = `${upstream.url}: ${why}`;
    };
    const deadline = new Deadline(req.timeoutMs);
    /** A hung upstream is not retried elsewhere: the client has already waited the limit. */
    const timedOut = () => {
      settle(false);
      return deadline.error(upstream.url);
    };
    let res: Response;
    try {
      deadline.arm();
      res = await fetch(`${upstream.url}${req.path}`, {
        method: req.method,
        headers: upstreamHeaders(req.headers, token, req.body !== undefined),
        body: req.body,
        signal: req.signal ? AbortSignal.any([req.signal, deadline.signal]) : deadline.signal,
      });
    } catch (e) {
      deadline.disarm();
      if (req.signal?.aborted) {
        settle(null);
        throw e;
      }
      if (deadline.expired) throw timedOut();
      failBeforeStreaming(e instanceof Error ? e.message : String(e));
      continue;
    }
    if (res.status === 429) {
      // Busy (its queue is full), not broken: try the others before passing the 429 on. Its
      // body is read under the deadline: an upstream that stalls here holds nobody.
      const text = await res.text().catch(() => "");
      deadline.disarm();
      if (deadline.expired) throw timedOut();
      settle(true);
      busy = new Response(text, { status: 429, headers: responseHeaders(res, upstream) });
      continue;
    }
    if (res.status === 401) {
      // The client's credentials never go upstream: a 401 is the edge's token refused, a
      // misconfigured upstream, not the client's fault.
      deadline.disarm();
      await res.body?.cancel().catch(() => {});
      failBeforeStreaming(
        `HTTP 401: it refused the edge's bearer token (${EDGE_ENV.upstreamToken})`,
      );
      continue;
    }
    if (res.status >= 500) {
      deadline.disarm();
      await res.body?.cancel().catch(() => {});
      failBeforeStreaming(`HTTP ${res.status}`);
      continue;
    }
    const headers = responseHeaders(res, upstream);
    if (!res.body) {
      deadline.disarm();
      settle(true);
      return {
        response: new Response(null, { status: res.status, headers }),
        upstream,
        attempts: tried.size,
      };
    }
    const reader = res.body.getReader();
    const first = await readFirstChunk(reader);
    deadline.disarm();
    if (!first.ok) {
      if (req.signal?.aborted) {
        settle(null);
        req.signal.throwIfAborted();
      }
      if (deadline.expired) throw timedOut();
      failBeforeStreaming(`response broke before its first byte: ${first.error}`);
      continue;
    }
    if (first.done) {
      settle(true); // an empty answer (statuses >= 500 moved on above)
      return {
        response: new Response(null, { status: res.status, headers }),
        upstream,
        attempts: tried.size,
      };
    }
    const sse = /^text\/event-stream\b/i.test(res.headers.get("content-type") ?? "");
    const body = relay(first.chunk, reader, settle, { sse, upstream: upstream.url, deadline });
    return {
      response: new Response(body, { status: res.status, headers }),
      upstream,
      attempts: tried.size,
    };
  }
  if (busy) return { response: busy, upstream: [...tried].at(-1)!, attempts: tried.size };
  const unavailable = new EdgeError(
    503,
    "server_error",
    `no upstream could take the request (${lastError})`,
    "upstream_unavailable",
  );
  unavailable.retryAfter = pool.retryAfterSeconds();
  throw unavailable;
}
