/**
 * The service's lifecycle as the HTTP layer sees it: loading → ready → draining → stopped, or
 * failed with its reason; and reloads of the model without a new process. The app reads the
 * state on every request (/health, /v1/info, /metrics, chat); the server and reloads write it.
 *
 * A reload of a ready engine goes through Engine.reload (same checks and native load path as
 * at start; running generations get the reload's grace period, then are stopped; requests
 * meanwhile wait in the engine's queue and run on the new model; a refused file leaves the
 * current model serving). A failed service (or an engine without reload) is
 * reloaded by a fresh load, the start's own path.
 *
 * @module
 */
import type { Engine, ReloadOptions } from "../engine/mod.ts";

export type EngineState =
  /** `engine` is the model still serving during a reload; null while nothing can serve. */
  | { readonly status: "loading"; readonly since: number; readonly engine: Engine | null }
  | { readonly status: "ready"; readonly engine: Engine; readonly loadMs: number }
  | { readonly status: "failed"; readonly reason: string }
  | { readonly status: "draining"; readonly engine: Engine | null }
  | { readonly status: "stopped" };

export type LifecycleStatus = EngineState["status"];

/** What a reload did. */
export interface ReloadOutcome {
  readonly status: "ready";
  readonly loadMs: number;
}

/** A reload that could not happen (shutting down, first load still running). */
export class ReloadRefusedError extends Error {}

function describeError(e: unknown): string {
  if (e instanceof Error) return e.message.split("\n")[0] ?? e.name;
  return String(e);
}

export class EngineHolder {
  #state: EngineState;
  #reload: Promise<ReloadOutcome> | null = null;
  #reloads = 0;
  #lastReloadError: { reason: string; at: number } | null = null;
  #lastLoadMs: number | null = null;

  constructor(initial?: EngineState) {
    this.#state = initial ?? { status: "loading", since: performance.now(), engine: null };
    if (this.#state.status === "ready") this.#lastLoadMs = this.#state.loadMs;
  }

  /** A holder that is ready from the start (tests, benchmarks). */
  static ready(engine: Engine): EngineHolder {
    return new EngineHolder({ status: "ready", engine, loadMs: 0 });
  }

  get state(): EngineState {
    return this.#state;
  }

  /** The engine that takes work now (ready, or the current model during a reload), else null. */
  get engine(): Engine | null {
    const s = this.#state;
    return s.status === "ready" || s.status === "loading" ? s.engine : null;
  }

  /** True while a reload is under way. */
  get reloading(): boolean {
    return this.#reload !== null;
  }

  get reloads(): number {
    return this.#reloads;
  }

  /** The last successful load's duration in ms (start or reload); null before the first. */
  get lastLoadMs(): number | null {
    return this.#lastLoadMs;
  }

  /** Why the last reload failed (the previous model kept serving), if it did. */
  get lastReloadError(): { reason: string; at: number } | null {
    return this.#lastReloadError;
  }

  setReady(engine: Engine, loadMs: number): void {
    this.#state = { status: "ready", engine, loadMs };
    this.#lastLoadMs = loadMs;
  }

  setFailed(reason: string): void {
    this.#state = { status: "failed", reason };
  }

  /** Shutdown began: no new work; returns the engine to close once in-flight requests end. */
  setDraining(): Engine | null {
    const s = this.#state;
    const engine = s.status === "ready" || s.status === "loading" || s.status === "draining"
      ? s.engine
      : null;
    this.#state = { status: "draining", engine };
    return engine;
  }

  setStopped(): void {
    this.#state = { status: "stopped" };
  }

  /**
   * Reloads the model; concurrent calls share one reload. `loadFresh` is the start's load path
   * (used when nothing serves or the engine cannot reload itself); `options.graceMs` bounds the
   * wait for running generations (Engine.reload). Rejects with the reason when
   * the new model cannot serve: the previous one keeps serving when there was one, else the
   * state is "failed" with the reason.
   */
  reload(loadFresh: () => Promise<Engine>, options: ReloadOptions = {}): Promise<ReloadOutcome> {
    this.#reload ??= this.#doReload(loadFresh, options).finally(() => (this.#reload = null));
    return this.#reload;
  }

  async #doReload(
    loadFresh: () => Promise<Engine>,
    options: ReloadOptions,
  ): Promise<ReloadOutcome> {
    const s = this.#state;
    if (s.status === "draining" || s.status === "stopped") {
      throw new ReloadRefusedError("the server is shutting down");
    }
    if (s.status === "loading") {
      throw new ReloadRefusedError("the model is still loading; retry when it is ready");
    }
    const t0 = performance.now();
    const current = s.status === "ready" ? s.engine : null;
    this.#state = { status: "loading", since: t0, engine: current };
    try {
      if (current?.reload) {
        await current.reload(options);
        this.#ready(current, performance.now() - t0);
      } else {
        if (current) await current.close();
        const engine = await loadFresh();
        if (this.#state.status !== "loading") {
          await engine.close(); // shutdown began while loading
          throw new ReloadRefusedError("the server is shutting down");
        }
        this.#ready(engine, performance.now() - t0);
      }
      this.#reloads++;
      this.#lastReloadError = null;
      return { status: "ready", loadMs: this.#lastLoadMs! };
    } catch (e) {
      const reason = describeError(e);
      this.#lastReloadError = { reason, at: Date.now() };
      if (this.#state.status === "loading") {
        if (current?.reload && s.status === "ready") this.#state = s; // the old model serves on
        else this.setFailed(reason);
      }
      throw e;
    }
  }

  #ready(engine: Engine, ms: number): void {
    if (this.#state.status === "loading") this.setReady(engine, ms);
    else this.#lastLoadMs = ms;
  }
}
