/**
 * Live chat requests, so shutdown can abort them, admission can count them and per-caller
 * concurrency can be capped.
 *
 * @module
 */

/** Why a request's generation was aborted. */
export type AbortReason = "timeout" | "disconnect" | "shutdown";

export class RequestTracker {
  // Keyed by each request's own controller: the request id may come from the client
  // (X-Request-Id), and two requests with the same id must not count as one.
  readonly #active = new Map<AbortController, { caller: string }>();

  get size(): number {
    return this.#active.size;
  }

  add(controller: AbortController, caller = ""): void {
    this.#active.set(controller, { caller });
  }

  delete(controller: AbortController): void {
    this.#active.delete(controller);
  }

  /** Live requests of one caller. */
  countFor(caller: string): number {
    let n = 0;
    for (const r of this.#active.values()) if (r.caller === caller) n++;
    return n;
  }

  /** Aborts every live request's generation. */
  abortAll(reason: AbortReason): number {
    for (const controller of this.#active.keys()) controller.abort(reason);
    return this.#active.size;
  }
}
