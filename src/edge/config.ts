/**
 * The edge front's configuration: its arguments (`--upstream URL[,URL…]`, listen address,
 * health-check and breaker timings) and the two environment variables it reads. Validated with
 * zod; a bad value is a UsageError naming the option.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { z } from "zod";
import { allowedHostEntry } from "../config/allowed_hosts.ts";

/** The only environment variables the edge reads (its `--allow-env` list). */
export const EDGE_ENV = {
  /** Bearer token sent to every upstream. */
  upstreamToken: "EDGE_UPSTREAM_TOKEN",
  /** When set, clients must send `Authorization: Bearer <it>` to /v1/*. */
  apiKey: "EDGE_API_KEY",
} as const;

export const EDGE_USAGE = `usage: edge.ts --upstream URL[,URL...] [--host H] [--port P]
  --upstream URL[,URL...]   OpenAI-compatible servers (this service, llama-server, vLLM); repeatable;
                            a trailing /v1 is dropped (the edge adds /v1/... itself)
  --host H                  listen address (default 127.0.0.1)
  --port P                  listen port (default 8080; 0 picks a free one)
  --allowed-host NAME       also answer requests whose Host is NAME (repeatable or comma-separated;
                            *.example.com: its subdomains; *: any). Without it only localhost, IP
                            addresses and the --host name are answered: 403 host_not_allowed to
                            anything else (DNS-rebinding protection)
  --health-interval-ms N    active health check period (default 2000)
  --health-timeout-ms N     one health check's limit (default 1500)
  --breaker-failures N      consecutive failures that open an upstream's breaker (default 3)
  --breaker-cooldown-ms N   how long an open breaker refuses traffic (default 5000)
  --session-ttl-ms N        how long an idle session stays pinned to its upstream (default 600000)
  --upstream-timeout-ms N   longest wait for an upstream's first byte, then between two chunks;
                            504 upstream_timeout, or an error event mid-stream (default 120000)
  --shutdown-grace-ms N     on SIGINT/SIGTERM, how long requests in flight may still finish
                            before the edge exits anyway (default 30000; a second signal: at once)
  --no-preprocess           forward images as sent (no pixel work at the edge)
env: ${EDGE_ENV.upstreamToken} (bearer token to upstreams), ${EDGE_ENV.apiKey} (clients' key)`;

export class UsageError extends Error {
  override name = "UsageError";
}

const upstreamUrl = z.string().transform((s, ctx) => {
  let u: URL;
  try {
    u = new URL(s);
  } catch {
    ctx.addIssue({ code: "custom", message: `'${s}' is not a URL` });
    return z.NEVER;
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") {
    ctx.addIssue({ code: "custom", message: `'${s}' must be http: or https:` });
    return z.NEVER;
  }
  // The base every path (/v1/..., /health) is appended to: no trailing slash, no query, and no
  // trailing /v1 (OpenAI clients' base-URL habit would otherwise give /v1/v1/... and /v1/health).
  return `${u.origin}${u.pathname.replace(/\/+$/, "").replace(/\/v1$/, "")}`;
});

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

const EdgeArgs = z.object({
  upstreams: z.array(upstreamUrl).min(1, "at least one --upstream is required")
    .refine((a) => new Set(a).size === a.length, "an upstream is listed twice"),
  host: z.string().min(1).default("127.0.0.1"),
  port: int(0, 65535).default(8080),
  /** Host names clients may address besides localhost, IP literals and `host`. */
  allowedHosts: z.array(allowedHostEntry).default([]),
  healthIntervalMs: int(50, 600_000).default(2000),
  healthTimeoutMs: int(50, 60_000).default(1500),
  breakerFailures: int(1, 1000).default(3),
  breakerCooldownMs: int(10, 600_000).default(5000),
  sessionTtlMs: int(1000, 86_400_000).default(600_000),
  upstreamTimeoutMs: int(100, 3_600_000).default(120_000),
  shutdownGraceMs: int(0, 3_600_000).default(30_000),
  preprocess: z.boolean().default(true),
});

export type EdgeConfig = z.infer<typeof EdgeArgs>;

/** Parses the edge's command line. Throws UsageError; returns "help" for --help. */
export function parseEdgeArgs(args: readonly string[]): EdgeConfig | "help" {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...args],
      options: {
        upstream: { type: "string", multiple: true },
        host: { type: "string" },
        port: { type: "string" },
        "allowed-host": { type: "string", multiple: true },
        "health-interval-ms": { type: "string" },
        "health-timeout-ms": { type: "string" },
        "breaker-failures": { type: "string" },
        "breaker-cooldown-ms": { type: "string" },
        "session-ttl-ms": { type: "string" },
        "upstream-timeout-ms": { type: "string" },
        "shutdown-grace-ms": { type: "string" },
        "no-preprocess": { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  if (values.help) return "help";
  const list = (flags: string[] | undefined) =>
    (flags ?? []).flatMap((s) => s.split(",")).map((s) => s.trim()).filter((s) => s !== "");
  const parsed = EdgeArgs.safeParse({
    upstreams: list(values.upstream),
    host: values.host,
    port: values.port,
    allowedHosts: list(values["allowed-host"]),
    healthIntervalMs: values["health-interval-ms"],
    healthTimeoutMs: values["health-timeout-ms"],
    breakerFailures: values["breaker-failures"],
    breakerCooldownMs: values["breaker-cooldown-ms"],
    sessionTtlMs: values["session-ttl-ms"],
    upstreamTimeoutMs: values["upstream-timeout-ms"],
    shutdownGraceMs: values["shutdown-grace-ms"],
    preprocess: values["no-preprocess"] ? false : undefined,
  });
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new UsageError(`${issue.path.join(".") || "arguments"}: ${issue.message}`);
  }
  return parsed.data;
}
