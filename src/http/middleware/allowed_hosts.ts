/**
 * DNS-rebinding protection: refuses a request whose Host names a host that is not allowed. A page
 * at evil.example whose name later resolves to 127.0.0.1 talks to a server on the visitor's
 * machine as its own origin: same-origin for the browser, so neither CORS nor the cross-site
 * guard stops it, and it reads every answer. Only the Host header still says evil.example, as
 * Jupyter, Vite and webpack-dev-server check.
 *
 * Allowed without configuration: `localhost` and `*.localhost` (a reserved name: browsers
 * resolve it to loopback themselves, and no attacker can register it), any IP literal (nothing
 * to rebind) and any port. Names the operator lists: exact, `*.example.com` for its subdomains, or
 * `*` for any Host. No Host header at all (HTTP/1.0, HTTP/2 with :authority) falls back on the
 * request URL's authority, which Deno fills in with `localhost` when there is none: browsers
 * always send a Host, so a request without one is no rebinding page's. A module with no project
 * imports, so the edge front guards the same way.
 *
 * @module
 */
import type { MiddlewareHandler } from "hono";

/** Host header: a bracketed IPv6 literal or a name/IPv4, then an optional port. */
const HOST_HEADER = /^(\[[0-9a-f:.]+\]|[^[\]:\s/@]*)(?::\d*)?$/i;
const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

function isIpLiteral(hostname: string): boolean {
  if (hostname.startsWith("[")) return true; // HOST_HEADER let only an IPv6 literal through
  const m = IPV4.exec(hostname);
  return m !== null && m.slice(1).every((octet) => Number(octet) <= 255);
}

/**
 * Whether a Host value (`name`, `name:port`, `[v6]:port`) may reach the server, given the
 * operator's list (lowercase, no trailing dot: src/config/allowed_hosts.ts).
 */
export function hostAllowed(host: string, allowed: readonly string[]): boolean {
  if (allowed.includes("*")) return true;
  const m = HOST_HEADER.exec(host.trim());
  if (!m) return false;
  const hostname = m[1]!.toLowerCase().replace(/\.$/, "");
  if (hostname === "") return false;
  if (isIpLiteral(hostname)) return true;
  if (hostname === "localhost" || hostname.endsWith(".localhost")) return true;
  return allowed.some((a) =>
    a.startsWith("*.")
      ? hostname.endsWith(a.slice(1)) && hostname.length > a.length - 1
      : hostname === a
  );
}

/**
 * Throws `refuse(host)` for a request whose Host is not allowed (hostAllowed). `allowed` holds the
 * operator's names and the bind address (a name there is one the operator chose).
 */
export function refuseUnknownHost(
  allowed: readonly string[],
  refuse: (host: string) => Error,
): MiddlewareHandler {
  const names = allowed.map((a) => a.toLowerCase().replace(/\.$/, ""));
  return async (c, next) => {
    const host = c.req.header("host") ?? new URL(c.req.url).host;
    if (hostAllowed(host, names)) return await next();
    throw refuse(host.length > 100 ? `${host.slice(0, 97)}...` : host);
  };
}
