/**
 * Starts the edge exactly as `deno task edge` does: the launcher's own run arguments
 * (tools/launch_edge.ts edgeRunArgs: exact permission flags, edge.ts, the arguments), and
 * waits for it to listen.
 */
import { edgeRunArgs } from "../../tools/launch_edge.ts";
import { REPO } from "../http/helpers.ts";

export interface SpawnedEdge {
  readonly url: string;
  readonly args: readonly string[];
  output(): string;
  stop(): Promise<Deno.CommandStatus>;
}

export async function spawnEdge(
  args: string[],
  env: Record<string, string> = {},
): Promise<SpawnedEdge> {
  const runArgs = edgeRunArgs(args);
  if (runArgs === "help") throw new Error("help");
  const process = new Deno.Command(Deno.execPath(), {
    args: runArgs,
    cwd: REPO,
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
    clearEnv: true,
    env: { NO_COLOR: "1", ...env },
  }).spawn();
  let out = "";
  let resolveUrl!: (u: string) => void;
  const urlPromise = new Promise<string>((r) => (resolveUrl = r));
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    const dec = new TextDecoder();
    for await (const chunk of stream) {
      out += dec.decode(chunk, { stream: true });
      const m = /edge listening on (http:\/\/[\d.:]+)/.exec(out);
      if (m) resolveUrl(m[1]!);
    }
  };
  const pumps = Promise.all([pump(process.stdout), pump(process.stderr)]);
  const status = process.status.then(async (s) => {
    await pumps.catch(() => {});
    return s;
  });
  let timer: ReturnType<typeof setTimeout> | undefined;
  const url = await Promise.race([
    urlPromise,
    status.then((s) => {
      throw new Error(`edge exited (${s.code}) before listening:\n${out}`);
    }),
    new Promise<never>((_, rej) => {
      timer = setTimeout(() => rej(new Error(`edge did not listen:\n${out}`)), 30_000);
    }),
  ]).finally(() => clearTimeout(timer));
  return {
    url,
    args: runArgs,
    output: () => out,
    async stop() {
      try {
        process.kill("SIGTERM");
      } catch { /* already gone */ }
      return await status;
    },
  };
}

/** A port that was free a moment ago (the upstream must be named before it starts). */
export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

export interface EdgeHealth {
  status: string;
  up: number;
  upstreams: { url: string; status: string; breaker: string; outstanding: number }[];
}

export async function edgeHealth(edge: string): Promise<EdgeHealth> {
  const res = await fetch(`${edge}/health`);
  return await res.json();
}

/** Polls the edge's /health until `pred` holds (or throws after `timeoutMs`). */
export async function waitForHealth(
  edge: string,
  pred: (h: EdgeHealth) => boolean,
  timeoutMs = 30_000,
): Promise<EdgeHealth> {
  const t0 = performance.now();
  for (;;) {
    const h = await edgeHealth(edge);
    if (pred(h)) return h;
    if (performance.now() - t0 > timeoutMs) {
      throw new Error(`edge health never matched: ${JSON.stringify(h)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Reads an SSE response to its end; `ok` when it ended with `data: [DONE]`. */
export async function readSse(res: Response): Promise<{ text: string; ok: boolean }> {
  let text = "";
  try {
    text = await res.text();
  } catch {
    return { text, ok: false };
  }
  return { text, ok: text.trimEnd().endsWith("data: [DONE]") };
}

/**
 * An upstream on loopback: `GET /health` answers 200, anything else `chat(req)`. Its base URL
 * is `url`; shut it down with `shutdown()`.
 */
export function fakeUpstream(
  chat: (req: Request) => Response | Promise<Response>,
): Deno.HttpServer<Deno.NetAddr> & { readonly url: string } {
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    (req) => new URL(req.url).pathname === "/health" ? new Response("ok") : chat(req),
  );
  return Object.assign(server, { url: `http://127.0.0.1:${server.addr.port}` });
}
