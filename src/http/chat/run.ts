/**
 * One chat request's life from admission to its last byte: refuses at once what cannot be
 * served (model not ready, queue full, caller over its concurrent limit), owns the abort
 * controller (timeout, client disconnect, shutdown), the tracker entry, and writes the
 * request's one log line and metrics sample when it ends — after the JSON answer, or when the
 * SSE stream closes.
 *
 * @module
 */
import type { Logger } from "@logtape/logtape";
import type { MiddlewareHandler } from "hono";
import { z } from "zod";
import type { Engine } from "../../engine/mod.ts";
import { type AppContext, type AppEnv, round2 } from "../context.ts";
import { ApiError, fromZodError } from "../errors.ts";
import type { AbortReason } from "../tracker.ts";
import { abortAware } from "./aborts.ts";
import type { JsonWithMedia } from "../../image/json_media.ts";

export type ChatEnv = { Variables: AppEnv["Variables"] & { run: ChatRun } };

export class ChatRun {
  readonly controller = new AbortController();
  readonly t0: number;
  /** Extra fields for the log line, filled in by the stages. */
  readonly fields: Record<string, unknown> = { images: 0 };
  #timer: ReturnType<typeof setTimeout> | undefined;
  #onClientAbort: (() => void) | undefined;
  #tracked = false;
  #ended = false;
  /** Set once a stream owns the end of the request. */
  handedOff = false;
  /** The engine that admitted the request (set by start()). */
  engine!: Engine;
  /** The body's inline media, decoded in a worker when the body was large (read_body.ts). */
  media: JsonWithMedia | undefined;
  /** The app's logger with this request's `request_id` on every record (debug records). */
  readonly log: Logger;

  constructor(
    readonly ctx: AppContext,
    readonly id: string,
    readonly caller: string,
    readonly clientSignal: AbortSignal,
    /**
     * The realtime session (`X-Session-Id`) scoped to its caller (`key#N` or `addr:IP`): the
     * engine supersedes by this name, and another key sending the same header must not stop this
     * caller's requests.
     */
    readonly session?: string,
  ) {
    this.t0 = ctx.clock.perf();
    this.log = ctx.log.with({ request_id: id });
    // Whoever aborts (timer, disconnect, shutdown's tracker), the record says why and when.
    this.signal.addEventListener("abort", () => {
      this.log.debug("chat {request_id} aborted ({reason}) after {ms} ms", () => ({
        reason: this.signal.reason,
        ms: round2(ctx.clock.perf() - this.t0),
      }));
    }, { once: true });
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** Admission, then the timeout and disconnect watchers. Throws ApiError to refuse. */
  start(): Engine {
    const engine = requireEngine(this.ctx);
    admit(this.ctx, engine, this.caller, this.session);
    this.engine = engine;
    this.ctx.tracker.add(this.controller, this.caller, this.session);
    this.#tracked = true;
    this.#timer = setTimeout(() => this.abort("timeout"), this.ctx.config.timeoutMs);
    // Deno.serve's request.signal: deno.json's `"unstable": ["no-legacy-abort"]` makes it abort
    // only when the client leaves (the legacy one also aborted after every successful response,
    // which Deno warns about on the console).
    this.#onClientAbort = () => this.abort("disconnect");
    if (this.clientSignal.aborted) this.#onClientAbort();
    else this.clientSignal.addEventListener("abort", this.#onClientAbort, { once: true });
    return engine;
  }

  /**
   * The request enters the engine's queue: the HTTP timer stops (time spent queued does not
   * count; a full queue answers 429 at admission instead) and the time left of the request's
   * timeout becomes the engine's limit, counted from when the generation holds a slot.
   */
  enterEngine(): number {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.ctx.tracker.enteredEngine(this.controller);
    const spent = this.ctx.clock.perf() - this.t0;
    return Math.max(1, Math.round(this.ctx.config.timeoutMs - spent));
  }

  /**
   * The generation is over but the client has not read all of it: the rest of the answer must
   * be read within the timeout, or the request ends (a reader that stops never holds a slot).
   */
  armReadTimeout(): void {
    if (this.#ended || this.#timer !== undefined) return;
    this.#timer = setTimeout(() => this.abort("timeout"), this.ctx.config.timeoutMs);
  }

  abort(reason: AbortReason): void {
    this.controller.abort(reason);
  }

  /** From here a disconnect shows up as the body stream's cancel(), so stop listening to the
   * request's signal. */
  handOff(): void {
    this.handedOff = true;
    if (this.#onClientAbort) this.clientSignal.removeEventListener("abort", this.#onClientAbort);
    this.#onClientAbort = undefined;
  }

  /** Ends the request once: frees its slot, writes its log line and metrics sample. */
  end(status: number, extra: Record<string, unknown> = {}): void {
    if (this.#ended) return;
    this.#ended = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    if (this.#onClientAbort) this.clientSignal.removeEventListener("abort", this.#onClientAbort);
    if (this.#tracked) this.ctx.tracker.delete(this.controller);
    const ms = this.ctx.clock.perf() - this.t0;
    this.ctx.metrics.recordRequest("POST", "/v1/chat/completions", status, ms / 1000);
    const fields = {
      request_id: this.id,
      caller: this.caller, // `key#N` or `addr:IP`, never the key itself
      ...this.fields,
      ...extra,
      status,
      duration_ms: round2(ms),
    };
    const line = "chat {request_id} {status} in {duration_ms} ms";
    if (status >= 500) this.ctx.log.error(line, fields);
    else if (status >= 400) this.ctx.log.warn(line, fields);
    else this.ctx.log.info(line, fields);
  }

  /** Ends the request with the error that answered it. */
  fail(e: unknown): void {
    const api = abortAware(e, this.signal);
    this.end(api.status, { error: api.message, code: api.code });
  }
}

/** The chat route's first middleware: admits the request and ends it if no stream took over. */
export function chatRun(ctx: AppContext): MiddlewareHandler<ChatEnv> {
  return async (c, next) => {
    const caller = c.get("caller");
    const session = sessionIdOf(c.req.header("x-session-id"));
    const run = new ChatRun(
      ctx,
      c.get("requestId"),
      caller,
      c.req.raw.signal,
      session === undefined ? undefined : `${caller} ${session}`,
    );
    c.set("logged", true);
    c.set("run", run);
    try {
      run.start();
    } catch (e) {
      run.fail(e);
      throw e;
    }
    await next();
    // Errors below were already answered by the app's one error handler; log what it answered.
    if (c.error) run.fail(c.error);
    else if (!run.handedOff) run.end(c.res.status);
  };
}

function requireEngine(ctx: AppContext): Engine {
  // Ready, or reloading: the request then waits in the engine's queue for the new model.
  const engine = ctx.holder.engine;
  if (engine) return engine;
  const s = ctx.holder.state;
  if (s.status === "loading") {
    throw new ApiError(503, "the model is still loading; retry shortly", {
      code: "model_loading",
      retryAfter: 5,
    });
  }
  if (s.status === "failed") {
    throw new ApiError(503, `the model cannot serve: ${s.reason}`, {
      code: "model_unavailable",
      retryAfter: 30,
    });
  }
  throw new ApiError(503, "the server is shutting down", {
    code: "server_shutting_down",
    retryAfter: 5,
  });
}

/**
 * Requests beyond running + queue capacity, or over the caller's share, are refused at once.
 * The per-caller cap is hand-written: hono-rate-limiter counts requests per window, not
 * requests in flight. A newer frame of a realtime session takes the place of its stale requests
 * that the engine holds (it supersedes them there), so it is never refused because of them.
 */
function admit(ctx: AppContext, engine: Engine, caller: string, session?: string): void {
  // One place at most: stale requests already told to stop still count until they end, so a
  // session that sends frames faster than the engine steps cannot grow past the bound.
  const replaced = session === undefined ? 0 : Math.min(1, ctx.tracker.inEngineOfSession(session));
  const perCaller = ctx.config.rateLimits.concurrentPerKey;
  if (perCaller > 0 && ctx.tracker.countFor(caller) - replaced >= perCaller) {
    throw new ApiError(429, `at most ${perCaller} concurrent requests per caller on this server`, {
      code: "too_many_concurrent_requests",
      retryAfter: 1,
    });
  }
  const stats = engine.stats();
  const parallel = Math.max(1, engine.info.parallelSequences);
  if (ctx.tracker.size - replaced < stats.maxQueue + parallel) return;
  const eta = Math.ceil(ctx.config.expectedResponseTime * (stats.queued + 1) / parallel);
  throw new ApiError(
    429,
    `the server is busy (${stats.running} running, ${stats.queued} queued); retry later`,
    { code: "queue_full", retryAfter: Math.min(Math.max(1, eta), 60) },
  );
}

/**
 * A realtime session's name from the `X-Session-Id` header (not OpenAI's `user` field, which
 * names an end user, not a stream of frames): a newer request of the same session supersedes
 * the older one. At most 128 visible ASCII characters; anything else is a 400.
 */
const sessionHeaders = z.object({
  "x-session-id": z.string().refine((v) => /^[\x21-\x7e]{1,128}$/.test(v), {
    message: "must be 1-128 visible ASCII characters",
    params: { code: "invalid_session_id" },
  }).optional(),
});

function sessionIdOf(header: string | undefined): string | undefined {
  const r = sessionHeaders.safeParse({ "x-session-id": header || undefined });
  if (!r.success) throw fromZodError(r.error);
  return r.data["x-session-id"];
}
