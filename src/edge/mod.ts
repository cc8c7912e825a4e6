/**
 * The edge front: a thin OpenAI-compatible router with image preprocessing, in front of GPU
 * backends (this service, llama-server, vLLM). No FFI, no file API (see permissions.ts).
 *
 * @module
 */
import { defaultImageConfig } from "../image/config.ts";
import { IsolatedImagePipeline } from "../image/isolated.ts";
import { edgeApp } from "./app.ts";
import { EDGE_ENV, type EdgeConfig } from "./config.ts";
import { startHealthChecks } from "./health.ts";
import { UpstreamPool } from "./upstreams.ts";

export { EDGE_USAGE, parseEdgeArgs, UsageError } from "./config.ts";
export type { EdgeConfig } from "./config.ts";

export interface RunningEdge {
  readonly url: string;
  readonly pool: UpstreamPool;
  /** Resolves once shutdown() is done: drained, or its grace period over. */
  readonly finished: Promise<void>;
  shutdown(): Promise<void>;
}

/** Starts the edge: health checks, the image workers, and the HTTP server. */
export function startEdge(config: EdgeConfig): RunningEdge {
  const token = Deno.env.get(EDGE_ENV.upstreamToken) || undefined;
  const apiKey = Deno.env.get(EDGE_ENV.apiKey) || undefined;
  const pool = new UpstreamPool(config.upstreams, config);
  const headers: HeadersInit = token ? { authorization: `Bearer ${token}` } : {};
  const health = startHealthChecks(pool, {
    intervalMs: config.healthIntervalMs,
    timeoutMs: config.healthTimeoutMs,
    headers,
  });
  const pipeline = config.preprocess ? new IsolatedImagePipeline() : null;
  pipeline?.start();
  const { app } = edgeApp({
    pool,
    pipeline,
    imageConfig: defaultImageConfig(),
    upstreamToken: token,
    apiKey,
    upstreamTimeoutMs: config.upstreamTimeoutMs,
    allowedHosts: [...config.allowedHosts, config.host],
  });
  let url = "";
  const server = Deno.serve({
    hostname: config.host,
    port: config.port,
    onListen: ({ hostname, port }) => {
      const host = hostname.includes(":") ? `[${hostname}]` : hostname;
      url = `http://${host}:${port}`;
      console.log(`edge listening on ${url} -> ${config.upstreams.join(", ")}`);
    },
  }, app.fetch);
  // The requests already inside finish first: they may still need the image workers, and
  // the health checks keep their routing right while they do. Past the grace period (a client
  // that stopped reading, a stream that never ends) the server stops holding the process.
  let stopping: Promise<void> | null = null;
  let stopped!: () => void;
  const finished = new Promise<void>((resolve) => stopped = resolve);
  const shutdown = () =>
    stopping ??= (async () => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const graceOver = new Promise<"grace">((resolve) => {
        timer = setTimeout(() => resolve("grace"), config.shutdownGraceMs);
      });
      const first = await Promise.race([
        server.shutdown().then(() => "drained" as const),
        graceOver,
      ]);
      clearTimeout(timer);
      if (first === "grace") {
        console.warn(`edge: shutdown grace of ${config.shutdownGraceMs} ms over: leaving the rest`);
        server.unref();
      }
      health[Symbol.dispose]();
      pipeline?.close();
      stopped();
    })();
  return {
    get url() {
      return url;
    },
    pool,
    finished,
    shutdown,
  };
}
