/**
 * Load task: N concurrent clients for a fixed time against a running server (loopback only).
 * Each client loops over small image requests, streamed and not; the tool counts every outcome
 * (a complete answer, a clear 429/503, anything else), polls /health for its latency, samples
 * the queue depth from /metrics and the server's RSS from /proc, and prints a JSON summary.
 *
 *   deno run --allow-net=127.0.0.1 --allow-read=/proc tools/load/main.ts \
 *     --url http://127.0.0.1:8000 --clients 200 --seconds 60 [--pid PID] [--key KEY]
 *
 * @module
 */
import { parseArgs } from "node:util";
import { encodePng } from "../../src/image/codecs.ts";

export interface LoadOptions {
  readonly url: string;
  readonly clients: number;
  readonly seconds: number;
  readonly pid?: number;
  readonly apiKey?: string;
  readonly maxTokens?: number;
}

export interface LoadSummary {
  readonly clients: number;
  readonly seconds: number;
  readonly requests: number;
  readonly completed: number;
  readonly rejected: Record<string, number>;
  /** Anything that is neither a complete answer nor a clear 429/503: must be 0. */
  readonly lost: number;
  readonly lostExamples: string[];
  readonly health: {
    samples: number;
    p50Ms: number;
    p99Ms: number;
    maxMs: number;
    failures: number;
  };
  readonly maxQueueDepth: number | null;
  readonly rssMiB: { start: number; peak: number; end: number } | null;
}

/** A 32x24 PNG, small enough that the engine, not the upload, is the load. */
async function smallImage(): Promise<string> {
  const data = new Uint8Array(32 * 24 * 3).map((_, i) => (i * 37) & 0xff);
  const png = await encodePng({ width: 32, height: 24, data });
  return `data:image/png;base64,${btoa(String.fromCharCode(...png))}`;
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

function rssMiB(pid: number): number | null {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(Deno.readTextFileSync(`/proc/${pid}/status`));
    return m ? Number(m[1]) / 1024 : null;
  } catch {
    return null;
  }
}

async function oneRequest(
  opts: LoadOptions,
  image: string,
  stream: boolean,
  i: number,
): Promise<string> {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (opts.apiKey) headers.authorization = `Bearer ${opts.apiKey}`;
  const res = await fetch(`${opts.url}/v1/chat/completions`, {
    method: "POST",
    headers,
    body: JSON.stringify({
      stream,
      max_tokens: opts.maxTokens ?? 8,
      temperature: 0,
      messages: [{
        role: "user",
        content: [
          { type: "text", text: `Request ${i}: what is in this picture?` },
          { type: "image_url", image_url: { url: image } },
        ],
      }],
    }),
  });
  const text = await res.text();
  if (res.status === 429 || res.status === 503) {
    if (!res.headers.get("retry-after")) return `${res.status} without Retry-After`;
    return String(res.status);
  }
  if (res.status !== 200) return `status ${res.status}: ${text.slice(0, 120)}`;
  if (stream) {
    // Complete means the final chunk with a finish_reason and the [DONE] line.
    if (!text.trimEnd().endsWith("data: [DONE]")) return "stream without [DONE]";
    if (!/"finish_reason":"(stop|length)"/.test(text)) return "stream without finish_reason";
    return "ok";
  }
  const body = JSON.parse(text);
  return body?.choices?.[0]?.finish_reason ? "ok" : `no finish_reason: ${text.slice(0, 120)}`;
}

export async function runLoad(opts: LoadOptions): Promise<LoadSummary> {
  const image = await smallImage();
  const deadline = performance.now() + opts.seconds * 1000;
  const rejected: Record<string, number> = {};
  const lostExamples: string[] = [];
  let requests = 0, completed = 0, lost = 0;
  const healthMs: number[] = [];
  let healthFailures = 0;
  let maxQueue: number | null = null;
  // /proc is readable only under some permission sets; without it, RSS is reported as null.
  const rss0 = opts.pid ? rssMiB(opts.pid) : null;
  const rss = rss0 !== null ? { start: rss0, peak: rss0, end: 0 } : null;

  const client = async (c: number) => {
    for (let i = 0; performance.now() < deadline; i++) {
      requests++;
      let outcome: string;
      try {
        outcome = await oneRequest(opts, image, (c + i) % 2 === 0, c * 100000 + i);
      } catch (e) {
        outcome = `network error: ${(e as Error).message}`;
      }
      if (outcome === "ok") completed++;
      else if (outcome === "429" || outcome === "503") {
        rejected[outcome] = (rejected[outcome] ?? 0) + 1;
        await new Promise((r) => setTimeout(r, 200)); // a polite client honours Retry-After-ish
      } else {
        lost++;
        if (lostExamples.length < 5) lostExamples.push(outcome);
      }
    }
  };

  const monitor = async () => {
    while (performance.now() < deadline) {
      const t0 = performance.now();
      try {
        const res = await fetch(`${opts.url}/health`, { signal: AbortSignal.timeout(5000) });
        await res.body?.cancel();
        if (res.status !== 200) healthFailures++;
        healthMs.push(performance.now() - t0);
      } catch {
        healthFailures++;
      }
      try {
        const headers: Record<string, string> = {};
        if (opts.apiKey) headers.authorization = `Bearer ${opts.apiKey}`;
        const m = await (await fetch(`${opts.url}/metrics`, { headers })).text();
        const q = /^smolvlm_queue_depth\S*\s+(\d+(?:\.\d+)?)/m.exec(m);
        if (q) maxQueue = Math.max(maxQueue ?? 0, Number(q[1]));
      } catch { /* metrics are optional */ }
      if (rss && opts.pid) rss.peak = Math.max(rss.peak, rssMiB(opts.pid) ?? 0);
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  await Promise.all([...Array.from({ length: opts.clients }, (_, c) => client(c)), monitor()]);
  if (rss && opts.pid) rss.end = rssMiB(opts.pid) ?? 0;
  healthMs.sort((a, b) => a - b);
  return {
    clients: opts.clients,
    seconds: opts.seconds,
    requests,
    completed,
    rejected,
    lost,
    lostExamples,
    health: {
      samples: healthMs.length,
      p50Ms: Math.round(quantile(healthMs, 0.5) * 10) / 10,
      p99Ms: Math.round(quantile(healthMs, 0.99) * 10) / 10,
      maxMs: Math.round((healthMs.at(-1) ?? 0) * 10) / 10,
      failures: healthFailures,
    },
    maxQueueDepth: maxQueue,
    rssMiB: rss
      ? { start: Math.round(rss.start), peak: Math.round(rss.peak), end: Math.round(rss.end) }
      : null,
  };
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      url: { type: "string", default: "http://127.0.0.1:8000" },
      clients: { type: "string", default: "200" },
      seconds: { type: "string", default: "60" },
      pid: { type: "string" },
      key: { type: "string" },
    },
  });
  const url = new URL(values.url);
  if (!["127.0.0.1", "localhost", "[::1]"].includes(url.hostname)) {
    console.error("load: only loopback servers may be loaded (this tool is for your own machine)");
    Deno.exit(2);
  }
  const summary = await runLoad({
    url: values.url.replace(/\/$/, ""),
    clients: Number(values.clients),
    seconds: Number(values.seconds),
    pid: values.pid ? Number(values.pid) : undefined,
    apiKey: values.key,
  });
  console.log(JSON.stringify(summary, null, 2));
  Deno.exit(summary.lost === 0 && summary.health.failures === 0 ? 0 : 1);
}
