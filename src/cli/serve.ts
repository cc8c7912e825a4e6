/**
 * `main.ts serve`: the OpenAI-compatible HTTP service (API + static frontend) in one process.
 * Users start it with `./run serve ...`, which grants the exact permissions the arguments need.
 *
 *   serve --model M.gguf --mmproj P.gguf [--host H] [--port N] [--config F.json] [flags]
 *   serve --demo            the tiny synthetic model (RANDOM weights) from `./run fixtures`
 *
 * Returns the exit code: 0 after a graceful shutdown, 1 on a startup error (a model that does
 * not load included: the process ends with llama.cpp's reason), 2 on bad usage.
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import { loadEngine } from "../engine/mod.ts";
import { ConfigError, type ServiceConfig } from "../config/service_config.ts";
import { closeSharedIsolatedPipeline } from "../image/isolated.ts";
import { closeSharedImagePool } from "../image/workers.ts";
import { createImageProcessor } from "../http/image_adapter.ts";
import { setupLogging } from "../http/logging.ts";
import { startServer } from "../http/server.ts";
import { ModelNotAvailableError } from "../models/resolve.ts";
import { decoderFromEnv } from "../video/mod.ts";
import { resolveServeConfig, SERVE_USAGE, UsageError } from "./serve_args.ts";

export { DEMO_DIR, findModelPair, resolveServeConfig, SERVE_USAGE } from "./serve_args.ts";

/**
 * llama.cpp's log lines reach the engine through a Deno.UnsafeCallback, which Deno allows only
 * with an unscoped --allow-ffi. Should the task ever be scoped (--allow-ffi=native/lib), leave
 * llama.cpp's own stderr logger in place instead ("verbose": no callback installed). With
 * --verbose every native line is printed; otherwise its warnings and errors.
 */
function nativeLogMode(verbose: boolean): "errors" | "verbose" {
  if (verbose) return "verbose";
  return Deno.permissions.querySync({ name: "ffi" }).state === "granted" ? "errors" : "verbose";
}

export async function runServe(args: string[]): Promise<number> {
  let config: ServiceConfig | "help";
  try {
    config = await resolveServeConfig(args);
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`serve: ${e.message}\n${SERVE_USAGE}`);
      return 2;
    }
    if (e instanceof ConfigError || e instanceof ModelNotAvailableError) {
      console.error(`serve: ${e.message}`);
      return 1;
    }
    throw e;
  }
  if (config === "help") {
    console.log(SERVE_USAGE);
    return 0;
  }
  const cfg = config;
  const logging = await setupLogging({ logDir: cfg.logDir || null, level: cfg.logLevel });
  const log = getLogger(["smolvlm", "serve"]);
  if (cfg.demo) {
    log.warn(
      "DEMO MODE: serving the tiny synthetic model with RANDOM weights; output is gibberish",
    );
  }
  if (logging.logFile) log.info("logging to {file}", { file: logging.logFile });
  if (!cfg.mmprojPath) {
    log.warn(
      "no --mmproj given: the server answers text only and refuses requests with images " +
        "(pass the model's vision projector GGUF with --mmproj to enable them)",
    );
  }

  if (decoderFromEnv()?.memoryCapped === false) {
    log.warn(
      "prlimit (util-linux) not found: ffmpeg decodes video_url clips WITHOUT the {mb} MB " +
        "memory cap (video.max_decoder_memory_mb); install util-linux or set PRLIMIT_PATH",
      { mb: cfg.video.maxDecoderMemoryMb },
    );
  }

  let images;
  try {
    images = createImageProcessor({
      defaults: cfg.imageProcessing,
    });
  } catch (e) {
    console.error(`serve: config image_processing: ${(e as Error).message}`);
    await logging.close();
    return 1;
  }

  let server;
  try {
    server = await startServer({
      config: cfg,
      images,
      loadEngine: () =>
        loadEngine({
          modelPath: cfg.modelPath!,
          mmprojPath: cfg.mmprojPath ?? undefined,
          contextSize: cfg.contextSize,
          maxImageSize: cfg.maxImageSize,
          threads: cfg.threads ?? undefined,
          gpuLayers: cfg.gpuLayers ?? undefined,
          maxQueue: cfg.maxQueue,
          parallel: cfg.parallel,
          defaultMaxTokens: cfg.defaultMaxTokens,
          nativeLog: nativeLogMode(cfg.verbose),
        }),
    });
  } catch (e) {
    const msg = e instanceof Deno.errors.AddrInUse
      ? `port ${cfg.port} on ${cfg.host} is already in use; pick another with --port`
      : e instanceof Deno.errors.NotCapable || e instanceof Deno.errors.PermissionDenied
      ? `no permission to listen on ${cfg.host}:${cfg.port}; start the server with \`./run serve --host ${cfg.host} --port ${cfg.port}\`, which grants exactly that address`
      : (e as Error).message;
    console.error(`serve: ${msg}`);
    await logging.close();
    return 1;
  }
  await server.engineLoaded;
  const state = server.holder.state;
  if (state.status !== "failed" && server.holder.engine?.info.facts?.chatTemplate === null) {
    log.warn(
      "the model's GGUF carries no tokenizer.chat_template: prompts use the hand-built SmolVLM " +
        "format (src/engine/model_facts.ts)",
    );
  }
  if (state.status === "failed") {
    // A server that cannot answer should not linger as "unhealthy": end with the reason (the
    // native library's own log line is printed just above it on stderr).
    console.error(`serve: the model failed to load: ${state.reason}`);
    await server.shutdown("model failed to load");
    closeSharedImagePool();
    closeSharedIsolatedPipeline();
    await logging.close();
    return 1;
  }
  await server.finished;
  // The image pipeline's worker threads would keep the process alive.
  closeSharedImagePool();
  closeSharedIsolatedPipeline();
  await logging.close();
  // Everything is closed; should anything native still hold the event loop, exit anyway.
  Deno.unrefTimer(setTimeout(() => Deno.exit(0), 2000));
  return 0;
}
