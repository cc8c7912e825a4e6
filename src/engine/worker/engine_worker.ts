/**
 * The engine worker's entry: owns every native object and runs the step loop with synchronous
 * FFI calls on this one thread. Speaks the protocol in ../protocol.ts.
 */
/// <reference lib="deno.worker" />
import { loadNativeLibraries } from "../../../ffi/library.ts";
import { EngineError, ModelLoadError, toWireError } from "../errors.ts";
import type { FromWorker, ToWorker } from "../protocol.ts";
import { NativeLog } from "./native_log.ts";
import { type NativeSession, openNativeSession } from "./native_session.ts";
import { StepLoop } from "./step_loop.ts";

const worker = self as unknown as DedicatedWorkerGlobalScope;

function post(message: FromWorker): void {
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
  if (messages.length === 1) post(messages[0]!);
  else if (messages.length > 1) post({ type: "batch", messages });
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

let loop: StepLoop | null = null;

async function load(message: Extract<ToWorker, { type: "load" }>): Promise<void> {
  const log = new NativeLog(message.options.nativeLog);
  let session: NativeSession;
  try {
    await loadNativeLibraries();
    await log.install();
    session = await openNativeSession(message.options, log);
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
  post({ type: "loaded", info: session.info });
  try {
    await running.run(yieldToEvents);
  } finally {
    session[Symbol.dispose]();
    await log.uninstall().catch(() => {});
    channel.port1.close();
    channel.port2.close();
    flush();
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
    case "close":
      if (loop) loop.close();
      else post({ type: "closed" });
      break;
  }
};
