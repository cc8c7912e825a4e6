/**
 * Worker pool for the heavy stages (bilateral, LAB, resize). One image is split into row bands
 * over shared memory, so a large image uses every core and the main thread stays free.
 * Close the pool (close() or `using`) when done so no worker outlives its owner.
 */
import type { BilateralParams } from "./bilateral.ts";
import type { RgbImage } from "./codecs.ts";
import type { LabParams } from "./lab.ts";

interface BandBase {
  id: number;
  src: SharedArrayBuffer;
  dst: SharedArrayBuffer;
  /** Destination width / height. */
  width: number;
  height: number;
  y0: number;
  y1: number;
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

export class ImagePool {
  readonly size: number;
  #workers: Worker[] = [];
  #idle: Worker[] = [];
  #queue: { task: BandTask; p: Pending }[] = [];
  #pending = new Map<number, Pending>();
  #nextId = 1;
  #closed = false;

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

  /** Runs one stage over all rows of the destination, split into bands. */
  async runBands(
    req: BandRequest,
    src: Uint8Array,
    dst: Uint8Array,
    width: number,
    height: number,
  ): Promise<void> {
    if (this.#closed) throw new Error("image pool is closed");
    this.#start();
    const bands = Math.min(height, this.size * 2);
    const jobs: Promise<void>[] = [];
    for (let b = 0; b < bands; b++) {
      const y0 = Math.floor((b * height) / bands), y1 = Math.floor(((b + 1) * height) / bands);
      if (y1 <= y0) continue;
      const task = {
        ...req,
        id: this.#nextId++,
        src: src.buffer as SharedArrayBuffer,
        dst: dst.buffer as SharedArrayBuffer,
        width,
        height,
        y0,
        y1,
      } as BandTask;
      jobs.push(this.#submit(task));
    }
    await Promise.all(jobs);
  }

  async bilateral(img: RgbImage, params: BilateralParams): Promise<RgbImage> {
    const src = toShared(img.data);
    const dst = new Uint8Array(new SharedArrayBuffer(src.length));
    await this.runBands({ op: "bilateral", bilateral: params }, src, dst, img.width, img.height);
    return { width: img.width, height: img.height, data: dst };
  }

  async lab(img: RgbImage, params: LabParams): Promise<RgbImage> {
    const src = toShared(img.data);
    const dst = new Uint8Array(new SharedArrayBuffer(src.length));
    await this.runBands({ op: "lab", lab: params }, src, dst, img.width, img.height);
    return { width: img.width, height: img.height, data: dst };
  }

  async resize(img: RgbImage, width: number, height: number): Promise<RgbImage> {
    const src = toShared(img.data);
    const dst = new Uint8Array(new SharedArrayBuffer(width * height * 3));
    await this.runBands({ op: "resize", sw: img.width, sh: img.height }, src, dst, width, height);
    return { width, height, data: dst };
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
