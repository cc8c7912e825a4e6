/**
 * Respond stage, streaming: Server-Sent Events. Waits for the first delta (or the end) up to
 * COMMIT_AFTER_MS before committing to 200, so errors that happen before any output still get
 * their proper status; then one chunk per delta, the finish chunk, the usage chunk when asked,
 * `[DONE]`. A request still without a token by then (queued, or its images encoding) commits and
 * writes an SSE comment every KEEPALIVE_MS: Deno 2.9.6 tells the server that a client with a
 * request body over about 200 bytes left only when a write to it fails, so without these writes
 * such a request would hold its queue place or slot until its first token.
 *
 * Backpressure is bounded: the stream is pulled (high-water mark 0), so a reader that stops
 * reading stops the pulls; an abort (timeout, shutdown) closes the stream with an error event
 * at once, freeing the request's slot even if the reader never reads again.
 *
 * @module
 */
import type { Context } from "hono";
import type { TextDelta } from "../../engine/mod.ts";
import {
  chunk,
  errorEvent,
  finishReasonJson,
  SSE_DONE,
  SSE_HEADERS,
  sseEvent,
  usageChunk,
} from "../sse.ts";
import { abortAware, settle } from "./aborts.ts";
import { finished, type StartedGeneration } from "./generate.ts";

type Controller = ReadableStreamDefaultController<Uint8Array>;

/** How long a stream waits for its first delta before it commits to 200. */
export const COMMIT_AFTER_MS = 1000;
/** Gap between SSE comments while a committed stream has no token yet. */
export const KEEPALIVE_MS = 1000;
const KEEPALIVE = new TextEncoder().encode(": waiting for the first token\n\n");

export async function respondSse(c: Context, g: StartedGeneration): Promise<Response> {
  const { run } = g;
  const iterator = g.generation[Symbol.asyncIterator]();
  let firstAt: number | null = null;
  let next: Promise<IteratorResult<TextDelta>> | null = iterator.next().then((step) => {
    firstAt = run.ctx.clock.perf();
    return step;
  });
  let commitTimer: ReturnType<typeof setTimeout> | undefined;
  let first: IteratorResult<TextDelta> | null;
  try {
    first = await Promise.race([
      next,
      new Promise<null>((resolve) =>
        commitTimer = setTimeout(() => resolve(null), COMMIT_AFTER_MS)
      ),
    ]);
  } finally {
    clearTimeout(commitTimer);
  }
  if (first?.done) await settle(g.generation, run.signal);
  run.handOff();

  let closed = false;
  let stream!: Controller;
  let keepalive: ReturnType<typeof setInterval> | undefined;
  const stopKeepalive = () => {
    clearInterval(keepalive);
    keepalive = undefined;
  };
  const close = (status: number, extra: Record<string, unknown>) => {
    if (closed) return;
    closed = true;
    stopKeepalive();
    run.signal.removeEventListener("abort", onAbort);
    try {
      stream.close();
    } catch { /* already closed */ }
    run.end(status, extra);
  };
  const fail = (e: unknown) => {
    if (closed) return;
    const api = abortAware(e, run.signal);
    if (run.signal.reason !== "disconnect") {
      try {
        stream.enqueue(errorEvent(api));
        stream.enqueue(SSE_DONE);
      } catch { /* the client is gone */ }
    }
    close(200, { stream_error: api.message, code: api.code, error_status: api.status });
  };
  const onAbort = () => fail(run.signal.reason);
  run.signal.addEventListener("abort", onAbort, { once: true });
  // The engine's own time limit (queue time excluded) ends the stream even for a reader that
  // stopped pulling: it aborts the request like the HTTP timer would.
  g.generation.result.then((r) => {
    if (r.finishReason === "timeout") run.abort("timeout");
    else run.armReadTimeout();
  }, () => {});

  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      stream = controller;
      controller.enqueue(sseEvent(chunk(g.chunk, { role: "assistant", content: "" })));
      if (first === null) {
        keepalive = setInterval(() => {
          // One comment at most waits for a reader that stopped reading (backpressure).
          if ((controller.desiredSize ?? -1) < 0) return;
          try {
            controller.enqueue(KEEPALIVE);
          } catch { /* closed meanwhile */ }
        }, KEEPALIVE_MS);
      }
      if (run.signal.aborted) onAbort();
    },
    async pull(controller) {
      try {
        // Loop until something is enqueued (an empty delta enqueues nothing, and with a
        // high-water mark of 0 the stream would not ask again).
        for (;;) {
          if (closed) return;
          const step = await (next ?? iterator.next());
          next = null;
          stopKeepalive();
          if (closed) return;
          if (step.done) break;
          if (step.value.text !== "") {
            controller.enqueue(sseEvent(chunk(g.chunk, { content: step.value.text })));
            return;
          }
        }
        const result = await settle(g.generation, run.signal);
        if (closed) return;
        const ttftMs = (firstAt ?? run.ctx.clock.perf()) - run.t0;
        const { timings, fields } = finished(g, result, ttftMs);
        const finishJson = finishReasonJson(result.finishReason);
        const extra = { timings, image_reports: g.images.reports };
        controller.enqueue(sseEvent(chunk(g.chunk, {}, finishJson, extra)));
        if (g.chunk.includeUsage) controller.enqueue(sseEvent(usageChunk(g.chunk, result.usage)));
        controller.enqueue(SSE_DONE);
        close(200, fields);
      } catch (e) {
        fail(e);
      }
    },
    cancel() {
      stopKeepalive();
      if (!closed) {
        closed = true;
        run.signal.removeEventListener("abort", onAbort);
        run.end(499, { client_disconnected: true });
      }
      run.abort("disconnect");
    },
  }, { highWaterMark: 0 });
  return c.body(body, 200, SSE_HEADERS);
}
