/**
 * What every route and middleware of the app shares: the Hono env (per-request variables), the
 * injected dependencies, and those dependencies with their defaults filled in.
 *
 * @module
 */
import { getLogger, type Logger } from "@logtape/logtape";
import type { RequestIdVariables } from "hono/request-id";
import { acceptedModelIds, type ServiceConfig } from "../config/service_config.ts";
import type { EngineHolder, ReloadOutcome } from "./engine_state.ts";
import type { ImageProcessor } from "./images.ts";
import { Metrics } from "./metrics.ts";
import { RequestTracker } from "./tracker.ts";
import { decoderFromEnv, type VideoService } from "../video/mod.ts";

/** Per-request variables. */
export type AppEnv = {
  Variables: RequestIdVariables & {
    /** True once a route wrote its own access-log line (chat does). */
    logged: boolean;
    /** Who is calling, for per-key limits: `key#N` when authenticated, else the address. */
    caller: string;
  };
};

export interface Clock {
  /** Wall clock, ms since the epoch (timestamps). */
  now(): number;
  /** Monotonic ms (durations). */
  perf(): number;
}

export const systemClock: Clock = { now: () => Date.now(), perf: () => performance.now() };

export interface BuildInfo {
  readonly version: string;
}

export interface AppDeps {
  readonly engine: EngineHolder;
  readonly config: ServiceConfig;
  readonly images: ImageProcessor;
  /** Video decoding; default: ffmpeg when the launcher handed one over (FFMPEG_PATH). */
  readonly video?: VideoService;
  readonly logger?: Logger;
  readonly clock?: Clock;
  readonly metrics?: Metrics;
  readonly tracker?: RequestTracker;
  readonly build?: BuildInfo;
  /** Reloads the model (POST /admin/reload); absent: the endpoint answers 501. */
  readonly reload?: () => Promise<ReloadOutcome>;
}

/** The dependencies with defaults filled in, plus what is fixed at startup. */
export interface AppContext {
  readonly holder: EngineHolder;
  readonly config: ServiceConfig;
  readonly images: ImageProcessor;
  readonly video: VideoService;
  readonly log: Logger;
  readonly clock: Clock;
  readonly metrics: Metrics;
  readonly tracker: RequestTracker;
  readonly build: BuildInfo;
  readonly reload: (() => Promise<ReloadOutcome>) | null;
  readonly modelIds: ReadonlySet<string>;
  readonly startedAt: number;
  readonly startedPerf: number;
}

export function appContext(deps: AppDeps): AppContext {
  const clock = deps.clock ?? systemClock;
  return {
    holder: deps.engine,
    config: deps.config,
    images: deps.images,
    video: deps.video ?? { decoder: decoderFromEnv(), config: deps.config.video },
    log: deps.logger ?? getLogger(["smolvlm", "http"]),
    clock,
    metrics: deps.metrics ?? new Metrics(),
    tracker: deps.tracker ?? new RequestTracker(),
    build: deps.build ?? { version: "dev" },
    reload: deps.reload ?? null,
    modelIds: acceptedModelIds(deps.config),
    startedAt: clock.now(),
    startedPerf: clock.perf(),
  };
}

export function round2(n: number): number {
  return Math.round(n * 100) / 100;
}
