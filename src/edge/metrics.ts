/**
 * `/metrics` in Prometheus text format: per-upstream counters, gauges and state, plus the
 * edge's image totals. Hand-written: prom-client's registry is global and its default
 * collectors read /proc, and a dozen lines of exposition need no library.
 *
 * @module
 */
import type { EdgeImageStats } from "./images.ts";
import type { UpstreamPool } from "./upstreams.ts";

export interface EdgeTotals {
  requests: number;
  rejected: number;
  unavailable: number;
  images: EdgeImageStats;
}

function label(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

export function renderMetrics(pool: UpstreamPool, totals: EdgeTotals): string {
  const lines: string[] = [];
  const family = (name: string, type: string, help: string, rows: [string, number][]) => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, v] of rows) lines.push(`${name}${labels} ${v}`);
  };
  const per = (f: (u: UpstreamPool["upstreams"][number]) => number): [string, number][] =>
    pool.upstreams.map((u) => [`{upstream="${label(u.url)}"}`, f(u)]);
  family(
    "edge_upstream_requests_total",
    "counter",
    "Attempts sent to the upstream.",
    per((u) => u.counters.requests),
  );
  family(
    "edge_upstream_successes_total",
    "counter",
    "Attempts relayed to the end.",
    per((u) => u.counters.successes),
  );
  family(
    "edge_upstream_failures_total",
    "counter",
    "Connection errors, 5xx and broken streams.",
    per((u) => u.counters.failures),
  );
  family(
    "edge_upstream_retried_away_total",
    "counter",
    "Requests moved to another upstream before streaming.",
    per((u) => u.counters.retriedAway),
  );
  family(
    "edge_upstream_health_checks_total",
    "counter",
    "Active health checks.",
    per((u) => u.counters.healthChecks),
  );
  family(
    "edge_upstream_health_failures_total",
    "counter",
    "Failed health checks.",
    per((u) => u.counters.healthFailures),
  );
  family("edge_upstream_outstanding", "gauge", "Requests in flight.", per((u) => u.outstanding));
  family(
    "edge_upstream_up",
    "gauge",
    "1 when the last health check passed and the breaker is not open.",
    per((u) => (u.status === "up" ? 1 : 0)),
  );
  family(
    "edge_upstream_breaker_opens_total",
    "counter",
    "Times the circuit breaker opened.",
    per((u) => u.breaker.opens),
  );
  const sessions = pool.sessionCounts();
  family(
    "edge_upstream_sessions",
    "gauge",
    "Sessions pinned to the upstream.",
    per((u) => sessions[u.url] ?? 0),
  );
  family("edge_requests_total", "counter", "Chat requests received.", [["", totals.requests]]);
  family("edge_requests_rejected_total", "counter", "Chat requests refused at the edge (4xx).", [[
    "",
    totals.rejected,
  ]]);
  family("edge_requests_unavailable_total", "counter", "Chat requests no upstream could take.", [[
    "",
    totals.unavailable,
  ]]);
  family("edge_images_total", "counter", "data: images seen.", [["", totals.images.images]]);
  family("edge_image_bytes_in_total", "counter", "Image bytes received from clients.", [[
    "",
    totals.images.bytesIn,
  ]]);
  family("edge_image_bytes_out_total", "counter", "Image bytes sent upstream.", [[
    "",
    totals.images.bytesOut,
  ]]);
  return lines.join("\n") + "\n";
}
