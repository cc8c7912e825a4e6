/**
 * Respond stage, streaming: Server-Sent Events. Waits for the first delta (or the end) before
 * committing to 200, so errors that happen before any output still get their proper status;
 * then one chunk per delta, the finish chunk, the usage chunk when asked, `[DONE]`.
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

export async function respondSse(c: Context, g: StartedGeneration): Promise<Response> {
  const { run } = g;
  const iterator = g.generation[Symbol.asyncIterator]();
  let pending: IteratorResult<TextDelta> | null = await iterator.next();
  if (pending.done) await settle(g.generation, run.signal);
  const ttftMs = run.ctx.clock.perf() - run.t0;
  run.handOff();

  let closed = false;
  let stream!: Controller;
  const close = (status: number, extra: Record<string, unknown>) => {
    if (closed) return;
    closed = true;
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
      if (run.signal.aborted) onAbort();
    },
    async pull(controller) {
      try {
        // Loop until something is enqueued (an empty delta enqueues nothing, and with a
        // high-water mark of 0 the stream would not ask again).
        for (;;) {
          if (closed) return;
          const step = pending ?? await iterator.next();
          pending = null;
          if (closed) return;
          if (step.done) break;
          if (step.value.text !== "") {
            controller.enqueue(sseEvent(chunk(g.chunk, { content: step.value.text })));
            return;
          }
        }
        const result = await settle(g.generation, run.signal);
        if (closed) return;
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
