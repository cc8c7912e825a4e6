/**
 * The engine worker's entry: owns every native object and runs the step loop with synchronous
 * FFI calls on this one thread. Speaks the protocol in ../protocol.ts.
 */
/// <reference lib="deno.worker" />
import { loadNativeLibraries } from "../../../ffi/library.ts";
import { EngineError, ModelLoadError, toWireError } from "../errors.ts";
import type { ResolvedEngineOptions } from "../options.ts";
import type { FromWorker, ToWorker } from "../protocol.ts";
import { NativeLog } from "./native_log.ts";
import { type NativeSession, type OnLoadPhase, openNativeSession } from "./native_session.ts";
import { StepLoop } from "./step_loop.ts";

const worker = self as unknown as DedicatedWorkerGlobalScope;

/** Sends now, after anything a step left pending (so messages keep their order). */
function post(message: FromWorker): void {
  flush();
  worker.postMessage(message);
}

/**
 * Step output (deltas, results, stats) is posted as one message when the step's synchronous
 * part ends: every message wakes the main thread, and on a small machine each wake-up takes a
 * core from ggml's threads mid-decode.
 */
let pending: FromWorker[] = [];
function postSoon(message: FromWorker): void {
  if (pending.length === 0) queueMicrotask(flush);
  if (message.type === "stats") pending = pending.filter((m) => m.type !== "stats"); // latest wins
  pending.push(message);
}
function flush(): void {
  const messages = pending;
  pending = [];
  if (messages.length === 1) worker.postMessage(messages[0]!);
  else if (messages.length > 1) worker.postMessage({ type: "batch", messages });
}

/** A macrotask turn without timer clamping: lets queued messages in between two steps. */
const channel = new MessageChannel();
let resumeStep: (() => void) | null = null;
channel.port2.onmessage = () => {
  const resume = resumeStep;
  resumeStep = null;
  resume?.();
};
function yieldToEvents(): Promise<void> {
  return new Promise((resolve) => {
    resumeStep = resolve;
    channel.port1.postMessage(0);
  });
}

/** Each step of a load, to the main thread as it ends (the engine logs it at debug level). */
const reportPhase: OnLoadPhase = (phase, ms) => post({ type: "load_phase", phase, ms });

let loop: StepLoop | null = null;
let loaded: { options: ResolvedEngineOptions; log: NativeLog } | null = null;

/** Reload: the same session opening as at load, swapped in once it works (see StepLoop). */
async function reload(graceMs: number): Promise<void> {
  const running = loop, current = loaded;
  if (!running || !current) {
    post({
      type: "reload_failed",
      error: toWireError(new ModelLoadError("model_load_failed", "no model is loaded")),
    });
    return;
  }
  try {
    await running.swapSession(async () => {
      current.log.clearLastError();
      return await openNativeSession(current.options, current.log, reportPhase);
    }, graceMs);
    post({ type: "reloaded", info: running.session.info });
  } catch (error) {
    post({
      type: "reload_failed",
      error: toWireError(
        error instanceof EngineError ? error : new ModelLoadError(
          "model_load_failed",
          `${error instanceof Error ? error.message : error}${current.log.reason()}`,
        ),
      ),
    });
  }
}

async function load(message: Extract<ToWorker, { type: "load" }>): Promise<void> {
  const log = new NativeLog(message.options.nativeLog);
  let session: NativeSession;
  try {
    const t0 = performance.now();
    await loadNativeLibraries();
    await log.install();
    reportPhase("native_libraries", performance.now() - t0);
    session = await openNativeSession(message.options, log, reportPhase);
  } catch (error) {
    await log.uninstall().catch(() => {});
    post({
      type: "load_failed",
      error: toWireError(
        error instanceof EngineError ? error : new ModelLoadError(
          "model_load_failed",
          `${error instanceof Error ? error.message : error}${log.reason()}`,
        ),
      ),
    });
    return;
  }
  const running = new StepLoop(session, log, {
    started: (id) => postSoon({ type: "started", id }),
    delta: (id, text) => postSoon({ type: "delta", id, text }),
    result: (id, result) => postSoon({ type: "result", id, result }),
    failed: (id, error) => postSoon({ type: "failed", id, error: toWireError(error) }),
    stats: (stats) => postSoon({ type: "stats", stats }),
  }, new Int32Array(message.mailbox));
  loop = running;
  loaded = { options: message.options, log };
  post({ type: "loaded", info: session.info });
  try {
    await running.run(yieldToEvents);
  } finally {
    running.session[Symbol.dispose]();
    await log.uninstall().catch(() => {});
    channel.port1.close();
    channel.port2.close();
    post({ type: "closed" });
  }
}

worker.onmessage = (event: MessageEvent<ToWorker>) => {
  const message = event.data;
  switch (message.type) {
    case "load":
      void load(message);
      break;
    case "generate":
      loop?.submit(message.request);
      break;
    case "stop":
      loop?.stop(message.id, message.reason);
      break;
    case "reload":
      void reload(message.graceMs);
      break;
    case "close":
      if (loop) loop.close();
      else post({ type: "closed" });
      break;
  }
};
