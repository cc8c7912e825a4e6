/**
 * Server-side request forgery guard for remote images: a host may be fetched only when it is on
 * the operator's allow-list and every address it resolves to is public (no loopback, private,
 * link-local, unique-local or carrier-grade NAT address). Checked for the first URL and again
 * for every redirect, after DNS resolution, so an allow-listed name that points inside the
 * network (DNS rebinding, a stale record) is refused.
 *
 * @module
 */

/** Resolves a name to its A/AAAA addresses (Deno.resolveDns by default; tests inject one). */
export type Resolver = (host: string, type: "A" | "AAAA") => Promise<string[]>;

export const systemResolver: Resolver = (host, type) => Deno.resolveDns(host, type);

const PRIVATE_V4: readonly RegExp[] = [
  /^0\./,
  /^10\./,
  /^127\./,
  /^169\.254\./,
  /^172\.(1[6-9]|2\d|3[01])\./,
  /^192\.168\./,
  /^192\.0\.0\./,
  /^100\.(6[4-9]|[7-9]\d|1[01]\d|12[0-7])\./,
  /^198\.1[89]\./,
  /^(22[4-9]|2[3-5]\d)\./, // multicast and reserved
];

/** True for loopback, private, link-local, unique-local and reserved IP literals (and localhost). */
export function isPrivateAddress(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, "");
  if (h === "localhost" || h.endsWith(".localhost")) return true;
  if (/^\d+\.\d+\.\d+\.\d+$/.test(h)) return PRIVATE_V4.some((re) => re.test(h));
  if (h.includes(":")) {
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(h);
    if (mapped) return isPrivateAddress(mapped[1]!);
    return h === "::1" || h === "::" || /^f[cd]/.test(h) || /^fe[89ab]/.test(h) ||
      h.startsWith("::ffff:") || h.startsWith("64:ff9b:") || /^ff/.test(h);
  }
  return false;
}

export class RemoteHostRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RemoteHostRefused";
  }
}

/**
 * Throws RemoteHostRefused unless `hostname` resolves only to public addresses. An IP literal is
 * judged as it is; a name is resolved (A and AAAA) and every answer must be public.
 */
export async function assertPublicHost(
  hostname: string,
  resolve: Resolver = systemResolver,
): Promise<void> {
  const h = hostname.toLowerCase().replace(/^\[|\]$/g, "");
  if (isPrivateAddress(h)) {
    throw new RemoteHostRefused(`${hostname} is a loopback, private or link-local address`);
  }
  if (/^\d+\.\d+\.\d+\.\d+$/.test(h) || h.includes(":")) return;
  const answers: string[] = [];
  let denied: unknown = null;
  for (const type of ["A", "AAAA"] as const) {
    try {
      answers.push(...await resolve(h, type));
    } catch (e) {
      if (e instanceof Deno.errors.NotCapable || e instanceof Deno.errors.PermissionDenied) {
        denied = e;
      }
      // NotFound / no records of one type: the other type may still answer.
    }
  }
  if (answers.length === 0) {
    throw new RemoteHostRefused(
      denied
        ? `${hostname} could not be checked: the server may not query DNS (the operator must allow its nameserver)`
        : `${hostname} does not resolve`,
    );
  }
  const inside = answers.find((a) => isPrivateAddress(a));
  if (inside) {
    throw new RemoteHostRefused(`${hostname} resolves to ${inside}, an address inside the network`);
  }
}
