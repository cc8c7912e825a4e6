/**
 * The periodic performance log line (the seed's "performance metrics logging" and "error rate
 * tracking"): every interval, one LogTape record with the interval's requests, errors, error
 * rate, generated tokens per second and p50/p95 request latency. Metrics feed the window; the
 * timer reads and resets it.
 *
 * @module
 */
import type { Logger } from "@logtape/logtape";

/** Latency samples kept per interval; beyond it, reservoir sampling keeps a fair subset. */
const MAX_SAMPLES = 10_000;

export interface PerfSummary {
  readonly seconds: number;
  readonly requests: number;
  /** Responses with status >= 500 (the server failed). */
  readonly errors: number;
  /** Responses with status 400-499 (refused: bad input, auth, limits, queue full). */
  readonly rejected: number;
  /** errors / requests, 0 without requests. */
  readonly errorRate: number;
  readonly generations: number;
  readonly completionTokens: number;
  /** Completion tokens per second of the interval (all generations together). */
  readonly tokensPerSecond: number;
  /** Request latency percentiles in ms; null without requests. */
  readonly p50Ms: number | null;
  readonly p95Ms: number | null;
}

function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1));
  return sorted[i]!;
}

const round2 = (n: number) => Math.round(n * 100) / 100;

/** One interval's counts and latency samples. */
export class PerfWindow {
  #since: number;
  #requests = 0;
  #errors = 0;
  #rejected = 0;
  #generations = 0;
  #tokens = 0;
  #samples: number[] = [];
  readonly #now: () => number;

  constructor(now: () => number = () => performance.now()) {
    this.#now = now;
    this.#since = now();
  }

  request(status: number, seconds: number): void {
    this.#requests++;
    if (status >= 500) this.#errors++;
    else if (status >= 400) this.#rejected++;
    const ms = seconds * 1000;
    if (this.#samples.length < MAX_SAMPLES) this.#samples.push(ms);
    else {
      const j = Math.floor(Math.random() * this.#requests);
      if (j < MAX_SAMPLES) this.#samples[j] = ms;
    }
  }

  generation(completionTokens: number): void {
    this.#generations++;
    this.#tokens += completionTokens;
  }

  /** The interval so far, then a fresh one. */
  take(): PerfSummary {
    const now = this.#now();
    const seconds = Math.max(1e-9, (now - this.#since) / 1000);
    const sorted = this.#samples.sort((a, b) => a - b);
    const p50 = percentile(sorted, 0.5), p95 = percentile(sorted, 0.95);
    const summary: PerfSummary = {
      seconds: round2(seconds),
      requests: this.#requests,
      errors: this.#errors,
      rejected: this.#rejected,
      errorRate: this.#requests > 0 ? round2(this.#errors / this.#requests) : 0,
      generations: this.#generations,
      completionTokens: this.#tokens,
      tokensPerSecond: round2(this.#tokens / seconds),
      p50Ms: p50 === null ? null : round2(p50),
      p95Ms: p95 === null ? null : round2(p95),
    };
    this.#since = now;
    this.#requests =
      this.#errors =
      this.#rejected =
      this.#generations =
      this.#tokens =
        0;
    this.#samples = [];
    return summary;
  }
}

/** Writes one line for the summary (info; warning when the server failed requests). */
export function logPerf(log: Logger, s: PerfSummary): void {
  const line = "perf {seconds}s: {requests} requests, {errors} errors " +
    "(rate {errorRate}), {rejected} rejected, {tokensPerSecond} tokens/s, " +
    "p50 {p50Ms} ms, p95 {p95Ms} ms";
  if (s.errors > 0) log.warn(line, { ...s });
  else log.info(line, { ...s });
}

/** Logs the window every `intervalMs` (0: never); returns the stop function. */
export function startPerfLog(window: PerfWindow, intervalMs: number, log: Logger): () => void {
  if (intervalMs <= 0) return () => {};
  const timer = setInterval(() => logPerf(log, window.take()), intervalMs);
  Deno.unrefTimer(timer);
  return () => clearInterval(timer);
}
