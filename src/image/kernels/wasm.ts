/**
 * The image kernels' WebAssembly instance, one per thread (main thread or worker), created on
 * first use from the module embedded in kernels_wasm.ts (no file-system access). Callers lay
 * their buffers out in its linear memory with `Layout`, then call the exports.
 */
import { KERNELS_WASM_BASE64 } from "./kernels_wasm.ts";

export interface KernelExports {
  memory: WebAssembly.Memory;
  heapBase(): number;
  bilateralPlanes(
    src: number,
    rows: number,
    width: number,
    r: number,
    planes: number,
    pw: number,
    planeStride: number,
    bytes: number,
    byteStride: number,
  ): void;
  bilateralRun(
    planes: number,
    planeStride: number,
    bytes: number,
    byteStride: number,
    pw: number,
    width: number,
    rows: number,
    r: number,
    taps: number,
    space: number,
    n: number,
    color: number,
    dst: number,
  ): void;
  resizeVertical(rows: number, n: number, rowLen: number, w: number, tmp: number): void;
  resizeHorizontal(
    tmp: number,
    dw: number,
    start: number,
    xoff: number,
    xw: number,
    out: number,
  ): void;
  labBalance(
    src: number,
    dst: number,
    n: number,
    lin: number,
    bucket: number,
    thr: number,
    lBoost: number,
    abBoost: number,
  ): void;
  jpegPlanes(
    rgb: number,
    width: number,
    height: number,
    y0: number,
    hs: number,
    planeW: number,
    yp: number,
    cbp: number,
    crp: number,
  ): void;
  jpegBlocks(
    plane: number,
    planeW: number,
    row0: number,
    n: number,
    div: number,
    zigzag: number,
    coeffs: number,
    last: number,
    first: number,
    per: number,
    mcuStride: number,
    scratch: number,
  ): void;
  jpegStats(
    coeffs: number,
    last: number,
    nBlocks: number,
    bpm: number,
    luma: number,
    freq: number,
  ): void;
  jpegScan(
    coeffs: number,
    last: number,
    nBlocks: number,
    bpm: number,
    luma: number,
    codes: number,
    out: number,
  ): number;
}

let compiled: WebAssembly.Module | null = null;
let instance: Kernels | null = null;

/** Base64 → bytes; atob for runtimes without Uint8Array.fromBase64 (older edge V8s). */
export function base64Bytes(b64: string): Uint8Array {
  if (typeof Uint8Array.fromBase64 === "function") return Uint8Array.fromBase64(b64);
  return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
}

/** The compiled module (shared by every instance in this thread). */
export function kernelsModule(): WebAssembly.Module {
  // Synchronous compile: the module is ~5 KB and compiles in well under a millisecond.
  compiled ??= new WebAssembly.Module(base64Bytes(KERNELS_WASM_BASE64) as Uint8Array<ArrayBuffer>);
  return compiled;
}

export class Kernels {
  readonly exports: KernelExports;
  readonly base: number;

  constructor() {
    this.exports = new WebAssembly.Instance(kernelsModule()).exports as unknown as KernelExports;
    this.base = this.exports.heapBase();
  }

  /** Grows linear memory so that [base, base + bytes) exists; returns a fresh byte view. */
  reserve(bytes: number): Uint8Array {
    const mem = this.exports.memory;
    const need = this.base + bytes;
    if (need > mem.buffer.byteLength) {
      mem.grow(Math.ceil((need - mem.buffer.byteLength) / 65536));
    }
    return new Uint8Array(mem.buffer);
  }

  /** A bump layout starting at the heap base (16-byte aligned blocks). */
  layout(): Layout {
    return new Layout(this.base);
  }
}

/** Hands out 16-byte aligned offsets; `end` is the total extent to reserve. */
export class Layout {
  #next: number;
  readonly #start: number;
  constructor(start: number) {
    this.#start = this.#next = (start + 15) & ~15;
  }
  take(bytes: number): number {
    const at = this.#next;
    this.#next = (at + bytes + 15) & ~15;
    return at;
  }
  get size(): number {
    return this.#next - this.#start;
  }
  /** First byte past the last block. */
  get end(): number {
    return this.#next;
  }
}

/** This thread's kernels instance. */
export function kernels(): Kernels {
  instance ??= new Kernels();
  return instance;
}

/** Memory the thread's instance may keep between calls (linear memory never shrinks). */
const RETAIN_BYTES = 64 << 20;

/**
 * Drops this thread's instance when a big job grew its memory past RETAIN_BYTES, so the pages
 * go back with it; the next call starts a fresh instance.
 */
export function trimKernels(): void {
  if (instance && instance.exports.memory.buffer.byteLength > RETAIN_BYTES) instance = null;
}
