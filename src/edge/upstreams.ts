/**
 * The upstream pool: each upstream's health (from active checks), circuit breaker, outstanding
 * requests and counters; the choice of upstream for a request (least outstanding among the
 * healthy ones whose breaker allows traffic; a session stays on the upstream it started on
 * while that one is usable).
 *
 * @module
 */
import { type BreakerState, CircuitBreaker } from "./breaker.ts";

export interface UpstreamCounters {
  requests: number;
  /** Requests answered with a status below 500 and fully relayed. */
  successes: number;
  /** Connection errors, 5xx answers and streams that broke. */
  failures: number;
  /** Requests moved to another upstream after this one failed before streaming. */
  retriedAway: number;
  healthChecks: number;
  healthFailures: number;
}

export class Upstream {
  readonly url: string;
  readonly breaker: CircuitBreaker;
  outstanding = 0;
  /** null until the first health check has answered. */
  healthy: boolean | null = null;
  lastCheck: { at: string; ok: boolean; ms: number; error?: string } | null = null;
  readonly counters: UpstreamCounters = {
    requests: 0,
    successes: 0,
    failures: 0,
    retriedAway: 0,
    healthChecks: 0,
    healthFailures: 0,
  };

  constructor(url: string, breaker: CircuitBreaker) {
    this.url = url;
    this.breaker = breaker;
  }

  /** Usable for a new request: not known to be down, breaker allows it. */
  usable(): boolean {
    return this.healthy !== false && this.breaker.allows();
  }

  get status(): "up" | "down" | "unknown" {
    if (this.healthy === null) return "unknown";
    return this.healthy && this.breaker.state !== "open" ? "up" : "down";
  }

  snapshot(): {
    url: string;
    status: "up" | "down" | "unknown";
    breaker: BreakerState;
    outstanding: number;
    last_check: Upstream["lastCheck"];
    counters: UpstreamCounters;
  } {
    return {
      url: this.url,
      status: this.status,
      breaker: this.breaker.state,
      outstanding: this.outstanding,
      last_check: this.lastCheck,
      counters: { ...this.counters },
    };
  }
}

export interface PoolOptions {
  readonly breakerFailures: number;
  readonly breakerCooldownMs: number;
  readonly sessionTtlMs: number;
  /** The active health check's period: when a down upstream may next be seen up. */
  readonly healthIntervalMs: number;
  readonly now?: () => number;
}

export class UpstreamPool {
  readonly upstreams: readonly Upstream[];
  readonly #sessions = new Map<string, { upstream: Upstream; seen: number }>();
  readonly #ttlMs: number;
  readonly #now: () => number;
  readonly #healthIntervalMs: number;
  #rotate = 0;

  constructor(urls: readonly string[], opts: PoolOptions) {
    this.#now = opts.now ?? (() => performance.now());
    this.upstreams = urls.map((u) =>
      new Upstream(
        u,
        new CircuitBreaker({
          failures: opts.breakerFailures,
          cooldownMs: opts.breakerCooldownMs,
          now: this.#now,
        }),
      )
    );
    this.#ttlMs = opts.sessionTtlMs;
    this.#healthIntervalMs = opts.healthIntervalMs;
  }

  /**
   * Whole seconds (at least 1) until some upstream may take traffic again: the next health
   * check for one marked down, the rest of the cooldown for an open breaker. For the
   * `Retry-After` of a 503 when none is usable.
   */
  retryAfterSeconds(): number {
    const waits = this.upstreams.map((u) =>
      Math.max(u.healthy === false ? this.#healthIntervalMs : 0, u.breaker.cooldownLeftMs)
    );
    return Math.max(1, Math.ceil(Math.min(...waits) / 1000));
  }

  /**
   * The upstream for the next attempt, or null when none is usable. `session` keeps a
   * conversation on one upstream (its prompt cache) while that upstream is usable; `exclude`
   * holds the ones this request already failed on.
   */
  choose(session: string | null, exclude: ReadonlySet<Upstream> = new Set()): Upstream | null {
    const now = this.#now();
    this.#expireSessions(now);
    if (session !== null) {
      const pinned = this.#sessions.get(session);
      if (pinned && !exclude.has(pinned.upstream) && pinned.upstream.usable()) {
        pinned.seen = now;
        return pinned.upstream;
      }
    }
    const candidates = this.upstreams.filter((u) => !exclude.has(u) && u.usable());
    if (candidates.length === 0) return null;
    // Least outstanding; ties rotate so an idle pool still spreads requests.
    const least = Math.min(...candidates.map((u) => u.outstanding));
    const tied = candidates.filter((u) => u.outstanding === least);
    const chosen = tied[this.#rotate++ % tied.length]!;
    if (session !== null) this.#sessions.set(session, { upstream: chosen, seen: now });
    return chosen;
  }

  /** Sessions currently pinned, per upstream URL. */
  sessionCounts(): Record<string, number> {
    const out: Record<string, number> = Object.fromEntries(this.upstreams.map((u) => [u.url, 0]));
    for (const { upstream } of this.#sessions.values()) out[upstream.url]! += 1;
    return out;
  }

  #expireSessions(now: number): void {
    for (const [k, v] of this.#sessions) {
      if (now - v.seen > this.#ttlMs) this.#sessions.delete(k);
    }
  }
}
