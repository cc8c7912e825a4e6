/**
 * The image pipeline behind a wall: every image is validated, decoded and processed in a
 * worker, under a deadline. A worker that overruns it (a hostile file, a decoder bug) or whose
 * request is aborted is terminated and replaced; only that request fails, with a clear 4xx,
 * and the main thread never parses a byte of it.
 *
 * @module
 */
import type { RgbImage } from "./codecs.ts";
import type { ImageConfig } from "./config.ts";
import { ImageBusyError, ImageError, imageErrorFromWire, ImageTimeoutError } from "./errors.ts";
import { JsonBodyError, type JsonWithMedia } from "./json_media.ts";
import type { PreprocessReport, PreprocessResult, TilingRule } from "./pipeline.ts";
import type { PipelineMessage, WorkerJob } from "./pipeline_protocol.ts";

export interface IsolatedPipelineOptions {
  /** Worker count. Default: the core count, at most 4. */
  readonly workers?: number;
  /** Longest time one image may spend in a worker, in ms. Default 15000. */
  readonly deadlineMs?: number;
  /** Images that may wait for a free worker before new ones get 503. Default 64. */
  readonly maxQueue?: number;
}

export interface IsolatedProcessOptions {
  readonly signal?: AbortSignal;
  readonly output?: "rgb" | "jpeg";
  /**
   * Hand the bytes' buffer to the worker instead of copying it (the caller's array is detached
   * afterwards). Only when `bytes` spans its whole, non-shared buffer.
   */
  readonly transfer?: boolean;
  /** The model's tiling for the report's estimate; absent or null: `tiles: null`. */
  readonly tiling?: TilingRule | null;
  /** Tests only: the worker sleeps this long first, to exercise the deadline. */
  readonly testDelayMs?: number;
}

export interface IsolatedPipelineStats {
  readonly workers: number;
  readonly busy: number;
  readonly queued: number;
  readonly completed: number;
  readonly timeouts: number;
  readonly aborted: number;
  /** Workers started to replace terminated ones. */
  readonly replaced: number;
}

interface Job {
  readonly msg: WorkerJob;
  readonly transfer: ArrayBuffer[];
  readonly resolve: (r: PreprocessResult | JsonWithMedia) => void;
  readonly reject: (e: unknown) => void;
  readonly signal?: AbortSignal;
  onAbort?: () => void;
}

interface Slot {
  worker: Worker;
  ready: boolean;
  job: Job | null;
  timer: ReturnType<typeof setTimeout> | null;
}

const WORKER_URL = new URL("./pipeline_worker.ts", import.meta.url).href;

/** `bytes` when it spans its whole, non-shared buffer (which can then move), else a copy. */
function movable(bytes: Uint8Array): Uint8Array {
  const whole = bytes.buffer instanceof ArrayBuffer && bytes.byteOffset === 0 &&
    bytes.byteLength === bytes.buffer.byteLength;
  return whole ? bytes : bytes.slice();
}

export class IsolatedImagePipeline {
  readonly #size: number;
  readonly #deadlineMs: number;
  readonly #maxQueue: number;
  #slots: Slot[] = [];
  #queue: Job[] = [];
  #nextId = 1;
  #closed = false;
  #completed = 0;
  #timeouts = 0;
  #aborted = 0;
  #replaced = 0;

  constructor(opts: IsolatedPipelineOptions = {}) {
    const cores = navigator.hardwareConcurrency || 1;
    this.#size = Math.max(1, Math.floor(opts.workers ?? Math.min(4, cores)));
    this.#deadlineMs = opts.deadlineMs ?? 15_000;
    this.#maxQueue = opts.maxQueue ?? 64;
  }

  get deadlineMs(): number {
    return this.#deadlineMs;
  }

  stats(): IsolatedPipelineStats {
    return {
      workers: this.#slots.length,
      busy: this.#slots.filter((s) => s.job !== null).length,
      queued: this.#queue.length,
      completed: this.#completed,
      timeouts: this.#timeouts,
      aborted: this.#aborted,
      replaced: this.#replaced,
    };
  }

  /**
   * Starts the workers now rather than on the first image (a worker costs a few hundred ms to
   * start). Live workers keep the process running: close() when done.
   */
  start(): void {
    if (!this.#closed) this.#start();
  }

  /** Validates, decodes and preprocesses one image in a worker. Throws ImageError subclasses. */
  process(
    input: { bytes: Uint8Array; mime?: string },
    config: ImageConfig,
    opts: IsolatedProcessOptions = {},
  ): Promise<PreprocessResult> {
    const bytes = opts.transfer === true ? movable(input.bytes) : input.bytes.slice();
    return this.#enqueue<PreprocessResult>(
      {
        kind: "image",
        id: this.#nextId++,
        bytes,
        mime: input.mime,
        config,
        output: opts.output,
        tiling: opts.tiling,
        testDelayMs: opts.testDelayMs,
      },
      bytes,
      opts.signal,
    );
  }

  /**
   * Parses a JSON request body in a worker, its large inline media decoded to bytes
   * (json_media.ts), under the same deadline and abort rules as an image. The bytes' buffer
   * moves to the worker when it spans the whole buffer. Throws JsonBodyError for a body that is
   * not UTF-8 JSON.
   */
  parseJson(
    bytes: Uint8Array,
    opts: { nonce: string; minLength: number; signal?: AbortSignal },
  ): Promise<JsonWithMedia> {
    const own = movable(bytes);
    return this.#enqueue<JsonWithMedia>(
      {
        kind: "json",
        id: this.#nextId++,
        bytes: own,
        nonce: opts.nonce,
        minLength: opts.minLength,
      },
      own,
      opts.signal,
    );
  }

  #enqueue<T extends PreprocessResult | JsonWithMedia>(
    msg: WorkerJob,
    bytes: Uint8Array,
    signal: AbortSignal | undefined,
  ): Promise<T> {
    if (this.#closed) return Promise.reject(new Error("image pipeline is closed"));
    signal?.throwIfAborted();
    if (this.#queue.length >= this.#maxQueue) {
      return Promise.reject(
        new ImageBusyError(`${this.#queue.length} images are already waiting to be processed`),
      );
    }
    this.#start();
    return new Promise<T>((resolve, reject) => {
      const job: Job = {
        msg,
        transfer: [bytes.buffer as ArrayBuffer],
        resolve: resolve as (r: PreprocessResult | JsonWithMedia) => void,
        reject,
        signal,
      };
      if (signal) {
        job.onAbort = () => this.#abort(job);
        signal.addEventListener("abort", job.onAbort, { once: true });
      }
      this.#queue.push(job);
      this.#dispatch();
    });
  }

  /** Terminates every worker; pending and queued images are rejected. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const err = new Error("image pipeline is closed");
    for (const s of this.#slots) {
      if (s.timer !== null) clearTimeout(s.timer);
      s.worker.terminate();
      if (s.job) this.#settle(s.job, err);
    }
    for (const j of this.#queue) this.#settle(j, err);
    this.#slots = [];
    this.#queue = [];
  }

  [Symbol.dispose](): void {
    this.close();
  }

  #start(): void {
    while (this.#slots.length < this.#size) this.#slots.push(this.#spawn());
  }

  #spawn(): Slot {
    const slot: Slot = {
      worker: new Worker(WORKER_URL, { type: "module" }),
      ready: false,
      job: null,
      timer: null,
    };
    slot.worker.onmessage = (ev: MessageEvent<PipelineMessage>) => this.#onMessage(slot, ev.data);
    slot.worker.onerror = (ev) => {
      // An uncaught error inside the worker: fail its image and start a fresh worker.
      ev.preventDefault();
      this.#replace(
        slot,
        new ImageError("invalid_image", 400, `image worker failed: ${ev.message}`),
      );
    };
    return slot;
  }

  #onMessage(slot: Slot, msg: PipelineMessage): void {
    if ("ready" in msg) {
      slot.ready = true;
      this.#dispatch();
      return;
    }
    const job = slot.job;
    if (!job || job.msg.id !== msg.id) return;
    if (slot.timer !== null) clearTimeout(slot.timer);
    slot.timer = null;
    slot.job = null;
    this.#completed++;
    if ("json" in msg) {
      if (msg.ok) this.#settle(job, null, msg.json);
      else this.#settle(job, new JsonBodyError(msg.json.fault, msg.json.message, msg.json.path));
    } else if (msg.ok) {
      const image: RgbImage = msg.image;
      const report: PreprocessReport = msg.report;
      this.#settle(job, null, { image, report, jpeg: msg.jpeg });
    } else {
      this.#settle(job, imageErrorFromWire(msg.error));
    }
    this.#dispatch();
  }

  #dispatch(): void {
    if (this.#closed) return;
    for (const slot of this.#slots) {
      if (this.#queue.length === 0) return;
      if (!slot.ready || slot.job) continue;
      const job = this.#queue.shift()!;
      slot.job = job;
      slot.timer = setTimeout(() => {
        this.#timeouts++;
        this.#replace(
          slot,
          new ImageTimeoutError(
            `image processing took longer than its ${this.#deadlineMs} ms limit; ` +
              `send a smaller image or turn off noise_reduction`,
          ),
        );
      }, this.#deadlineMs);
      slot.worker.postMessage(job.msg, job.transfer);
    }
  }

  /** Terminates a slot's worker (its image fails with `err`) and puts a fresh one in its place. */
  #replace(slot: Slot, err: unknown): void {
    if (slot.timer !== null) clearTimeout(slot.timer);
    slot.worker.terminate();
    const job = slot.job;
    const i = this.#slots.indexOf(slot);
    if (i >= 0 && !this.#closed) {
      this.#slots[i] = this.#spawn();
      this.#replaced++;
    }
    if (job) this.#settle(job, err);
    this.#dispatch();
  }

  #abort(job: Job): void {
    this.#aborted++;
    const reason = job.signal?.reason ?? new DOMException("aborted", "AbortError");
    const q = this.#queue.indexOf(job);
    if (q >= 0) {
      this.#queue.splice(q, 1);
      this.#settle(job, reason);
      return;
    }
    // Running: synchronous work cannot be interrupted, so its worker goes.
    const slot = this.#slots.find((s) => s.job === job);
    if (slot) this.#replace(slot, reason);
  }

  #settle(job: Job, err: unknown, result?: PreprocessResult | JsonWithMedia): void {
    if (job.onAbort) job.signal?.removeEventListener("abort", job.onAbort);
    if (err !== null && err !== undefined) job.reject(err);
    else job.resolve(result!);
  }
}

let shared: IsolatedImagePipeline | null = null;

/** The process-wide isolated pipeline (created on first use with default options). */
export function getSharedIsolatedPipeline(): IsolatedImagePipeline {
  if (!shared) shared = new IsolatedImagePipeline();
  return shared;
}

export function closeSharedIsolatedPipeline(): void {
  shared?.close();
  shared = null;
}
