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
  readonly #active = new Map<
    AbortController,
    { caller: string; session: string | undefined; inEngine: boolean }
  >();

  get size(): number {
    return this.#active.size;
  }

  /** `session`: the caller-scoped realtime session the request belongs to, if any. */
  add(controller: AbortController, caller = "", session?: string): void {
    this.#active.set(controller, { caller, session, inEngine: false });
  }

  /** The request was handed to the engine. */
  enteredEngine(controller: AbortController): void {
    const r = this.#active.get(controller);
    if (r) r.inEngine = true;
  }

  /** Its generation ended (the answer may still be on its way to a slow reader). */
  leftEngine(controller: AbortController): void {
    const r = this.#active.get(controller);
    if (r) r.inEngine = false;
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

  /**
   * Live requests of a session whose generation the engine still runs or queues: a newer request
   * of the session supersedes them there (they end at its next step).
   */
  inEngineOfSession(session: string): number {
    let n = 0;
    for (const r of this.#active.values()) if (r.inEngine && r.session === session) n++;
    return n;
  }

  /** Aborts every live request's generation. */
  abortAll(reason: AbortReason): number {
    for (const controller of this.#active.keys()) controller.abort(reason);
    return this.#active.size;
  }
}
