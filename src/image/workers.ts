/**
 * Worker pool for the heavy stages (bilateral, LAB, resize). One image is split into row chunks
 * over shared memory, so a large image uses every core and the calling thread stays free: each
 * worker gets one message per stage and then claims chunks from a shared atomic row counter
 * until none are left (balanced under load without a round trip per chunk), copying only the
 * rows a chunk reads into its own wasm memory.
 * Shared buffers are pooled arenas, reused across calls: fresh pages cost a page fault each on
 * first touch (measured ~12 ms per 3 MB here), a warm copy in and `slice()` out ~0.3 ms.
 * Results are ordinary (non-shared) arrays. The pool works the same when created inside a
 * worker (nested workers); terminating that worker stops its pool's workers too, each at its
 * next chunk boundary, where it yields to its event loop (tests/image/kernels/nested_pool.test.ts).
 * Close the pool (close() or `using`) when done.
 */
import type { BilateralParams } from "./bilateral.ts";
import type { RgbImage } from "./codecs.ts";
import type { LabParams } from "./lab.ts";

interface BandBase {
  id: number;
  /** Source and destination pixels: views [offset, offset + length) of shared buffers. */
  src: SharedArrayBuffer;
  srcOffset: number;
  srcLength: number;
  dst: SharedArrayBuffer;
  dstOffset: number;
  dstLength: number;
  /** Destination width / height. */
  width: number;
  height: number;
  /** Rows [y0, y1) of the destination, claimed `grain` at a time from next[0] (Int32). */
  y0: number;
  y1: number;
  next: SharedArrayBuffer;
  grain: number;
}
export type BandTask =
  | (BandBase & { op: "bilateral"; bilateral: BilateralParams })
  | (BandBase & { op: "lab"; lab: LabParams })
  | (BandBase & { op: "resize"; sw: number; sh: number });

type BandRequest =
  | { op: "bilateral"; bilateral: BilateralParams }
  | { op: "lab"; lab: LabParams }
  | { op: "resize"; sw: number; sh: number };

interface Pending {
  resolve: () => void;
  reject: (e: Error) => void;
}

/** Returns `data` itself when it already lives in a SharedArrayBuffer, else a shared copy. */
export function toShared(data: Uint8Array): Uint8Array {
  if (
    data.buffer instanceof SharedArrayBuffer && data.byteOffset === 0 &&
    data.byteLength === data.buffer.byteLength
  ) {
    return data;
  }
  const out = new Uint8Array(new SharedArrayBuffer(data.length));
  out.set(data);
  return out;
}

/** Largest row chunk a worker claims at once, in destination pixels. */
const CHUNK_MAX_PIXELS = 1 << 18;

/** Idle arenas kept per pool; one per concurrent stage is enough in practice. */
const MAX_IDLE_ARENAS = 4;
export class ImagePool {
  readonly size: number;
  #workers: Worker[] = [];
  #idle: Worker[] = [];
  #queue: { task: BandTask; p: Pending }[] = [];
  #pending = new Map<number, Pending>();
  #nextId = 1;
  #closed = false;
  #arenas: SharedArrayBuffer[] = [];

  constructor(size = navigator.hardwareConcurrency || 1) {
    this.size = Math.max(1, Math.floor(size));
  }

  #start(): void {
    if (this.#workers.length > 0) return;
    for (let i = 0; i < this.size; i++) {
      const w = new Worker(new URL("./worker.ts", import.meta.url).href, { type: "module" });
      w.onmessage = (ev: MessageEvent<{ id: number; ok: boolean; error?: string }>) => {
        const p = this.#pending.get(ev.data.id);
        this.#pending.delete(ev.data.id);
        this.#release(w);
        if (!p) return;
        if (ev.data.ok) p.resolve();
        else p.reject(new Error(`image worker failed: ${ev.data.error}`));
      };
      w.onerror = (ev) => {
        ev.preventDefault();
        for (const p of this.#pending.values()) {
          p.reject(new Error(`image worker crashed: ${ev.message}`));
        }
        this.#pending.clear();
      };
      this.#workers.push(w);
      this.#idle.push(w);
    }
  }

  #release(w: Worker): void {
    const next = this.#queue.shift();
    if (next) this.#dispatch(w, next.task, next.p);
    else this.#idle.push(w);
  }

  #dispatch(w: Worker, task: BandTask, p: Pending): void {
    this.#pending.set(task.id, p);
    w.postMessage(task);
  }

  #submit(task: BandTask): Promise<void> {
    return new Promise((resolve, reject) => {
      const p = { resolve, reject };
      const w = this.#idle.pop();
      if (w) this.#dispatch(w, task, p);
      else this.#queue.push({ task, p });
    });
  }

  /** Runs one stage over all rows of the destination, split into chunks over the workers. */
  async runBands(
    req: BandRequest,
    src: Uint8Array,
    dst: Uint8Array,
    width: number,
    height: number,
  ): Promise<void> {
    if (this.#closed) throw new Error("image pool is closed");
    if (!(src.buffer instanceof SharedArrayBuffer) || !(dst.buffer instanceof SharedArrayBuffer)) {
      throw new TypeError("runBands() needs src and dst in SharedArrayBuffers");
    }
    this.#start();
    const workers = Math.min(height, this.size);
    // About four chunks per worker (balance without tiny chunks, each re-reads its halo rows),
    // at most ~256 K pixels each: a worker yields between chunks, where it can be stopped.
    const grain = Math.max(
      1,
      Math.min(Math.ceil(height / (workers * 4)), Math.floor(CHUNK_MAX_PIXELS / width)),
    );
    const next = new SharedArrayBuffer(4);
    const jobs: Promise<void>[] = [];
    for (let b = 0; b < workers; b++) {
      const task = {
        ...req,
        id: this.#nextId++,
        src: src.buffer as SharedArrayBuffer,
        srcOffset: src.byteOffset,
        srcLength: src.length,
        dst: dst.buffer as SharedArrayBuffer,
        dstOffset: dst.byteOffset,
        dstLength: dst.length,
        width,
        height,
        y0: 0,
        y1: height,
        next,
        grain,
      } as BandTask;
      jobs.push(this.#submit(task));
    }
    await Promise.all(jobs);
  }

  /**
   * Runs one stage: src copied into a pooled shared arena, the bands write dst in the same
   * arena, the result is sliced out as an ordinary array.
   */
  async #stage(req: BandRequest, img: RgbImage, width: number, height: number): Promise<RgbImage> {
    const srcLen = img.data.length, dstLen = width * height * 3;
    const arena = this.#takeArena(srcLen + dstLen);
    const src = new Uint8Array(arena, 0, srcLen);
    src.set(img.data);
    const dst = new Uint8Array(arena, srcLen, dstLen);
    // On failure the arena is dropped, not reused: other bands may still be writing to it.
    await this.runBands(req, src, dst, width, height);
    const data = dst.slice();
    this.#giveArena(arena);
    return { width, height, data };
  }

  #takeArena(bytes: number): SharedArrayBuffer {
    // Smallest idle arena that fits, else a new one (rounded up so sizes settle quickly).
    let best = -1;
    for (let i = 0; i < this.#arenas.length; i++) {
      const a = this.#arenas[i]!;
      if (a.byteLength >= bytes && (best < 0 || a.byteLength < this.#arenas[best]!.byteLength)) {
        best = i;
      }
    }
    if (best >= 0) return this.#arenas.splice(best, 1)[0]!;
    return new SharedArrayBuffer(Math.ceil(bytes / (1 << 20)) * (1 << 20));
  }

  #giveArena(a: SharedArrayBuffer): void {
    if (this.#closed) return;
    this.#arenas.push(a);
    // Keep the largest few: a small arena is rarely worth keeping next to a big one.
    if (this.#arenas.length > MAX_IDLE_ARENAS) {
      this.#arenas.sort((x, y) => y.byteLength - x.byteLength).length = MAX_IDLE_ARENAS;
    }
  }

  bilateral(img: RgbImage, params: BilateralParams): Promise<RgbImage> {
    return this.#stage({ op: "bilateral", bilateral: params }, img, img.width, img.height);
  }

  lab(img: RgbImage, params: LabParams): Promise<RgbImage> {
    return this.#stage({ op: "lab", lab: params }, img, img.width, img.height);
  }

  resize(img: RgbImage, width: number, height: number): Promise<RgbImage> {
    return this.#stage({ op: "resize", sw: img.width, sh: img.height }, img, width, height);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const w of this.#workers) w.terminate();
    for (const p of this.#pending.values()) p.reject(new Error("image pool closed"));
    for (const q of this.#queue) q.p.reject(new Error("image pool closed"));
    this.#workers = [];
    this.#idle = [];
    this.#queue = [];
    this.#pending.clear();
    this.#arenas = [];
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

let shared: ImagePool | null = null;
/** A process-wide pool (navigator.hardwareConcurrency workers), started on first use. */
export function getSharedImagePool(): ImagePool {
  if (!shared) shared = new ImagePool();
  return shared;
}
/** Terminates the process-wide pool (a later getSharedImagePool() starts a new one). */
export function closeSharedImagePool(): void {
  shared?.close();
  shared = null;
}
