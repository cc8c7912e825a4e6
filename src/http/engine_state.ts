/**
 * Where the engine stands, as the HTTP layer sees it: loading in the background, ready, failed
 * (with a reason) or shutting down. The app reads it on every request; the server writes it.
 *
 * @module
 */
import type { Engine } from "../engine/mod.ts";

export type EngineState =
  | { readonly status: "loading"; readonly since: number }
  | { readonly status: "ready"; readonly engine: Engine; readonly loadMs: number }
  | { readonly status: "failed"; readonly reason: string }
  | { readonly status: "stopping"; readonly engine: Engine | null };

export class EngineHolder {
  #state: EngineState;

  constructor(initial?: EngineState) {
    this.#state = initial ?? { status: "loading", since: performance.now() };
  }

  /** A holder that is ready from the start (tests, benchmarks). */
  static ready(engine: Engine): EngineHolder {
    return new EngineHolder({ status: "ready", engine, loadMs: 0 });
  }

  get state(): EngineState {
    return this.#state;
  }

  /** The engine when it can take work, else null. */
  get engine(): Engine | null {
    return this.#state.status === "ready" ? this.#state.engine : null;
  }

  setReady(engine: Engine, loadMs: number): void {
    this.#state = { status: "ready", engine, loadMs };
  }

  setFailed(reason: string): void {
    this.#state = { status: "failed", reason };
  }

  setStopping(): Engine | null {
    const s = this.#state;
    const engine = s.status === "ready" ? s.engine : s.status === "stopping" ? s.engine : null;
    this.#state = { status: "stopping", engine };
    return engine;
  }
}
