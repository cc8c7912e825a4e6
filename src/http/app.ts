/**
 * The HTTP application: OpenAI-compatible chat completions, health, models, info, metrics and
 * the static frontend. Everything it needs is injected (`createApp(deps)`), so tests run it with
 * a fake engine in-process and the server runs it with the real one.
 *
 * Routes are thin: they throw ApiError (or let engine/image/zod errors through) and one
 * `onError` turns everything into OpenAI's error JSON.
 *
 * @module
 */
import { Hono } from "hono";
import type { Context } from "hono";
import { getLogger, type Logger } from "@logtape/logtape";
import type { Engine, Generation, GenerationResult, RgbImage, TextDelta } from "../engine/mod.ts";
import { ImageError } from "../image/errors.ts";
import { acceptedModelIds, type ServiceConfig } from "../config/service_config.ts";
import type { EngineHolder } from "./engine_state.ts";
import { ApiError, errorResponse, fromImageError, invalidParam, toApiError } from "./errors.ts";
import { type ImageProcessor, type ImageReport, loadImageBytes } from "./images.ts";
import {
  JSON_OBJECT_GBNF,
  JsonSchemaGrammarError,
  jsonSchemaToGbnf,
} from "./json_schema_grammar.ts";
import { Metrics } from "./metrics.ts";
import {
  imageParts,
  parseChatRequest,
  type ParsedChatRequest,
  toGenerateRequest,
} from "./schema.ts";
import {
  chunk,
  type ChunkContext,
  completionJson,
  errorEvent,
  finishReasonJson,
  SSE_DONE,
  SSE_HEADERS,
  sseEvent,
  timingsJson,
  usageChunk,
} from "./sse.ts";
import { serveStatic } from "./static.ts";
import { readCapped } from "./read_capped.ts";

/** Why a request's generation was aborted. */
export type AbortReason = "timeout" | "disconnect" | "shutdown";

/** Live chat requests, so shutdown can abort them and admission can count them. */
export class RequestTracker {
  readonly #active = new Map<string, AbortController>();

  get size(): number {
    return this.#active.size;
  }

  add(id: string, controller: AbortController): void {
    this.#active.set(id, controller);
  }

  delete(id: string): void {
    this.#active.delete(id);
  }

  /** Aborts every live request's generation. */
  abortAll(reason: AbortReason): number {
    for (const c of this.#active.values()) c.abort(reason);
    return this.#active.size;
  }
}

export interface Clock {
  /** Wall clock, ms since the epoch (timestamps). */
  now(): number;
  /** Monotonic ms (durations). */
  perf(): number;
}

export const systemClock: Clock = { now: () => Date.now(), perf: () => performance.now() };

export interface BuildInfo {
  readonly version: string;
}

export interface AppDeps {
  readonly engine: EngineHolder;
  readonly config: ServiceConfig;
  readonly images: ImageProcessor;
  readonly logger?: Logger;
  readonly clock?: Clock;
  readonly metrics?: Metrics;
  readonly tracker?: RequestTracker;
  readonly build?: BuildInfo;
}

type Env = { Variables: { requestId: string; logged: boolean } };

const encoder = new TextEncoder();

export function createApp(deps: AppDeps): Hono<Env> {
  const { engine: holder, config, images } = deps;
  const log = deps.logger ?? getLogger(["smolvlm", "http"]);
  const clock = deps.clock ?? systemClock;
  const metrics = deps.metrics ?? new Metrics();
  const tracker = deps.tracker ?? new RequestTracker();
  const startedAt = clock.now();
  const startedPerf = clock.perf();
  const modelIds = acceptedModelIds(config);
  const createdEpoch = Math.floor(startedAt / 1000);
  let seq = 0;

  const app = new Hono<Env>();

  // --- request id, access log line for everything but chat (chat logs its own, richer line) --
  app.use("*", async (c, next) => {
    const t0 = clock.perf();
    const incoming = c.req.header("x-request-id");
    const id = incoming && /^[\w.-]{1,64}$/.test(incoming)
      ? incoming
      : `req_${(++seq).toString(36)}${Math.random().toString(36).slice(2, 8)}`;
    c.set("requestId", id);
    c.set("logged", false);
    await next();
    c.header("x-request-id", id);
    if (!c.get("logged")) {
      const ms = clock.perf() - t0;
      const route = c.req.routePath && c.req.routePath !== "*" && c.req.routePath !== "/*"
        ? c.req.routePath
        : "static";
      metrics.recordRequest(c.req.method, route, c.res.status, ms / 1000);
      if (c.req.path !== "/health" && c.req.path !== "/metrics") {
        log.info("{method} {path} {status} {duration_ms} ms", {
          request_id: id,
          method: c.req.method,
          path: c.req.path,
          status: c.res.status,
          duration_ms: round2(ms),
        });
      }
    }
  });

  app.onError((err, c) => {
    const api = toApiError(err);
    if (api.status >= 500) {
      log.error("request {request_id} failed: {message}", {
        request_id: c.get("requestId"),
        message: api.message,
        error: api.cause ?? err,
      });
    }
    return errorResponse(api);
  });

  app.notFound((c) => {
    if (c.req.path.startsWith("/v1/") || c.req.path === "/v1") {
      return errorResponse(
        new ApiError(404, `Invalid URL (${c.req.method} ${c.req.path})`, { code: "unknown_url" }),
      );
    }
    return c.text("Not Found", 404);
  });

  // --- auth for /v1/* when an API key is configured ------------------------------------------
  if (config.apiKey) {
    const expected = encoder.encode(`Bearer ${config.apiKey}`);
    app.use("/v1/*", async (_c, next) => {
      const got = encoder.encode(_c.req.header("authorization") ?? "");
      let diff = got.length ^ expected.length;
      for (let i = 0; i < expected.length; i++) diff |= (got[i] ?? 0) ^ expected[i]!;
      if (diff !== 0) {
        throw new ApiError(401, "Incorrect or missing API key (Authorization: Bearer <key>)", {
          code: "invalid_api_key",
        });
      }
      await next();
    });
  }

  // --- health -----------------------------------------------------------------------------------
  app.get("/health", (c) => {
    const s = holder.state;
    const timestamp = new Date(clock.now()).toISOString();
    c.header("cache-control", "no-store");
    if (s.status === "ready") {
      return c.json({ status: "healthy", active_model: config.modelId, timestamp }, 200);
    }
    if (s.status === "loading") {
      c.header("retry-after", "5");
      return c.json({ status: "loading", active_model: config.modelId, timestamp }, 503);
    }
    const reason = s.status === "failed" ? s.reason : "the server is shutting down";
    return c.json({ status: "unhealthy", reason, active_model: config.modelId, timestamp }, 503);
  });

  // --- models -------------------------------------------------------------------------------------
  const modelObject = () => ({
    id: config.modelId,
    object: "model",
    created: createdEpoch,
    owned_by: "smolvlm",
  });
  app.get("/v1/models", (c) => c.json({ object: "list", data: [modelObject()] }));
  app.get("/v1/models/:id{.+}", (c) => {
    const id = c.req.param("id");
    if (!modelIds.has(id)) throw modelNotFound(id);
    return c.json(modelObject());
  });

  // --- info ---------------------------------------------------------------------------------------
  app.get("/v1/info", (c) => {
    const s = holder.state;
    const engine = holder.engine ?? (s.status === "stopping" ? s.engine : null);
    const info = engine?.info ?? null;
    const stats = engine?.stats() ?? null;
    return c.json({
      status: s.status,
      model: {
        id: config.modelId,
        name: config.modelName,
        aliases: [...modelIds].filter((m) => m !== config.modelId),
        demo: config.demo,
        demo_note: config.demo
          ? "tiny synthetic model with RANDOM weights: output is gibberish"
          : null,
        path: info?.modelPath ?? config.modelPath,
        mmproj_path: info?.mmprojPath ?? config.mmprojPath,
        description: info?.modelDescription ?? null,
        parameter_count: info?.parameterCount ?? null,
        size_bytes: info?.modelSizeBytes ?? null,
        vision: info?.vision ?? null,
        context_size: info?.contextSize ?? config.contextSize,
        train_context_size: info?.trainContextSize ?? null,
        vocab_size: info?.vocabSize ?? null,
        embedding_size: info?.embeddingSize ?? null,
      },
      tiling: {
        max_image_size: info?.maxImageSize ?? config.maxImageSize,
        image_max_tokens: info?.imageMaxTokens ?? null,
        tile_size: 512,
      },
      build: {
        version: deps.build?.version ?? "dev",
        runtime: `deno ${Deno.version.deno}`,
        v8: Deno.version.v8,
        typescript: Deno.version.typescript,
        os: Deno.build.os,
        arch: Deno.build.arch,
        backend: info ? (info.gpuLayers > 0 ? "GPU" : "CPU") : null,
        gpu_layers: info?.gpuLayers ?? null,
        threads: info?.threads ?? config.threads,
        parallel_sequences: info?.parallelSequences ?? null,
        system_info: info?.systemInfo ?? null,
      },
      uptime_seconds: round2((clock.perf() - startedPerf) / 1000),
      started_at: new Date(startedAt).toISOString(),
      queue: {
        depth: stats?.queued ?? 0,
        running: stats?.running ?? 0,
        max_queue: stats?.maxQueue ?? config.maxQueue,
        in_flight_requests: tracker.size,
        completed: stats?.completed ?? 0,
        failed: stats?.failed ?? 0,
      },
      config: publicConfig(config),
    });
  });

  // --- metrics ------------------------------------------------------------------------------------
  app.get("/metrics", (c) => {
    const stats = holder.engine?.stats();
    const body = metrics.render({
      queueDepth: stats?.queued ?? 0,
      running: stats?.running ?? 0,
      inFlight: tracker.size,
      ready: holder.state.status === "ready",
      uptimeSeconds: (clock.perf() - startedPerf) / 1000,
    });
    return c.body(body, 200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" });
  });

  // --- chat completions -----------------------------------------------------------------------------
  app.post("/v1/chat/completions", (c) => chatCompletions(c));
  app.all("/v1/chat/completions", (c) => {
    c.header("allow", "POST");
    return errorResponse(
      new ApiError(405, `${c.req.method} is not allowed here; use POST`, {
        code: "method_not_allowed",
      }),
      { allow: "POST" },
    );
  });

  // --- static frontend ------------------------------------------------------------------------------
  app.get("*", async (c, next) => {
    if (c.req.path.startsWith("/v1/")) return await next();
    const res = await serveStatic(c.req.raw, { root: config.staticDir });
    if (res) return res;
    return await next();
  });

  function requireEngine(): Engine {
    const s = holder.state;
    if (s.status === "ready") return s.engine;
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

  /** Requests beyond running + queue capacity are refused at once, before any work. */
  function admit(engine: Engine): void {
    const stats = engine.stats();
    const capacity = stats.maxQueue + Math.max(1, engine.info.parallelSequences);
    if (tracker.size >= capacity) {
      const eta = Math.max(
        1,
        Math.ceil(
          config.expectedResponseTime * (stats.queued + 1) /
            Math.max(1, engine.info.parallelSequences),
        ),
      );
      throw new ApiError(
        429,
        `the server is busy (${stats.running} running, ${stats.queued} queued); retry later`,
        {
          code: "queue_full",
          retryAfter: Math.min(eta, 60),
        },
      );
    }
  }

  async function readBody(c: Context<Env>): Promise<unknown> {
    const limit = config.maxBodyBytes;
    const declared = Number(c.req.header("content-length") ?? "NaN");
    if (Number.isFinite(declared) && declared > limit) {
      throw new ApiError(413, `request body is ${declared} bytes; the limit is ${limit}`, {
        code: "request_too_large",
      });
    }
    const body = c.req.raw.body;
    if (!body) throw invalidParam(null, "request body is empty; send JSON", "invalid_json");
    const bytes = await readCapped(
      body,
      limit,
      () =>
        new ApiError(413, `request body is larger than the limit of ${limit} bytes`, {
          code: "request_too_large",
        }),
    );
    let text: string;
    try {
      text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    } catch {
      throw invalidParam(null, "request body is not valid UTF-8", "invalid_json");
    }
    if (text.trim() === "") {
      throw invalidParam(null, "request body is empty; send JSON", "invalid_json");
    }
    try {
      return JSON.parse(text);
    } catch (e) {
      throw invalidParam(
        null,
        `request body is not valid JSON: ${(e as Error).message}`,
        "invalid_json",
      );
    }
  }

  function grammarFor(req: ParsedChatRequest): string | null {
    const rf = req.responseFormat;
    if (rf.type === "json_object") return JSON_OBJECT_GBNF;
    if (rf.type === "json_schema") {
      try {
        return jsonSchemaToGbnf(rf.schema);
      } catch (e) {
        if (e instanceof JsonSchemaGrammarError) {
          throw invalidParam(
            "response_format.json_schema.schema",
            `response_format.json_schema.schema${e.message.startsWith("/") ? "" : " "}${e.message}`,
            "unsupported_schema",
          );
        }
        throw e;
      }
    }
    return null;
  }

  async function chatCompletions(c: Context<Env>): Promise<Response> {
    const t0 = clock.perf();
    const requestId = c.get("requestId");
    c.set("logged", true);
    const logFields: Record<string, unknown> = { request_id: requestId, images: 0 };
    const finish = (status: number, extra: Record<string, unknown> = {}) => {
      const ms = clock.perf() - t0;
      metrics.recordRequest("POST", "/v1/chat/completions", status, ms / 1000);
      const fields = { ...logFields, ...extra, status, duration_ms: round2(ms) };
      if (status >= 500) log.error("chat {request_id} {status} in {duration_ms} ms", fields);
      else if (status >= 400) log.warn("chat {request_id} {status} in {duration_ms} ms", fields);
      else log.info("chat {request_id} {status} in {duration_ms} ms", fields);
    };

    const controller = new AbortController();
    let tracked = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let onClientAbort: (() => void) | undefined;
    const cleanup = () => {
      if (timer !== undefined) clearTimeout(timer);
      if (onClientAbort) c.req.raw.signal.removeEventListener("abort", onClientAbort);
      if (tracked) tracker.delete(requestId);
      tracked = false;
    };

    let streamHandedOff = false;
    try {
      const engine = requireEngine();
      admit(engine);
      tracker.add(requestId, controller);
      tracked = true;
      timer = setTimeout(() => controller.abort("timeout" satisfies AbortReason), config.timeoutMs);
      onClientAbort = () => controller.abort("disconnect" satisfies AbortReason);
      if (c.req.raw.signal.aborted) onClientAbort();
      else c.req.raw.signal.addEventListener("abort", onClientAbort, { once: true });

      const body = await readBody(c);
      const req = parseChatRequest(body);
      logFields.images = req.imageCount;
      logFields.stream = req.stream;
      if (req.model !== null && req.model !== "" && !modelIds.has(req.model)) {
        throw modelNotFound(req.model);
      }
      const grammar = grammarFor(req);
      let imageConfig: unknown;
      try {
        imageConfig = images.resolveConfig(req.imageProcessing);
      } catch (e) {
        if (e instanceof ImageError) throw fromImageError(e, "image_processing");
        throw e;
      }

      // Images, in request order.
      const tImg = clock.perf();
      const rgb: RgbImage[] = [];
      const reports: ImageReport[] = [];
      for (const part of imageParts(req)) {
        const loaded = await loadImageBytes(
          part.url,
          part.param,
          config.remoteImages,
          controller.signal,
        );
        try {
          const prepared = await images.process(
            loaded.bytes,
            loaded.mime,
            imageConfig,
            controller.signal,
          );
          rgb.push(prepared.image);
          reports.push(prepared.report);
        } catch (e) {
          if (e instanceof ImageError) throw fromImageError(e, part.param);
          throw e;
        }
        throwIfAborted(controller.signal);
      }
      const imageMs = clock.perf() - tImg;
      throwIfAborted(controller.signal);

      const genReq = toGenerateRequest(req, rgb, {
        defaultMaxTokens: config.defaultMaxTokens,
        grammar,
        signal: controller.signal,
      });
      const generation = engine.generate(genReq);
      generation.result.catch(() => {}); // observed below; never an unhandled rejection

      const ctx: ChunkContext = {
        id: `chatcmpl-${generation.id || crypto.randomUUID()}`,
        created: Math.floor(clock.now() / 1000),
        model: config.modelId,
        includeUsage: req.includeUsage,
      };
      logFields.generation_id = generation.id;

      if (!req.stream) {
        const result = await settle(generation, controller.signal);
        const totalMs = clock.perf() - t0;
        const timings = timingsJson(imageMs, result.timings, totalMs);
        recordGeneration(result, req.imageCount, null);
        const payload = completionJson(
          ctx,
          result.text,
          result.finishReason,
          result.usage,
          timings,
          reports,
        );
        cleanup();
        finish(200, resultFields(result, timings));
        return c.json(payload, 200);
      }

      // Streaming: wait for the first delta (or the end) before committing to 200, so errors
      // that happen before any output still get their proper status.
      const iterator = generation[Symbol.asyncIterator]();
      const first = await nextOrEnd(iterator, generation, controller.signal);
      const ttftMs = clock.perf() - t0;
      streamHandedOff = true;
      // From here a disconnect shows up as the body stream's cancel(); Deno's request.signal
      // also fires after a successful response, so stop listening to it.
      if (onClientAbort) c.req.raw.signal.removeEventListener("abort", onClientAbort);
      onClientAbort = undefined;
      const stream = sseStream({
        ctx,
        iterator,
        generation,
        first,
        controller,
        imageMs,
        reports,
        t0,
        ttftMs,
        imageCount: req.imageCount,
        done: (status, extra) => {
          cleanup();
          finish(status, extra);
        },
      });
      return new Response(stream, { status: 200, headers: SSE_HEADERS });
    } catch (e) {
      const api = abortAware(e, controller.signal);
      if (!streamHandedOff) cleanup();
      finish(api.status, { error: api.message, code: api.code });
      if (api.status >= 500 && api.code === "internal_error") {
        log.error("chat {request_id} crashed: {error}", { request_id: requestId, error: e });
      }
      return errorResponse(api);
    }
  }

  function recordGeneration(result: GenerationResult, images: number, ttftMs: number | null): void {
    metrics.recordGeneration({
      promptTokens: result.usage.promptTokens,
      completionTokens: result.usage.completionTokens,
      imageTokens: result.usage.imageTokens,
      images,
      seconds: result.timings.totalMs / 1000,
      queueSeconds: result.timings.queueMs / 1000,
      ttftSeconds: ttftMs === null ? null : ttftMs / 1000,
      finishReason: result.finishReason,
    });
  }

  interface StreamArgs {
    ctx: ChunkContext;
    iterator: AsyncIterator<TextDelta>;
    generation: Generation;
    first: IteratorResult<TextDelta>;
    controller: AbortController;
    imageMs: number;
    reports: readonly ImageReport[];
    t0: number;
    ttftMs: number;
    imageCount: number;
    done: (status: number, extra: Record<string, unknown>) => void;
  }

  function sseStream(a: StreamArgs): ReadableStream<Uint8Array> {
    let pending: IteratorResult<TextDelta> | null = a.first;
    let closed = false;
    const close = (
      controller: ReadableStreamDefaultController<Uint8Array>,
      status: number,
      extra: Record<string, unknown>,
    ) => {
      if (closed) return;
      closed = true;
      try {
        controller.close();
      } catch { /* already closed */ }
      a.done(status, extra);
    };
    return new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(sseEvent(chunk(a.ctx, { role: "assistant", content: "" })));
      },
      async pull(controller) {
        try {
          // Loop until something is enqueued (an empty delta enqueues nothing, and with a
          // high-water mark of 0 the stream would not ask again).
          for (;;) {
            if (closed) return;
            const step = pending ?? await a.iterator.next();
            pending = null;
            if (closed) return;
            if (step.done) break;
            if (step.value.text !== "") {
              controller.enqueue(sseEvent(chunk(a.ctx, { content: step.value.text })));
              return;
            }
          }
          const result = await settle(a.generation, a.controller.signal);
          if (closed) return;
          const totalMs = clock.perf() - a.t0;
          const timings = timingsJson(a.imageMs, result.timings, totalMs);
          recordGeneration(result, a.imageCount, a.ttftMs);
          controller.enqueue(sseEvent(chunk(a.ctx, {}, finishReasonJson(result.finishReason), {
            timings,
            image_reports: a.reports,
          })));
          if (a.ctx.includeUsage) controller.enqueue(sseEvent(usageChunk(a.ctx, result.usage)));
          controller.enqueue(SSE_DONE);
          close(controller, 200, { ...resultFields(result, timings), ttft_ms: round2(a.ttftMs) });
        } catch (e) {
          if (closed) return;
          const api = abortAware(e, a.controller.signal);
          if (a.controller.signal.reason !== "disconnect") {
            try {
              controller.enqueue(errorEvent(api));
              controller.enqueue(SSE_DONE);
            } catch { /* the client is gone */ }
          }
          close(controller, 200, {
            stream_error: api.message,
            code: api.code,
            error_status: api.status,
          });
        }
      },
      cancel() {
        a.controller.abort("disconnect" satisfies AbortReason);
        if (closed) return;
        closed = true;
        a.done(499, { client_disconnected: true });
      },
    }, { highWaterMark: 0 });
  }

  return app;
}

function resultFields(result: GenerationResult, timings: ReturnType<typeof timingsJson>) {
  return {
    finish_reason: result.finishReason,
    prompt_tokens: result.usage.promptTokens,
    image_tokens: result.usage.imageTokens,
    completion_tokens: result.usage.completionTokens,
    timings,
  };
}

function modelNotFound(id: string): ApiError {
  return new ApiError(404, `The model '${id}' does not exist`, {
    param: "model",
    code: "model_not_found",
  });
}

function throwIfAborted(signal: AbortSignal): void {
  if (signal.aborted) throw new AbortedError(signal.reason as AbortReason);
}

class AbortedError extends Error {
  constructor(readonly reason: AbortReason) {
    super(`aborted: ${reason}`);
  }
}

/** An ApiError for `e`, taking an abort's reason into account. */
function abortAware(e: unknown, signal: AbortSignal): ApiError {
  if (e instanceof AbortedError) return abortError(e.reason);
  if (signal.aborted && !(e instanceof ApiError)) return abortError(signal.reason as AbortReason);
  return toApiError(e);
}

function abortError(reason: AbortReason): ApiError {
  switch (reason) {
    case "timeout":
      return new ApiError(504, "the request took longer than the server's timeout", {
        code: "timeout",
      });
    case "shutdown":
      return new ApiError(503, "the server is shutting down; the generation was stopped", {
        code: "server_shutting_down",
        retryAfter: 5,
      });
    default:
      return new ApiError(499 as 400, "the client closed the connection", {
        code: "client_closed_request",
      });
  }
}

/** Awaits the result; an aborted generation becomes an AbortedError with the reason. */
async function settle(generation: Generation, signal: AbortSignal): Promise<GenerationResult> {
  const result = await generation.result;
  if (result.finishReason === "abort") {
    throw new AbortedError((signal.reason as AbortReason | undefined) ?? "disconnect");
  }
  return result;
}

/** The first stream step; if the stream ends at once, surfaces the result's failure. */
async function nextOrEnd(
  iterator: AsyncIterator<TextDelta>,
  generation: Generation,
  signal: AbortSignal,
): Promise<IteratorResult<TextDelta>> {
  const step = await iterator.next();
  if (step.done) await settle(generation, signal);
  return step;
}

function publicConfig(config: ServiceConfig): Record<string, unknown> {
  return {
    model_name: config.modelName,
    model_id: config.modelId,
    host: config.host,
    port: config.port,
    timeout: config.timeoutMs / 1000,
    source: config.source,
    inference: {
      batch_size: config.batchSize,
      expected_response_time: config.expectedResponseTime,
      max_image_size: config.maxImageSize,
      context_size: config.contextSize,
      threads: config.threads,
      max_queue: config.maxQueue,
      max_tokens: config.defaultMaxTokens,
    },
    image_processing: config.imageProcessing,
    api_key: config.apiKey ? "(set)" : null,
    max_body_bytes: config.maxBodyBytes,
    shutdown_grace: config.shutdownGraceMs / 1000,
    remote_images: {
      allow_hosts: config.remoteImages.allowHosts,
      max_bytes: config.remoteImages.maxBytes,
      timeout: config.remoteImages.timeoutMs / 1000,
    },
  };
}

function round2(n: number): number {
  return Math.round(n * 100) / 100;
}
