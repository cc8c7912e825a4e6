/**
 * The edge's exact Deno permission flags, derived from its configuration: network to the listen
 * address and to each upstream host, the two environment variables it reads, and read access to
 * the image pipeline's worker modules only. No FFI, no write, no run.
 *
 * Why any read at all: Deno 2.9.6 checks read permission for every local module a Worker loads
 * (the main module graph is exempt, worker graphs are not), and the image pipeline runs in
 * workers (src/image/isolated.ts, src/image/workers.ts). The grant is limited to the source
 * folder those workers load plus the npm packages they import; nothing the edge itself calls
 * reads a file (tests/edge/import_graph.test.ts).
 *
 * @module
 */
import { fileURLToPath } from "node:url";
import { EDGE_ENV, type EdgeConfig } from "./config.ts";

/**
 * What the image workers read (relative to the repository root): Deno checks read permission
 * for every local module a worker loads, and the pipeline's modules live in src/image. The
 * codecs' wasm comes through the module graph, so no package folder is readable.
 */
export const WORKER_READ_PATHS = ["src/image"] as const;

/** The repository root this module lives in. */
export function repoRoot(): string {
  return fileURLToPath(new URL("../../", import.meta.url)).replace(/\/$/, "");
}

function hostPort(url: string): string {
  const u = new URL(url);
  const port = u.port || (u.protocol === "https:" ? "443" : "80");
  return `${u.hostname}:${port}`;
}

/** `--allow-net` entries: the listen address (any port when 0) and every upstream's host:port. */
export function edgeNetHosts(config: Pick<EdgeConfig, "host" | "port" | "upstreams">): string[] {
  const listen = config.port === 0 ? config.host : `${config.host}:${config.port}`;
  return [...new Set([listen, ...config.upstreams.map(hostPort)])];
}

/** The full flag list for `deno run <flags> edge.ts <args>`. */
export function edgePermissionFlags(
  config: Pick<EdgeConfig, "host" | "port" | "upstreams" | "preprocess">,
  root = repoRoot(),
): string[] {
  const flags = [
    `--allow-net=${edgeNetHosts(config).join(",")}`,
    `--allow-env=${Object.values(EDGE_ENV).join(",")}`,
  ];
  if (config.preprocess) {
    flags.push(`--allow-read=${WORKER_READ_PATHS.map((p) => `${root}/${p}`).join(",")}`);
  }
  return flags;
}
