/**
 * Spawns the real server exactly as the `serve` task does (same permission flags, main.ts
 * serve) and waits for it to listen and, optionally, to become healthy.
 */
import { SERVE_PERMISSION_FLAGS } from "../../src/cli/serve_permissions.ts";
import { REPO } from "./helpers.ts";

/** The generated-models directory: the serve permission flags may read below it. */
export const REPO_ROOT_FIXTURES = `${REPO}/tests/fixtures/generated`;
export const TINY_DIR = `${REPO}/tests/fixtures/generated/tiny`;
export const M500_DIR = `${REPO}/tests/fixtures/generated/500m`;

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

function hasGguf(dir: string): boolean {
  try {
    return [...Deno.readDirSync(dir)].some((e) => e.name.endsWith(".gguf"));
  } catch {
    return false;
  }
}

/** Why the real-engine tests cannot run here, or null when they can. */
export function realEngineMissing(dir = TINY_DIR): string | null {
  if (!exists(`${REPO}/native/lib`)) return "native/lib is missing (run `deno task native`)";
  if (!hasGguf(dir)) return `${dir} has no models (run \`deno task fixtures\`)`;
  return null;
}

export function modelPair(dir: string): { model: string; mmproj: string } {
  const names = [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) => n.endsWith(".gguf"))
    .sort();
  const mmproj = names.find((n) => n.startsWith("mmproj"))!;
  const model = names.find((n) => !n.startsWith("mmproj"))!;
  return { model: `${dir}/${model}`, mmproj: `${dir}/${mmproj}` };
}

export interface SpawnedServer {
  readonly url: string;
  readonly process: Deno.ChildProcess;
  /** Everything the server printed so far (stdout and stderr). */
  output(): string;
  /** Sends a signal and waits for the exit code. */
  stop(signal?: Deno.Signal): Promise<Deno.CommandStatus>;
  readonly status: Promise<Deno.CommandStatus>;
}

/** Starts `main.ts serve <args>` under the serve task's permission flags. */
export async function spawnServer(
  args: string[],
  opts: { waitHealthy?: boolean; timeoutMs?: number } = {},
): Promise<SpawnedServer> {
  const missing = realEngineMissing();
  if (missing) throw new Error(`cannot start the real server: ${missing}`);
  const cmd = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      ...SERVE_PERMISSION_FLAGS,
      "main.ts",
      "serve",
      "--host",
      "127.0.0.1",
      "--port",
      "0",
      ...args,
    ],
    cwd: REPO,
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
    env: { NO_COLOR: "1" },
  });
  const process = cmd.spawn();
  let out = "";
  let resolveUrl!: (u: string) => void;
  const urlPromise = new Promise<string>((r) => (resolveUrl = r));
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    const dec = new TextDecoder();
    for await (const chunk of stream) {
      out += dec.decode(chunk, { stream: true });
      const m = /listening on (http:\/\/[\d.:\[\]a-z]+)/.exec(out);
      if (m) resolveUrl(m[1]!);
    }
  };
  const pumps = Promise.all([pump(process.stdout), pump(process.stderr)]);
  const status = process.status.then(async (s) => {
    await pumps.catch(() => {});
    return s;
  });
  const timeoutMs = opts.timeoutMs ?? 60_000;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const url = await Promise.race([
    urlPromise,
    status.then((s) => {
      throw new Error(`server exited (${s.code}) before listening:\n${out}`);
    }),
    new Promise<never>((_, rej) => {
      timer = setTimeout(
        () => rej(new Error(`server did not listen in ${timeoutMs} ms:\n${out}`)),
        timeoutMs,
      );
    }),
  ]).finally(() => clearTimeout(timer));
  const server: SpawnedServer = {
    url,
    process,
    output: () => out,
    status,
    async stop(signal: Deno.Signal = "SIGTERM") {
      try {
        process.kill(signal);
      } catch { /* already gone */ }
      return await status;
    },
  };
  if (opts.waitHealthy !== false) {
    const t0 = performance.now();
    for (;;) {
      const res = await fetch(`${url}/health`).catch(() => null);
      const body = res ? await res.json() : null;
      if (res?.status === 200) break;
      if (body?.status === "unhealthy") {
        await server.stop("SIGKILL");
        throw new Error(`server unhealthy: ${body.reason}\n${out}`);
      }
      if (performance.now() - t0 > timeoutMs) {
        await server.stop("SIGKILL");
        throw new Error(`server not healthy in ${timeoutMs} ms:\n${out}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return server;
}

/**
 * Sends a raw GET (no URL normalisation) and returns status and body. `host`: the Host header
 * to send instead of the URL's (null: none); `version`: the HTTP version (default 1.1).
 */
export async function rawGet(
  url: string,
  path: string,
  opts: { host?: string | null; version?: "1.0" | "1.1" } = {},
): Promise<{ status: number; text: string }> {
  const u = new URL(url);
  const host = opts.host === undefined ? u.host : opts.host;
  const conn = await Deno.connect({ hostname: u.hostname, port: Number(u.port) });
  try {
    await conn.write(
      new TextEncoder().encode(
        `GET ${path} HTTP/${opts.version ?? "1.1"}\r\n${host === null ? "" : `Host: ${host}\r\n`}` +
          "Connection: close\r\n\r\n",
      ),
    );
    let text = "";
    const buf = new Uint8Array(65536);
    const dec = new TextDecoder();
    for (;;) {
      const n = await conn.read(buf);
      if (n === null) break;
      text += dec.decode(buf.subarray(0, n), { stream: true });
    }
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(text)?.[1] ?? 0);
    return { status, text };
  } finally {
    try {
      conn.close();
    } catch { /* closed */ }
  }
}

/** A JSON schema that forces a long output (the grammar forbids ending early). */
export function longOutputFormat(chars: number): Record<string, unknown> {
  return {
    type: "json_schema",
    json_schema: { name: "long", schema: { type: "string", minLength: chars } },
  };
}
