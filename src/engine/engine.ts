/**
 * The engine as the rest of the service sees it: a main-thread handle over the engine worker,
 * which owns every native object and runs the step loop. This side admits requests (a bounded
 * queue answers QueueFullError at once), supersedes stale requests of a realtime session, turns
 * worker messages into Generations, and never touches FFI. Debug records (category
 * smolvlm.engine): each step of a model load with its time, and each superseded generation.
 */
import { getLogger } from "@logtape/logtape";
import { DeltaStream } from "./delta_stream.ts";
import {
  EngineClosedError,
  fromWireError,
  ModelLoadError,
  NativeCallError,
  QueueFullError,
} from "./errors.ts";
import { type EngineOptions, type ResolvedEngineOptions, resolveEngineOptions } from "./options.ts";
import type {
  FromWorker,
  LoadPhase,
  StopReason,
  ToWorker,
  WireContentPart,
  WireImage,
  WireMessage,
  WorkerStats,
} from "./protocol.ts";
import type {
  ChatMessage,
  Engine,
  EngineInfo,
  EngineStats,
  GenerateRequest,
  Generation,
  ReloadOptions,
  RgbImage,
} from "./types.ts";

const GGUF_MAGIC = 0x46554747; // "GGUF" little-endian

/** How long close() waits for the worker to free native memory before terminating it. */
const CLOSE_GRACE_MS = 30_000;

/** How long a reload lets running generations finish when its caller names no grace. */
const DEFAULT_RELOAD_GRACE_MS = 30_000;

/** Sessions whose latest arrival is remembered (client-chosen names: the map must stay bounded). */
const MAX_REMEMBERED_SESSIONS = 4096;

/** setTimeout's limit (a larger delay would fire at once). */
const MAX_TIMER_MS = 2 ** 31 - 1;

const log = getLogger(["smolvlm", "engine"]);

function logLoadPhase(phase: LoadPhase, ms: number): void {
  log.debug("model load: {phase} took {ms} ms", { phase, ms: Math.round(ms * 100) / 100 });
}

function logLoadStart(what: "loading" | "reloading", options: ResolvedEngineOptions): void {
  log.debug(
    "{what} {model_path} (projector {mmproj_path}): context {context_size}, {parallel} " +
      "slot(s), {threads} threads, GPU layers {gpu_layers}",
    () => ({
      what,
      model_path: options.modelPath,
      mmproj_path: options.mmprojPath ?? "none",
      context_size: options.contextSize,
      parallel: options.parallel,
      threads: options.threads,
      gpu_layers: options.gpuLayers ?? "auto",
    }),
  );
}

/** Checks the file before llama.cpp sees it, so the common mistakes get a precise message. */
async function checkGguf(path: string, what: "model" | "mmproj"): Promise<void> {
  const code = what === "model" ? "model_load_failed" : "mmproj_load_failed";
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true });
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new ModelLoadError(code, `${what} file not found: ${path}`);
    }
    if (error instanceof Deno.errors.NotCapable || error instanceof Deno.errors.PermissionDenied) {
      throw new ModelLoadError(code, `no read permission for the ${what} file ${path}`);
    }
    throw new ModelLoadError(code, `cannot open the ${what} file ${path}: ${error}`);
  }
  using _file = file;
  const header = new Uint8Array(4);
  const n = await file.read(header);
  if (n !== 4 || new DataView(header.buffer).getUint32(0, true) !== GGUF_MAGIC) {
    throw new ModelLoadError(code, `${path} is not a GGUF file`);
  }
}

/**
 * The checks every model load runs before llama.cpp sees the files, at start and on reload
 * (loadEngine and WorkerEngine.reload): a file refused here never reaches native code.
 */
async function checkModelFiles(options: ResolvedEngineOptions): Promise<void> {
  await checkGguf(options.modelPath, "model");
  if (options.mmprojPath) await checkGguf(options.mmprojPath, "mmproj");
}

/** Copies pixels into buffers the worker takes over (the caller keeps its own). */
function toWire(
  messages: readonly ChatMessage[],
  transfer: ArrayBuffer[],
): WireMessage[] {
  return messages.map((message) => {
    if (typeof message.content === "string") {
      return { role: message.role, content: message.content };
    }
    return {
      role: message.role,
      content: message.content.map((part): WireContentPart => {
        if (part.type === "text") return part;
        if (part.type === "video") {
          const frames = part.video.frames.map((f) => ({
            image: wireImage(f.image, transfer),
            timestamp: f.timestamp,
          }));
          return { type: "video", video: { frames, duration: part.video.duration } };
        }
        return {
          type: "image",
          image: wireImage(part.image, transfer),
          singleTile: part.singleTile === true,
        };
      }),
    };
  });
}

function wireImage(image: RgbImage, transfer: ArrayBuffer[]): WireImage {
  const data = new Uint8Array(image.data);
  transfer.push(data.buffer);
  return { width: image.width, height: image.height, data };
}

interface Live {
  readonly stream: DeltaStream;
  readonly cleanup: () => void;
}

class WorkerEngine implements Engine {
  #info: EngineInfo;
  readonly #options: ResolvedEngineOptions;
  #reloading: Promise<EngineInfo> | null = null;
  #reloaded: { resolve: (info: EngineInfo) => void; reject: (e: Error) => void } | null = null;
  readonly #worker: Worker;
  readonly #mailbox: Int32Array;
  readonly #maxQueue: number;
  readonly #live = new Map<string, Live>();
  /** Live generations told to stop, until the worker ends them. */
  readonly #stopping = new Set<string>();
  readonly #sessions = new Map<string, string>();
  /** Each recent session's latest arrival (GenerateRequest.arrivedAt), oldest session first. */
  readonly #sessionArrivals = new Map<string, number>();
  #workerStats: WorkerStats | null = null;
  #failedHere = 0;
  #nextId = 0;
  #closing: Promise<void> | null = null;
  #closed: (() => void) | null = null;
  /** Moving average of generation durations, for Retry-After hints. */
  #averageMs = 10_000;

  constructor(
    worker: Worker,
    mailbox: Int32Array,
    info: EngineInfo,
    options: ResolvedEngineOptions,
  ) {
    this.#worker = worker;
    this.#mailbox = mailbox;
    this.#info = info;
    this.#options = options;
    this.#maxQueue = options.maxQueue;
    worker.onmessage = (event: MessageEvent<FromWorker>) => this.#receive(event.data);
    worker.onerror = (event) => {
      event.preventDefault(); // a worker failure must not take the process down
      this.#crashed(event.message);
    };
    worker.onmessageerror = () => this.#crashed("a message from the engine worker was unreadable");
  }

  get info(): EngineInfo {
    return this.#info;
  }

  /**
   * Loads the model files again (they may have been replaced on disk) through the same checks
   * and the same native session opening as loadEngine. Running generations finish first, within
   * `graceMs`: those still running then are stopped and fail with ModelReloadingError. Requests
   * arriving meanwhile queue and run on the new model. When the files are refused, the current
   * model keeps serving and the error is thrown. Concurrent calls share one reload (the first
   * call's grace counts).
   */
  reload(options: ReloadOptions = {}): Promise<EngineInfo> {
    if (this.#closing) return Promise.reject(new EngineClosedError());
    const graceMs = options.graceMs ?? DEFAULT_RELOAD_GRACE_MS;
    if (!(graceMs >= 0 && graceMs <= MAX_TIMER_MS)) {
      return Promise.reject(
        new TypeError(`reload graceMs must be between 0 and ${MAX_TIMER_MS}, got ${graceMs}`),
      );
    }
    this.#reloading ??= (async () => {
      try {
        logLoadStart("reloading", this.#options);
        await checkModelFiles(this.#options);
        const info = await new Promise<EngineInfo>((resolve, reject) => {
          this.#reloaded = { resolve, reject };
          this.#post({ type: "reload", graceMs });
        });
        this.#info = info;
        return info;
      } finally {
        this.#reloaded = null;
        this.#reloading = null;
      }
    })();
    return this.#reloading;
  }

  generate(request: GenerateRequest): Generation {
    if (this.#closing) throw new EngineClosedError();
    // Within a session the later arrival wins: this request may itself be the stale one, even
    // when the newer one has already finished.
    let outdated = false;
    let stale: string | undefined;
    if (request.sessionId !== undefined) {
      const latest = this.#sessionArrivals.get(request.sessionId);
      outdated = request.arrivedAt !== undefined && latest !== undefined &&
        request.arrivedAt < latest;
      if (!outdated) stale = this.#sessions.get(request.sessionId);
    }
    // Capacity first: a refused request must not stop its session's older one on its way out.
    // Requests already told to stop free their place at the worker's next step, and so does the
    // stale request this one supersedes: a newer frame never waits behind its own stale one.
    // The discount is capped: during one long step (a tiled encode) stopped requests stay live,
    // and fast frames must not pile up in the worker's inbox without bound.
    const capacity = this.info.parallelSequences + this.#maxQueue;
    const replaced = stale !== undefined && !this.#stopping.has(stale) ? 1 : 0;
    const occupied = this.#live.size - Math.min(this.#stopping.size + replaced, capacity);
    if (occupied >= capacity) {
      throw new QueueFullError(this.#maxQueue, this.#retryAfterSeconds(occupied - this.#running()));
    }
    const id = `gen-${++this.#nextId}`;
    if (request.sessionId !== undefined && !outdated) {
      if (stale !== undefined) {
        log.debug("generation {superseded} superseded by {generation_id} (session {session})", {
          superseded: stale,
          generation_id: id,
          session: request.sessionId,
        });
        this.#stop(stale, "superseded");
      }
      if (request.arrivedAt !== undefined) {
        this.#rememberArrival(request.sessionId, request.arrivedAt);
      }
    }
    const stream = new DeltaStream(id);
    const onAbort = () => this.#stop(id, "abort");
    const cleanup = () => {
      request.signal?.removeEventListener("abort", onAbort);
      if (request.sessionId !== undefined && this.#sessions.get(request.sessionId) === id) {
        this.#sessions.delete(request.sessionId);
      }
    };
    this.#live.set(id, { stream, cleanup });
    if (request.sessionId !== undefined && !outdated) this.#sessions.set(request.sessionId, id);
    const transfer: ArrayBuffer[] = [];
    this.#post({
      type: "generate",
      request: {
        id,
        messages: toWire(request.messages, transfer),
        maxTokens: request.maxTokens,
        stop: request.stop,
        sampling: request.sampling,
        timeoutMs: request.timeoutMs,
      },
    }, transfer);
    // Ends at once while queued, or at the worker's next step if it was admitted meanwhile.
    if (outdated) {
      log.debug(
        "generation {generation_id} superseded on arrival: a later request of session " +
          "{session} reached the engine first",
        { generation_id: id, session: request.sessionId },
      );
      this.#stop(id, "superseded");
    }
    if (request.signal?.aborted) onAbort();
    else request.signal?.addEventListener("abort", onAbort, { once: true });
    return stream;
  }

  stats(): EngineStats {
    const running = this.#running();
    const w = this.#workerStats;
    return {
      running,
      queued: this.#live.size - running,
      maxQueue: this.#maxQueue,
      completed: w?.completed ?? 0,
      failed: (w?.failed ?? 0) + this.#failedHere,
      slots: w?.slots ?? [],
      imageCache: w?.imageCache,
      promptTokensEvaluated: w?.promptTokensEvaluated ?? 0,
      promptTokensReused: w?.promptTokensReused ?? 0,
      superseded: w?.superseded ?? 0,
    };
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      const closed = new Promise<void>((resolve) => this.#closed = resolve);
      this.#post({ type: "close" });
      let timer: ReturnType<typeof setTimeout> | undefined;
      const grace = new Promise<void>((resolve) => timer = setTimeout(resolve, CLOSE_GRACE_MS));
      await Promise.race([closed, grace]);
      clearTimeout(timer);
      this.#worker.terminate();
      this.#reloaded?.reject(new EngineClosedError());
      this.#failAll(() => new EngineClosedError());
    })();
    return this.#closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /**
   * Generations holding a slot: the worker fills free slots first-come first-served, so this
   * counts them at once rather than when the worker's "started" message arrives.
   */
  #running(): number {
    return Math.min(this.#live.size, this.info.parallelSequences);
  }

  #retryAfterSeconds(queued: number): number {
    const slots = Math.max(1, this.info.parallelSequences);
    return Math.max(1, Math.ceil((this.#averageMs * (1 + queued / slots)) / 1000));
  }

  #rememberArrival(sessionId: string, arrivedAt: number): void {
    this.#sessionArrivals.delete(sessionId); // re-inserted last: the map stays in use order
    this.#sessionArrivals.set(sessionId, arrivedAt);
    if (this.#sessionArrivals.size > MAX_REMEMBERED_SESSIONS) {
      const oldest = this.#sessionArrivals.keys().next().value;
      if (oldest !== undefined) this.#sessionArrivals.delete(oldest);
    }
  }

  #post(message: ToWorker, transfer: Transferable[] = []): void {
    this.#worker.postMessage(message, transfer);
  }

  #stop(id: string, reason: StopReason): void {
    if (!this.#live.has(id)) return;
    this.#stopping.add(id);
    this.#post({ type: "stop", id, reason });
    Atomics.add(this.#mailbox, 0, 1); // reaches a step already under way
  }

  #receive(message: FromWorker): void {
    switch (message.type) {
      case "started":
        break; // slot occupancy is counted from #live (see #running)
      case "delta":
        this.#live.get(message.id)?.stream.push(message.text);
        break;
      case "result": {
        const live = this.#end(message.id);
        if (!live) break;
        this.#averageMs = 0.8 * this.#averageMs + 0.2 * message.result.timings.totalMs;
        live.stream.finish(message.result);
        break;
      }
      case "failed":
        this.#end(message.id)?.stream.fail(fromWireError(message.error));
        break;
      case "stats":
        this.#workerStats = message.stats;
        break;
      case "closed":
        this.#closed?.();
        break;
      case "batch":
        for (const m of message.messages) this.#receive(m);
        break;
      case "reloaded":
        this.#reloaded?.resolve(message.info);
        break;
      case "reload_failed":
        this.#reloaded?.reject(fromWireError(message.error));
        break;
      case "load_phase":
        logLoadPhase(message.phase, message.ms); // a reload's steps
        break;
      case "loaded":
      case "load_failed":
        break; // handled by loadEngine before this handler is installed
    }
  }

  #end(id: string): Live | undefined {
    const live = this.#live.get(id);
    if (!live) return undefined;
    this.#live.delete(id);
    this.#stopping.delete(id);
    live.cleanup();
    return live;
  }

  #crashed(reason: string): void {
    this.#closing ??= Promise.resolve();
    this.#reloaded?.reject(new EngineClosedError());
    this.#worker.terminate();
    this.#failAll(() =>
      new NativeCallError("decode_failed", `the engine worker failed: ${reason}`)
    );
  }

  #failAll(error: () => Error): void {
    for (const id of [...this.#live.keys()]) {
      this.#failedHere++;
      this.#end(id)?.stream.fail(error());
    }
  }
}

/**
 * Starts the engine worker, which loads the text model (and the mmproj when given) and creates
 * the context. Throws ModelLoadError with a one-line reason when a file is missing or rejected
 * (llama.cpp's own last error line included).
 */
export async function loadEngine(options: EngineOptions): Promise<Engine> {
  const resolved = resolveEngineOptions(options);
  logLoadStart("loading", resolved);
  await checkModelFiles(resolved);
  const worker = new Worker(new URL("./worker/engine_worker.ts", import.meta.url), {
    type: "module",
    name: "smolvlm-engine",
  });
  const mailbox = new SharedArrayBuffer(4);
  const loaded = await new Promise<EngineInfo>((resolve, reject) => {
    worker.onmessage = (event: MessageEvent<FromWorker>) => {
      const message = event.data;
      if (message.type === "load_phase") logLoadPhase(message.phase, message.ms);
      if (message.type === "loaded") resolve(message.info);
      if (message.type === "load_failed") reject(fromWireError(message.error));
    };
    worker.onerror = (event) => {
      event.preventDefault();
      reject(new ModelLoadError("model_load_failed", `the engine worker failed: ${event.message}`));
    };
    worker.postMessage({ type: "load", options: resolved, mailbox } satisfies ToWorker);
  }).catch((error) => {
    worker.terminate();
    throw error;
  });
  return new WorkerEngine(worker, new Int32Array(mailbox), loaded, resolved);
}
