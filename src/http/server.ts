/**
 * The HTTP server around the app: binds first, loads the engine in the background (health says
 * "loading" meanwhile), reloads the model on SIGHUP (and POST /admin/reload; generations still
 * running after `reload_grace` seconds are stopped and answer 503 model_reloading), logs a
 * performance line every `monitoring.perf_log_interval` seconds, and shuts down gracefully on
 * SIGINT/SIGTERM ("draining"): stop accepting, let in-flight requests finish within the grace
 * period, then abort them, close the engine (frees native memory), "stopped", and resolve
 * `finished`. A second signal exits at once.
 *
 * @module
 */
import { getLogger, type Logger } from "@logtape/logtape";
import type { Engine } from "../engine/mod.ts";
// A pure formatter with no imports: the HTTP layer still loads nothing of the engine at run time.
import { describeBackends } from "../engine/placement.ts";
import { type ServiceConfig, withKeysFromFileAndEnv } from "../config/service_config.ts";
import { type BuildInfo, createApp, RequestTracker } from "./app.ts";
import { EngineHolder, type ReloadOutcome } from "./engine_state.ts";
import type { ImageProcessor } from "./images.ts";
import { Metrics } from "./metrics.ts";
import { startPerfLog } from "./perf_log.ts";

export interface StartServerOptions {
  readonly config: ServiceConfig;
  /** Loads the engine; called once, right after the server listens. */
  readonly loadEngine: () => Promise<Engine>;
  readonly images: ImageProcessor;
  readonly logger?: Logger;
  /** Install SIGINT/SIGTERM (shutdown) and SIGHUP (reload) handlers (default true). */
  readonly handleSignals?: boolean;
  readonly build?: BuildInfo;
}

export interface RunningServer {
  readonly hostname: string;
  readonly port: number;
  /** Base URL, e.g. `http://127.0.0.1:8000`. */
  readonly url: string;
  readonly holder: EngineHolder;
  /** Settles when the engine has loaded (or failed to). */
  readonly engineLoaded: Promise<void>;
  /** Reloads the model (as SIGHUP does); rejects with the reason when it cannot. */
  reload(): Promise<ReloadOutcome>;
  /** Graceful shutdown; idempotent. */
  shutdown(reason?: string): Promise<void>;
  /** Resolves when the server has stopped and the engine is closed. */
  readonly finished: Promise<void>;
}

function describeError(e: unknown): string {
  if (e instanceof Error) return e.message.split("\n")[0] ?? e.name;
  return String(e);
}

/** Starts the server; API keys from `auth.api_keys_file` and env are read first. */
export async function startServer(opts: StartServerOptions): Promise<RunningServer> {
  return start(opts, await withKeysFromFileAndEnv(opts.config));
}

function start(opts: StartServerOptions, config: ServiceConfig): RunningServer {
  const log = opts.logger ?? getLogger(["smolvlm", "server"]);
  const holder = new EngineHolder();
  const tracker = new RequestTracker();
  const metrics = new Metrics();
  const reload = async (trigger: string): Promise<ReloadOutcome> => {
    log.info("reloading the model ({trigger}); running generations get {grace} s to finish", {
      trigger,
      grace: config.reloadGraceMs / 1000,
    });
    try {
      const outcome = await holder.reload(opts.loadEngine, { graceMs: config.reloadGraceMs });
      log.info("model reloaded in {ms} ms", { ms: Math.round(outcome.loadMs) });
      return outcome;
    } catch (e) {
      log.error("reload failed: {reason}; {state}", {
        reason: describeError(e),
        state: holder.state.status === "ready"
          ? "the previous model keeps serving"
          : `the service is ${holder.state.status}`,
      });
      throw e;
    }
  };
  const app = createApp({
    reload: () => reload("POST /admin/reload"),
    engine: holder,
    config,
    images: opts.images,
    tracker,
    metrics,
    build: opts.build,
    logger: getLogger(["smolvlm", "http"]),
  });

  let listening!: { hostname: string; port: number };
  const server = Deno.serve({
    hostname: config.host,
    port: config.port,
    onListen: (addr) => {
      listening = { hostname: addr.hostname, port: addr.port };
    },
  }, (req, info) => app.fetch(req, info)); // info is the app's env: limits key on the peer address
  const displayHost = listening.hostname.includes(":")
    ? `[${listening.hostname}]`
    : listening.hostname;
  const url = `http://${displayHost}:${listening.port}`;
  log.info("listening on {url} (model {model_id}{demo})", {
    url,
    model_id: config.modelId,
    demo: config.demo ? ", DEMO: tiny synthetic model with random weights" : "",
  });

  let loadedEngine: Engine | null = null;
  const t0 = performance.now();
  const engineLoaded = (async () => {
    try {
      const engine = await opts.loadEngine();
      loadedEngine = engine;
      const ms = performance.now() - t0;
      if (holder.state.status !== "loading") return; // shutdown began while loading
      holder.setReady(engine, ms);
      log.info("model loaded in {ms} ms: {description} ({path})", {
        ms: Math.round(ms),
        description: engine.info.modelDescription,
        path: engine.info.modelPath,
      });
      if (engine.info.backends) {
        log.info("backends: {summary}", { summary: describeBackends(engine.info.backends) });
      }
    } catch (e) {
      const reason = describeError(e);
      if (holder.state.status === "loading") holder.setFailed(reason);
      log.error("model failed to load: {reason}", { reason, error: e });
    }
  })();

  const stopPerfLog = startPerfLog(
    metrics.window,
    config.perfLogIntervalMs,
    getLogger(["smolvlm", "perf"]),
  );

  let shuttingDown: Promise<void> | null = null;
  let resolveFinished!: () => void;
  const finished = new Promise<void>((r) => (resolveFinished = r));

  const shutdown = (reason = "shutdown requested"): Promise<void> => {
    if (shuttingDown) return shuttingDown;
    shuttingDown = (async () => {
      log.info("shutting down ({reason}); {n} request(s) in flight, grace {grace} ms", {
        reason,
        n: tracker.size,
        grace: config.shutdownGraceMs,
      });
      stopPerfLog();
      holder.setDraining();
      const drained = server.shutdown();
      let timer: ReturnType<typeof setTimeout> | undefined;
      const graceOver = new Promise<"grace">((r) => {
        timer = setTimeout(() => r("grace"), config.shutdownGraceMs);
      });
      const first = await Promise.race([drained.then(() => "drained" as const), graceOver]);
      if (first === "grace") {
        const n = tracker.abortAll("shutdown");
        log.warn("grace period over: aborted {n} request(s)", { n });
        await drained;
      }
      clearTimeout(timer);
      await engineLoaded;
      // The engine a reload put in place, else the one loaded at start.
      const s = holder.state;
      const engine = (s.status === "draining" ? s.engine : null) ?? loadedEngine;
      for (const e of new Set([engine, loadedEngine])) {
        if (!e) continue;
        try {
          await e.close();
        } catch (error) {
          log.error("closing the engine failed: {error}", { error });
        }
      }
      holder.setStopped();
      log.info("stopped");
      resolveFinished();
    })();
    return shuttingDown;
  };

  if (opts.handleSignals !== false) {
    let signals = 0;
    const onSignal = (sig: Deno.Signal) => () => {
      signals++;
      if (signals > 1) {
        console.error(`second ${sig}: exiting now`);
        Deno.exit(1);
      }
      void shutdown(sig);
    };
    for (const sig of ["SIGINT", "SIGTERM"] as const) {
      try {
        Deno.addSignalListener(sig, onSignal(sig));
      } catch {
        // Signals not supported here (e.g. SIGTERM on Windows).
      }
    }
    try {
      Deno.addSignalListener("SIGHUP", () => void reload("SIGHUP").catch(() => {}));
    } catch {
      // No SIGHUP here (Windows).
    }
  }

  return {
    hostname: listening.hostname,
    port: listening.port,
    url,
    holder,
    engineLoaded,
    reload: () => reload("RunningServer.reload"),
    shutdown,
    finished,
  };
}
