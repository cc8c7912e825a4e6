/**
 * The service's metrics, kept by prom-client and rendered in Prometheus text format (0.0.4) by
 * `GET /metrics`. Requests are recorded where they end (the access log, and the chat route when
 * its body ends, so a stream's latency is the whole stream); engine and process gauges are read
 * when scraped. Every sample also feeds the performance log's window (perf_log.ts).
 *
 * Not @hono/prometheus: it times a request until its handler returns, which for a streamed chat
 * completion is the first byte, not the end of the stream. Not collectDefaultMetrics: it reads
 * /proc and Node's process APIs, which the server's permissions do not grant; process memory
 * comes from Deno.memoryUsage() instead, which needs no permission.
 *
 * @module
 */
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import type { ImageCacheStats, SlotStats } from "../engine/mod.ts";
import { PerfWindow } from "./perf_log.ts";

/** Seconds: from a cached-prefix request (ms) to a long generation (minutes). */
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];
/** Generated tokens per second of one generation. */
const RATE_BUCKETS = [1, 2, 5, 10, 20, 35, 50, 75, 100, 150, 200, 300, 500, 1000];
/** Image tokens of one request. */
const IMAGE_TOKEN_BUCKETS = [64, 128, 256, 512, 1024, 2048, 4096, 8192];

export const LIFECYCLE_STATES = ["loading", "ready", "draining", "stopped", "failed"] as const;

/** What /metrics reads live when scraped. */
export interface GaugeSnapshot {
  readonly queueDepth: number;
  readonly running: number;
  readonly inFlight: number;
  readonly state: typeof LIFECYCLE_STATES[number];
  /** True while a reload loads the next model (the current one keeps serving). */
  readonly reloading: boolean;
  readonly uptimeSeconds: number;
  /** The last successful model load, seconds; null before the first. */
  readonly modelLoadSeconds: number | null;
  readonly reloads: number;
  readonly imageCache?: ImageCacheStats;
  /** The engine's slots (sequences), when it reports them. */
  readonly slots?: readonly SlotStats[];
}

const SLOT_STATES = ["idle", "prefill", "generate"] as const;

/** One finished generation, as the chat route saw it. */
export interface GenerationSample {
  readonly promptTokens: number;
  readonly completionTokens: number;
  readonly imageTokens: number;
  readonly images: number;
  /** Image pipeline time of the request's images (decode, crop, resize, filters); 0 without. */
  readonly preprocessSeconds: number;
  readonly encodeSeconds: number;
  readonly prefillSeconds: number;
  readonly seconds: number;
  readonly queueSeconds: number;
  readonly ttftSeconds: number | null;
  readonly decodeTokensPerSecond: number;
  readonly finishReason: string;
}

/**
 * A counter that follows a cumulative value kept elsewhere (the engine's cache statistics),
 * staying monotonic when the source starts again from zero (a reloaded model).
 */
class FollowedTotal {
  #last = 0;
  #total = 0;
  update(current: number): number {
    this.#total += current >= this.#last ? current - this.#last : current;
    this.#last = current;
    return this.#total;
  }
}

export class Metrics {
  readonly registry: Registry = new Registry();
  /** The performance log's current interval. */
  readonly window: PerfWindow = new PerfWindow();

  readonly #requests: Counter<"method" | "route" | "status">;
  readonly #errors: Counter<"route" | "status">;
  readonly #duration: Histogram<"method" | "route">;
  readonly #generations: Counter<"finish_reason">;
  readonly #phase: Record<
    "preprocess" | "encode" | "prefill" | "ttft" | "total" | "queue",
    Histogram
  >;
  readonly #decodeRate: Histogram;
  readonly #imageTokensPerRequest: Histogram;
  readonly #tokens: Record<"prompt" | "completion" | "image" | "images", Counter>;
  readonly #cacheHits = new FollowedTotal();
  readonly #cacheMisses = new FollowedTotal();
  #snapshot: GaugeSnapshot | null = null;

  constructor() {
    const registers = [this.registry];
    this.#requests = new Counter({
      name: "smolvlm_http_requests_total",
      help: "HTTP requests by method, route pattern and status.",
      labelNames: ["method", "route", "status"],
      registers,
    });
    this.#errors = new Counter({
      name: "smolvlm_http_errors_total",
      help: "HTTP responses with status >= 400 by route and status (error rate: divide by " +
        "smolvlm_http_requests_total).",
      labelNames: ["route", "status"],
      registers,
    });
    this.#duration = new Histogram({
      name: "smolvlm_http_request_duration_seconds",
      help: "HTTP request latency until the response body ends.",
      labelNames: ["method", "route"],
      buckets: DURATION_BUCKETS,
      registers,
    });
    this.#generations = new Counter({
      name: "smolvlm_generations_total",
      help: "Finished generations by finish reason.",
      labelNames: ["finish_reason"],
      registers,
    });
    const histogram = (name: string, help: string) =>
      new Histogram({ name, help, buckets: DURATION_BUCKETS, registers });
    this.#phase = {
      preprocess: histogram(
        "smolvlm_image_preprocess_seconds",
        "Image pipeline time per request with images (decode, crop, resize, filters).",
      ),
      encode: histogram(
        "smolvlm_image_encode_seconds",
        "Vision encoder time per generation with images (cached tiles cost none).",
      ),
      prefill: histogram(
        "smolvlm_prefill_seconds",
        "Prompt decoding time per generation (text and image embeddings).",
      ),
      ttft: histogram(
        "smolvlm_time_to_first_token_seconds",
        "Time from request to first streamed token.",
      ),
      total: histogram("smolvlm_generation_duration_seconds", "Engine time per generation."),
      queue: histogram(
        "smolvlm_queue_wait_seconds",
        "Time generations waited in the engine queue.",
      ),
    };
    this.#decodeRate = new Histogram({
      name: "smolvlm_decode_tokens_per_second",
      help: "Generated tokens per second of decoding, per generation.",
      buckets: RATE_BUCKETS,
      registers,
    });
    this.#imageTokensPerRequest = new Histogram({
      name: "smolvlm_image_tokens_per_request",
      help: "Prompt tokens that came from images, per generation with images.",
      buckets: IMAGE_TOKEN_BUCKETS,
      registers,
    });
    const counter = (name: string, help: string) => new Counter({ name, help, registers });
    this.#tokens = {
      prompt: counter("smolvlm_prompt_tokens_total", "Prompt tokens (images included)."),
      completion: counter("smolvlm_completion_tokens_total", "Completion tokens generated."),
      image: counter("smolvlm_image_tokens_total", "Prompt tokens that came from images."),
      images: counter("smolvlm_images_total", "Images received in chat requests."),
    };
    this.#liveSeries();
  }

  /** One finished HTTP request. `route` is the route pattern, never the raw path. */
  recordRequest(method: string, route: string, status: number, seconds: number): void {
    this.#requests.inc({ method, route, status: String(status) });
    if (status >= 400) this.#errors.inc({ route, status: String(status) });
    this.#duration.observe({ method, route }, seconds);
    this.window.request(status, seconds);
  }

  recordGeneration(g: GenerationSample): void {
    this.#tokens.prompt.inc(g.promptTokens);
    this.#tokens.completion.inc(g.completionTokens);
    this.#tokens.image.inc(g.imageTokens);
    this.#tokens.images.inc(g.images);
    this.#generations.inc({ finish_reason: g.finishReason });
    if (g.images > 0) {
      this.#phase.preprocess.observe(g.preprocessSeconds);
      this.#phase.encode.observe(g.encodeSeconds);
      this.#imageTokensPerRequest.observe(g.imageTokens);
    }
    this.#phase.prefill.observe(g.prefillSeconds);
    this.#phase.total.observe(g.seconds);
    this.#phase.queue.observe(g.queueSeconds);
    if (g.ttftSeconds !== null) this.#phase.ttft.observe(g.ttftSeconds);
    if (g.completionTokens > 1 && g.decodeTokensPerSecond > 0) {
      this.#decodeRate.observe(g.decodeTokensPerSecond);
    }
    this.window.generation(g.completionTokens);
  }

  /** The Prometheus text with the live gauges read from `snapshot`. */
  async render(snapshot: GaugeSnapshot): Promise<string> {
    this.#snapshot = snapshot;
    return await this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** Series read at scrape time from the snapshot render() was given, and process memory. */
  #liveSeries(): void {
    const registers = [this.registry];
    const snap = () => this.#snapshot;
    const gauge = (name: string, help: string, value: (s: GaugeSnapshot) => number | null) =>
      new Gauge({
        name,
        help,
        registers,
        collect() {
          const s = snap();
          const v = s ? value(s) : null;
          if (v === null) this.reset();
          else this.set(v);
        },
      });
    gauge("smolvlm_queue_depth", "Generations waiting in the engine queue.", (s) => s.queueDepth);
    gauge("smolvlm_running_generations", "Generations running now.", (s) => s.running);
    gauge("smolvlm_http_in_flight_requests", "Chat requests being served now.", (s) => s.inFlight);
    gauge(
      "smolvlm_engine_ready",
      "1 when the model is loaded and serving.",
      (s) => (s.state === "ready" ? 1 : 0),
    );
    gauge(
      "smolvlm_engine_reloading",
      "1 while a reload loads the next model (requests wait).",
      (s) => (s.reloading ? 1 : 0),
    );
    gauge("smolvlm_uptime_seconds", "Seconds since the server started.", (s) => s.uptimeSeconds);
    gauge(
      "smolvlm_model_load_seconds",
      "Duration of the last successful model load.",
      (s) => s.modelLoadSeconds,
    );
    gauge("smolvlm_model_reloads", "Successful reloads since start.", (s) => s.reloads);
    new Gauge({
      name: "smolvlm_lifecycle_state",
      help: "1 for the service's current lifecycle state.",
      labelNames: ["state"],
      registers,
      collect() {
        const s = snap();
        for (const state of LIFECYCLE_STATES) this.set({ state }, s?.state === state ? 1 : 0);
      },
    });
    new Gauge({
      name: "smolvlm_slots",
      help: "Engine slots (parallel sequences) by state.",
      labelNames: ["state"],
      registers,
      collect() {
        const slots = snap()?.slots ?? [];
        for (const state of SLOT_STATES) {
          this.set({ state }, slots.filter((s) => s.state === state).length);
        }
      },
    });
    gauge(
      "smolvlm_kv_cache_tokens",
      "Positions the slots hold in the KV cache (idle slots keep theirs for prefix reuse).",
      (s) => (s.slots ?? []).reduce((n, slot) => n + slot.kvTokens, 0),
    );
    const cache = (s: GaugeSnapshot) => s.imageCache;
    gauge("smolvlm_image_cache_entries", "Image embeddings cached.", (s) => cache(s)?.entries ?? 0);
    gauge("smolvlm_image_cache_bytes", "Bytes the cache holds.", (s) => cache(s)?.bytes ?? 0);
    const hits = this.#cacheHits, misses = this.#cacheMisses;
    new Counter({
      name: "smolvlm_image_cache_hits_total",
      help: "Image tiles whose embeddings came from the image-embedding cache.",
      registers,
      collect() {
        this.reset();
        this.inc(hits.update(cache(snap() ?? ({} as GaugeSnapshot))?.hits ?? 0));
      },
    });
    new Counter({
      name: "smolvlm_image_cache_misses_total",
      help: "Image tiles that ran the vision encoder.",
      registers,
      collect() {
        this.reset();
        this.inc(misses.update(cache(snap() ?? ({} as GaugeSnapshot))?.misses ?? 0));
      },
    });
    new Gauge({
      name: "smolvlm_process_memory_bytes",
      help: "Process memory (Deno.memoryUsage): rss, heap_used, heap_total, external.",
      labelNames: ["kind"],
      registers,
      collect() {
        const m = Deno.memoryUsage();
        this.set({ kind: "rss" }, m.rss);
        this.set({ kind: "heap_used" }, m.heapUsed);
        this.set({ kind: "heap_total" }, m.heapTotal);
        this.set({ kind: "external" }, m.external);
      },
    });
  }
}
