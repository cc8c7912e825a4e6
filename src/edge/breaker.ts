/**
 * A circuit breaker for one upstream: `failures` consecutive failures open it; while open it
 * refuses traffic for `cooldownMs`, then lets one trial request through (half-open); that
 * trial's success closes it, its failure opens it again.
 *
 * @module
 */
export type BreakerState = "closed" | "open" | "half_open";

export class CircuitBreaker {
  readonly #failures: number;
  readonly #cooldownMs: number;
  readonly #now: () => number;
  #consecutive = 0;
  #openedAt: number | null = null;
  #trialInFlight = false;
  #opens = 0;

  constructor(opts: { failures: number; cooldownMs: number; now?: () => number }) {
    this.#failures = opts.failures;
    this.#cooldownMs = opts.cooldownMs;
    this.#now = opts.now ?? (() => performance.now());
  }

  get state(): BreakerState {
    if (this.#openedAt === null) return "closed";
    return this.#now() - this.#openedAt >= this.#cooldownMs ? "half_open" : "open";
  }

  /** Milliseconds until an open breaker half-opens (0 when it is not open). */
  get cooldownLeftMs(): number {
    if (this.#openedAt === null) return 0;
    return Math.max(0, this.#cooldownMs - (this.#now() - this.#openedAt));
  }

  /** How many times it has opened. */
  get opens(): number {
    return this.#opens;
  }

  /** Whether a request may go now; in half-open state only one trial at a time. */
  allows(): boolean {
    const s = this.state;
    return s === "closed" || (s === "half_open" && !this.#trialInFlight);
  }

  /** Call when a request is sent (after allows()). */
  begin(): void {
    if (this.state === "half_open") this.#trialInFlight = true;
  }

  success(): void {
    this.#consecutive = 0;
    this.#openedAt = null;
    this.#trialInFlight = false;
  }

  /** A request that ended without a verdict (its client left first): the next may try. */
  release(): void {
    this.#trialInFlight = false;
  }

  failure(): void {
    this.#consecutive++;
    const wasTrial = this.#trialInFlight;
    this.#trialInFlight = false;
    if (wasTrial || this.#consecutive >= this.#failures) {
      if (this.#openedAt === null || wasTrial) this.#opens++;
      this.#openedAt = this.#now();
    }
  }
}
