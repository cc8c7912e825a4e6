/**
 * In-process metrics rendered in the Prometheus text exposition format (version 0.0.4).
 *
 * @module
 */

const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

class Histogram {
  readonly counts: number[];
  sum = 0;
  count = 0;
  constructor(readonly buckets: readonly number[]) {
    this.counts = buckets.map(() => 0);
  }
  observe(v: number): void {
    this.sum += v;
    this.count++;
    for (let i = 0; i < this.buckets.length; i++) {
      if (v <= this.buckets[i]!) this.counts[i]!++;
    }
  }
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

function labels(l: Readonly<Record<string, string>>): string {
  const parts = Object.entries(l).map(([k, v]) => `${k}="${escapeLabel(v)}"`);
  return parts.length ? `{${parts.join(",")}}` : "";
}

function fmt(n: number): string {
  if (Number.isInteger(n)) return String(n);
  return Number.isFinite(n) ? String(Math.round(n * 1e6) / 1e6) : "NaN";
}

export interface GaugeSnapshot {
  readonly queueDepth: number;
  readonly running: number;
  readonly inFlight: number;
  readonly ready: boolean;
  readonly uptimeSeconds: number;
}

export class Metrics {
  private readonly requests = new Map<string, { labels: Record<string, string>; n: number }>();
  private readonly durations = new Map<string, { labels: Record<string, string>; h: Histogram }>();
  private readonly generation = new Histogram(DURATION_BUCKETS);
  private readonly ttft = new Histogram(DURATION_BUCKETS);
  private readonly queueWait = new Histogram(DURATION_BUCKETS);
  promptTokens = 0;
  completionTokens = 0;
  imageTokens = 0;
  images = 0;
  private readonly finish = new Map<string, number>();

  /** One finished HTTP request. `route` is the route pattern, never the raw path. */
  recordRequest(method: string, route: string, status: number, seconds: number): void {
    const l = { method, route, status: String(status) };
    const key = `${method} ${route} ${status}`;
    const r = this.requests.get(key);
    if (r) r.n++;
    else this.requests.set(key, { labels: l, n: 1 });
    const dkey = `${method} ${route}`;
    let d = this.durations.get(dkey);
    if (!d) {
      d = { labels: { method, route }, h: new Histogram(DURATION_BUCKETS) };
      this.durations.set(dkey, d);
    }
    d.h.observe(seconds);
  }

  recordGeneration(g: {
    promptTokens: number;
    completionTokens: number;
    imageTokens: number;
    images: number;
    seconds: number;
    queueSeconds: number;
    ttftSeconds: number | null;
    finishReason: string;
  }): void {
    this.promptTokens += g.promptTokens;
    this.completionTokens += g.completionTokens;
    this.imageTokens += g.imageTokens;
    this.images += g.images;
    this.generation.observe(g.seconds);
    this.queueWait.observe(g.queueSeconds);
    if (g.ttftSeconds !== null) this.ttft.observe(g.ttftSeconds);
    this.finish.set(g.finishReason, (this.finish.get(g.finishReason) ?? 0) + 1);
  }

  render(g: GaugeSnapshot): string {
    const out: string[] = [];
    const counter = (name: string, help: string, value: number) => {
      out.push(`# HELP ${name} ${help}`, `# TYPE ${name} counter`, `${name} ${fmt(value)}`);
    };
    const gauge = (name: string, help: string, value: number) => {
      out.push(`# HELP ${name} ${help}`, `# TYPE ${name} gauge`, `${name} ${fmt(value)}`);
    };
    const hist = (name: string, l: Record<string, string>, h: Histogram) => {
      h.buckets.forEach((b, i) => {
        out.push(`${name}_bucket${labels({ ...l, le: String(b) })} ${h.counts[i]}`);
      });
      out.push(`${name}_bucket${labels({ ...l, le: "+Inf" })} ${h.count}`);
      out.push(`${name}_sum${labels(l)} ${fmt(h.sum)}`);
      out.push(`${name}_count${labels(l)} ${h.count}`);
    };

    out.push(
      "# HELP smolvlm_http_requests_total HTTP requests by method, route and status.",
      "# TYPE smolvlm_http_requests_total counter",
    );
    for (const r of this.requests.values()) {
      out.push(`smolvlm_http_requests_total${labels(r.labels)} ${r.n}`);
    }
    out.push(
      "# HELP smolvlm_http_request_duration_seconds HTTP request latency (until the response body ends).",
      "# TYPE smolvlm_http_request_duration_seconds histogram",
    );
    for (const d of this.durations.values()) {
      hist("smolvlm_http_request_duration_seconds", d.labels, d.h);
    }
    out.push(
      "# HELP smolvlm_generation_duration_seconds Engine time per generation.",
      "# TYPE smolvlm_generation_duration_seconds histogram",
    );
    hist("smolvlm_generation_duration_seconds", {}, this.generation);
    out.push(
      "# HELP smolvlm_time_to_first_token_seconds Time from request to first streamed token.",
      "# TYPE smolvlm_time_to_first_token_seconds histogram",
    );
    hist("smolvlm_time_to_first_token_seconds", {}, this.ttft);
    out.push(
      "# HELP smolvlm_queue_wait_seconds Time generations waited in the engine queue.",
      "# TYPE smolvlm_queue_wait_seconds histogram",
    );
    hist("smolvlm_queue_wait_seconds", {}, this.queueWait);
    out.push(
      "# HELP smolvlm_generations_total Finished generations by finish reason.",
      "# TYPE smolvlm_generations_total counter",
    );
    for (const [reason, n] of this.finish) {
      out.push(`smolvlm_generations_total${labels({ finish_reason: reason })} ${n}`);
    }
    counter(
      "smolvlm_prompt_tokens_total",
      "Prompt tokens evaluated (images included).",
      this.promptTokens,
    );
    counter(
      "smolvlm_completion_tokens_total",
      "Completion tokens generated.",
      this.completionTokens,
    );
    counter("smolvlm_image_tokens_total", "Prompt tokens that came from images.", this.imageTokens);
    counter("smolvlm_images_total", "Images received in chat requests.", this.images);
    gauge("smolvlm_queue_depth", "Generations waiting in the engine queue.", g.queueDepth);
    gauge("smolvlm_running_generations", "Generations running now.", g.running);
    gauge("smolvlm_http_in_flight_requests", "Chat requests being served now.", g.inFlight);
    gauge("smolvlm_engine_ready", "1 when the model is loaded and serving.", g.ready ? 1 : 0);
    gauge("smolvlm_uptime_seconds", "Seconds since the server started.", g.uptimeSeconds);
    return out.join("\n") + "\n";
  }
}
