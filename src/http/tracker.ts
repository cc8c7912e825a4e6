/**
 * Live chat requests, so shutdown can abort them, admission can count them and per-caller
 * concurrency can be capped.
 *
 * @module
 */

/** Why a request's generation was aborted. */
export type AbortReason = "timeout" | "disconnect" | "shutdown";

export class RequestTracker {
  readonly #active = new Map<string, { controller: AbortController; caller: string }>();

  get size(): number {
    return this.#active.size;
  }

  add(id: string, controller: AbortController, caller = ""): void {
    this.#active.set(id, { controller, caller });
  }

  delete(id: string): void {
    this.#active.delete(id);
  }

  /** Live requests of one caller. */
  countFor(caller: string): number {
    let n = 0;
    for (const r of this.#active.values()) if (r.caller === caller) n++;
    return n;
  }

  /** Aborts every live request's generation. */
  abortAll(reason: AbortReason): number {
    for (const r of this.#active.values()) r.controller.abort(reason);
    return this.#active.size;
  }
}
