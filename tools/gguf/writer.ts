/**
 * Streaming GGUF v3 writer.
 *
 * The header (metadata + tensor infos) is built in memory (a few MB at most, dominated by the
 * tokenizer arrays); tensor data is produced and written chunk by chunk, so a 1 GB model needs
 * only one chunk (default 1 Mi elements) of JS memory at a time. Files are written to
 * `<path>.tmp` and renamed into place when complete, so a killed run never leaves a truncated
 * file under the final name.
 *
 * Supported tensor types: F32, F16 (via the built-in `Float16Array`, round-to-nearest-even),
 * Q8_0 (ggml's reference quantizer: blocks of 32, f16 scale = absmax / 127).
 *
 * @module
 */

import {
  alignUp,
  GGML_TYPE_LAYOUT,
  GGML_TYPE_NAME,
  GgmlType,
  GGUF_DEFAULT_ALIGNMENT,
  GGUF_MAGIC,
  GGUF_VERSION,
  type GgufValue,
  GgufValueType,
  SCALAR_KIND_TO_TYPE,
  tensorByteSize,
} from "./types.ts";

/**
 * Produces a tensor's values in order. Called with consecutive chunks: `start` is the index of
 * `out[0]` within the tensor; every chunk except the last has a length that is a multiple of 32.
 */
export type TensorFiller = (out: Float32Array, start: number) => void;

export interface TensorSpec {
  readonly name: string;
  /** Dimensions in ggml order: `shape[0]` (ne0) is the contiguous one. */
  readonly shape: readonly number[];
  readonly type: GgmlType;
  /**
   * Values as f32 (converted to `type`), a filler producing them chunk by chunk, or raw bytes
   * already encoded in `type` (length must equal the tensor's byte size).
   */
  readonly data: Float32Array | Uint8Array | TensorFiller;
}

export interface GgufWriteProgress {
  readonly tensor: string;
  readonly tensorIndex: number;
  readonly tensorCount: number;
  readonly bytesWritten: number;
  readonly totalBytes: number;
}

export interface GgufWriteOptions {
  /** Data alignment; anything but 32 is also recorded as `general.alignment`. */
  readonly alignment?: number;
  /** Elements converted per write (rounded up to a multiple of 32). Default 1 Mi. */
  readonly chunkElements?: number;
  /** Called after each tensor is written. */
  readonly onProgress?: (p: GgufWriteProgress) => void;
}

export interface GgufWriteResult {
  readonly path: string;
  readonly bytes: number;
  /** Absolute file offset where tensor data starts. */
  readonly dataOffset: number;
}

const encoder = new TextEncoder();

if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
  throw new Error("tools/gguf assumes a little-endian host");
}

/** Growable little-endian byte buffer for the header. */
class ByteSink {
  #buf = new Uint8Array(1 << 16);
  #view = new DataView(this.#buf.buffer);
  length = 0;

  #reserve(n: number): void {
    if (this.length + n <= this.#buf.length) return;
    let cap = this.#buf.length * 2;
    while (cap < this.length + n) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.#buf.subarray(0, this.length));
    this.#buf = next;
    this.#view = new DataView(next.buffer);
  }
  u8(v: number): void {
    this.#reserve(1);
    this.#view.setUint8(this.length, v);
    this.length += 1;
  }
  i8(v: number): void {
    this.#reserve(1);
    this.#view.setInt8(this.length, v);
    this.length += 1;
  }
  u16(v: number): void {
    this.#reserve(2);
    this.#view.setUint16(this.length, v, true);
    this.length += 2;
  }
  i16(v: number): void {
    this.#reserve(2);
    this.#view.setInt16(this.length, v, true);
    this.length += 2;
  }
  u32(v: number): void {
    this.#reserve(4);
    this.#view.setUint32(this.length, v, true);
    this.length += 4;
  }
  i32(v: number): void {
    this.#reserve(4);
    this.#view.setInt32(this.length, v, true);
    this.length += 4;
  }
  f32(v: number): void {
    this.#reserve(4);
    this.#view.setFloat32(this.length, v, true);
    this.length += 4;
  }
  f64(v: number): void {
    this.#reserve(8);
    this.#view.setFloat64(this.length, v, true);
    this.length += 8;
  }
  u64(v: bigint | number): void {
    this.#reserve(8);
    this.#view.setBigUint64(this.length, BigInt(v), true);
    this.length += 8;
  }
  i64(v: bigint): void {
    this.#reserve(8);
    this.#view.setBigInt64(this.length, v, true);
    this.length += 8;
  }
  bytes(b: Uint8Array): void {
    this.#reserve(b.length);
    this.#buf.set(b, this.length);
    this.length += b.length;
  }
  str(s: string): void {
    const b = encoder.encode(s);
    this.u64(b.length);
    this.bytes(b);
  }
  zeros(n: number): void {
    this.#reserve(n);
    this.#buf.fill(0, this.length, this.length + n);
    this.length += n;
  }
  result(): Uint8Array {
    return this.#buf.subarray(0, this.length);
  }
}

function checkInt(v: number, lo: number, hi: number, what: string): void {
  if (!Number.isInteger(v) || v < lo || v > hi) throw new RangeError(`${what}: ${v} out of range`);
}

function writeScalar(sink: ByteSink, kind: string, v: number | bigint | boolean | string): void {
  switch (kind) {
    case "u8":
      checkInt(v as number, 0, 0xff, "u8");
      return sink.u8(v as number);
    case "i8":
      checkInt(v as number, -0x80, 0x7f, "i8");
      return sink.i8(v as number);
    case "u16":
      checkInt(v as number, 0, 0xffff, "u16");
      return sink.u16(v as number);
    case "i16":
      checkInt(v as number, -0x8000, 0x7fff, "i16");
      return sink.i16(v as number);
    case "u32":
      checkInt(v as number, 0, 0xffffffff, "u32");
      return sink.u32(v as number);
    case "i32":
      checkInt(v as number, -0x80000000, 0x7fffffff, "i32");
      return sink.i32(v as number);
    case "f32":
      return sink.f32(v as number);
    case "f64":
      return sink.f64(v as number);
    case "u64":
      return sink.u64(v as bigint);
    case "i64":
      return sink.i64(v as bigint);
    case "bool":
      return sink.u8(v ? 1 : 0);
    case "string":
      return sink.str(v as string);
    default:
      throw new Error(`unknown GGUF value kind ${kind}`);
  }
}

function writeValue(sink: ByteSink, key: string, value: GgufValue): void {
  if (value.type === "array") {
    sink.u32(GgufValueType.ARRAY);
    sink.u32(SCALAR_KIND_TO_TYPE[value.itemType]);
    sink.u64(value.value.length);
    for (const item of value.value) writeScalar(sink, value.itemType, item);
    return;
  }
  const t = SCALAR_KIND_TO_TYPE[value.type];
  if (t === undefined) throw new Error(`${key}: unknown GGUF value kind ${value.type}`);
  sink.u32(t);
  writeScalar(sink, value.type, value.value);
}

function elementCount(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 1) throw new RangeError(`bad dimension ${d}`);
    n *= d;
  }
  return n;
}

/** Encodes f32 values as IEEE half floats (round to nearest even) into `out`. */
export function f32ToF16(src: Float32Array, out: Uint16Array): void {
  new Float16Array(out.buffer, out.byteOffset, out.length).set(src);
}

const scaleScratch = new Float16Array(1);
const scaleBits = new Uint16Array(scaleScratch.buffer);

/**
 * Quantizes `src` (length a multiple of 32) to Q8_0 blocks in `out`, matching ggml's
 * `quantize_row_q8_0_ref`: d = absmax / 127 stored as f16, q = round(x / d).
 */
export function quantizeQ8_0(src: Float32Array, out: Uint8Array): void {
  const nb = src.length / 32;
  if (!Number.isInteger(nb)) throw new RangeError("Q8_0 needs a multiple of 32 values");
  const q = new Int8Array(out.buffer, out.byteOffset, out.length);
  for (let b = 0; b < nb; b++) {
    const base = b * 32;
    let amax = 0;
    for (let j = 0; j < 32; j++) {
      const a = Math.abs(src[base + j]!);
      if (a > amax) amax = a;
    }
    const d = amax / 127;
    const id = d !== 0 ? 1 / d : 0;
    scaleScratch[0] = d;
    const o = b * 34;
    const bits = scaleBits[0]!;
    out[o] = bits & 0xff;
    out[o + 1] = bits >> 8;
    for (let j = 0; j < 32; j++) {
      const x = src[base + j]! * id;
      // roundf: half away from zero
      q[o + 2 + j] = x < 0 ? -Math.round(-x) : Math.round(x);
    }
  }
}

/** Encodes `values` as `type` into a new byte array. */
export function encodeValues(type: number, values: Float32Array): Uint8Array {
  switch (type) {
    case GgmlType.F32:
      return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
    case GgmlType.F16: {
      const out = new Uint16Array(values.length);
      f32ToF16(values, out);
      return new Uint8Array(out.buffer);
    }
    case GgmlType.Q8_0: {
      const out = new Uint8Array(tensorByteSize(GgmlType.Q8_0, values.length));
      quantizeQ8_0(values, out);
      return out;
    }
    default:
      throw new Error(`unsupported ggml type ${type}`);
  }
}

async function writeAll(file: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  let off = 0;
  while (off < bytes.length) off += await file.write(bytes.subarray(off));
}

/** Builds the header bytes (up to, not including, the data-section padding). */
export function encodeHeader(
  metadata: ReadonlyArray<readonly [string, GgufValue]>,
  tensors: ReadonlyArray<Pick<TensorSpec, "name" | "shape" | "type">>,
  alignment = GGUF_DEFAULT_ALIGNMENT,
): { header: Uint8Array; offsets: number[]; sizes: number[]; dataBytes: number } {
  const kv: Array<readonly [string, GgufValue]> = [...metadata];
  const keys = new Set<string>();
  for (const [k] of kv) {
    if (keys.has(k)) throw new Error(`duplicate metadata key ${k}`);
    keys.add(k);
  }
  if (alignment !== GGUF_DEFAULT_ALIGNMENT && !keys.has("general.alignment")) {
    kv.push(["general.alignment", { type: "u32", value: alignment }]);
  }
  const names = new Set<string>();
  const sink = new ByteSink();
  sink.u32(GGUF_MAGIC);
  sink.u32(GGUF_VERSION);
  sink.u64(tensors.length);
  sink.u64(kv.length);
  for (const [k, v] of kv) {
    sink.str(k);
    writeValue(sink, k, v);
  }
  const offsets: number[] = [];
  const sizes: number[] = [];
  let offset = 0;
  for (const t of tensors) {
    if (names.has(t.name)) throw new Error(`duplicate tensor ${t.name}`);
    names.add(t.name);
    if (!GGML_TYPE_LAYOUT[t.type]) throw new Error(`${t.name}: unsupported type ${t.type}`);
    if (t.shape.length < 1 || t.shape.length > 4) throw new Error(`${t.name}: 1-4 dims`);
    const layout = GGML_TYPE_LAYOUT[t.type]!;
    if (t.shape[0]! % layout.blockElems !== 0) {
      throw new Error(
        `${t.name}: ne0 ${t.shape[0]} not a multiple of ${GGML_TYPE_NAME[t.type]} block size`,
      );
    }
    const size = tensorByteSize(t.type, elementCount(t.shape));
    sink.str(t.name);
    sink.u32(t.shape.length);
    for (const d of t.shape) sink.u64(d);
    sink.u32(t.type);
    sink.u64(offset);
    offsets.push(offset);
    sizes.push(size);
    offset = alignUp(offset + size, alignment);
  }
  // The data section's total size includes padding after the last tensor (ggml does the same).
  return { header: sink.result(), offsets, sizes, dataBytes: offset };
}

/**
 * Writes a GGUF v3 file. `metadata` order is preserved; tensors are laid out in the given order,
 * each aligned to `alignment` bytes from the start of the data section.
 */
export async function writeGguf(
  path: string,
  metadata: ReadonlyArray<readonly [string, GgufValue]>,
  tensors: readonly TensorSpec[],
  options: GgufWriteOptions = {},
): Promise<GgufWriteResult> {
  const alignment = options.alignment ?? GGUF_DEFAULT_ALIGNMENT;
  if (!Number.isInteger(alignment) || alignment < 1 || (alignment & (alignment - 1)) !== 0) {
    throw new RangeError(`alignment must be a power of two, got ${alignment}`);
  }
  const chunkElements = alignUp(options.chunkElements ?? 1 << 20, 32);
  const { header, offsets, sizes, dataBytes } = encodeHeader(metadata, tensors, alignment);
  const dataOffset = alignUp(header.length, alignment);
  const totalBytes = dataOffset + dataBytes;

  const tmp = `${path}.tmp`;
  const file = await Deno.open(tmp, { write: true, create: true, truncate: true });
  let ok = false;
  try {
    await writeAll(file, header);
    await writeAll(file, new Uint8Array(dataOffset - header.length));
    let pos = dataOffset;
    const scratch = new Float32Array(chunkElements);
    for (let i = 0; i < tensors.length; i++) {
      const t = tensors[i]!;
      const n = elementCount(t.shape);
      const start = dataOffset + offsets[i]!;
      if (pos !== start) {
        await writeAll(file, new Uint8Array(start - pos));
        pos = start;
      }
      const { data } = t;
      if (data instanceof Uint8Array) {
        if (data.length !== sizes[i]) {
          throw new Error(`${t.name}: raw data is ${data.length} bytes, expected ${sizes[i]}`);
        }
        await writeAll(file, data);
      } else if (data instanceof Float32Array) {
        if (data.length !== n) throw new Error(`${t.name}: ${data.length} values, expected ${n}`);
        for (let s = 0; s < n; s += chunkElements) {
          await writeAll(
            file,
            encodeValues(t.type, data.subarray(s, Math.min(n, s + chunkElements))),
          );
        }
      } else {
        for (let s = 0; s < n; s += chunkElements) {
          const chunk = scratch.subarray(0, Math.min(chunkElements, n - s));
          data(chunk, s);
          await writeAll(file, encodeValues(t.type, chunk));
        }
      }
      pos += sizes[i]!;
      options.onProgress?.({
        tensor: t.name,
        tensorIndex: i,
        tensorCount: tensors.length,
        bytesWritten: pos,
        totalBytes,
      });
    }
    if (pos < totalBytes) await writeAll(file, new Uint8Array(totalBytes - pos));
    ok = true;
  } finally {
    file.close();
    if (!ok) await Deno.remove(tmp).catch(() => {});
  }
  await Deno.rename(tmp, path);
  return { path, bytes: totalBytes, dataOffset };
}
