/**
 * Active health checks: every upstream's `GET /health` on a fixed period, under a timeout. A
 * 200 marks it up (and closes its breaker), anything else marks it down. llama-server, vLLM and
 * this service all answer `/health` with 200 once the model is loaded.
 *
 * @module
 */
import type { Upstream, UpstreamPool } from "./upstreams.ts";

export interface HealthCheckOptions {
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly headers: HeadersInit;
}

export async function checkUpstream(
  upstream: Upstream,
  opts: Pick<HealthCheckOptions, "timeoutMs" | "headers">,
): Promise<boolean> {
  const t0 = performance.now();
  upstream.counters.healthChecks++;
  let ok = false;
  let error: string | undefined;
  try {
    const res = await fetch(`${upstream.url}/health`, {
      headers: opts.headers,
      signal: AbortSignal.timeout(opts.timeoutMs),
    });
    await res.body?.cancel();
    ok = res.status === 200;
    if (!ok) error = `HTTP ${res.status}`;
  } catch (e) {
    error = e instanceof Error ? e.message : String(e);
  }
  const ms = Math.round((performance.now() - t0) * 10) / 10;
  upstream.lastCheck = { at: new Date().toISOString(), ok, ms, ...(error ? { error } : {}) };
  if (!ok) upstream.counters.healthFailures++;
  const wasDown = upstream.healthy !== true;
  upstream.healthy = ok;
  // A recovered upstream starts with a clean breaker rather than waiting out its cooldown.
  if (ok && wasDown) upstream.breaker.success();
  return ok;
}

/** Checks every upstream now and then every `intervalMs`, until the returned handle is disposed. */
export function startHealthChecks(pool: UpstreamPool, opts: HealthCheckOptions): {
  readonly firstRound: Promise<void>;
  [Symbol.dispose](): void;
} {
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const round = async () => {
    await Promise.all(pool.upstreams.map((u) => checkUpstream(u, opts)));
  };
  const loop = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      round().finally(loop);
    }, opts.intervalMs);
  };
  const firstRound = round().finally(loop);
  return {
    firstRound,
    [Symbol.dispose]() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
