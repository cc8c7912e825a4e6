/**
 * Minimal GGUF (v2/v3) reader: metadata and tensor infos, plus raw tensor bytes on request.
 * Only the header is read into memory; it grows its read window until the header parses.
 *
 * @module
 */

import {
  alignUp,
  GGML_TYPE_LAYOUT,
  GGUF_DEFAULT_ALIGNMENT,
  GGUF_MAGIC,
  type GgufScalarKind,
  type GgufValue,
  GgufValueType,
  tensorByteSize,
  TYPE_TO_SCALAR_KIND,
} from "./types.ts";

export interface GgufTensorInfo {
  readonly name: string;
  /** ggml order (ne0 first). */
  readonly shape: readonly number[];
  readonly type: number;
  /** Offset relative to the start of the data section. */
  readonly offset: number;
  /** Byte size (unpadded), or -1 for types this package does not know. */
  readonly size: number;
}

export interface GgufFile {
  readonly version: number;
  readonly metadata: ReadonlyMap<string, GgufValue>;
  readonly tensors: readonly GgufTensorInfo[];
  readonly alignment: number;
  /** Absolute offset of the data section. */
  readonly dataOffset: number;
  /** Header length before alignment padding. */
  readonly headerBytes: number;
}

class NeedMore extends Error {}

const decoder = new TextDecoder("utf-8", { fatal: true });

class Cursor {
  pos = 0;
  readonly view: DataView;
  constructor(readonly buf: Uint8Array, readonly eof: boolean) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }
  #need(n: number): void {
    if (this.pos + n > this.buf.length) {
      if (this.eof) throw new Error("GGUF: unexpected end of file");
      throw new NeedMore();
    }
  }
  u8(): number {
    this.#need(1);
    return this.view.getUint8(this.pos++);
  }
  i8(): number {
    this.#need(1);
    return this.view.getInt8(this.pos++);
  }
  u16(): number {
    this.#need(2);
    const v = this.view.getUint16(this.pos, true);
    this.pos += 2;
    return v;
  }
  i16(): number {
    this.#need(2);
    const v = this.view.getInt16(this.pos, true);
    this.pos += 2;
    return v;
  }
  u32(): number {
    this.#need(4);
    const v = this.view.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }
  i32(): number {
    this.#need(4);
    const v = this.view.getInt32(this.pos, true);
    this.pos += 4;
    return v;
  }
  f32(): number {
    this.#need(4);
    const v = this.view.getFloat32(this.pos, true);
    this.pos += 4;
    return v;
  }
  f64(): number {
    this.#need(8);
    const v = this.view.getFloat64(this.pos, true);
    this.pos += 8;
    return v;
  }
  u64(): bigint {
    this.#need(8);
    const v = this.view.getBigUint64(this.pos, true);
    this.pos += 8;
    return v;
  }
  i64(): bigint {
    this.#need(8);
    const v = this.view.getBigInt64(this.pos, true);
    this.pos += 8;
    return v;
  }
  u64n(): number {
    const v = this.u64();
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error("GGUF: 64-bit count too large");
    return Number(v);
  }
  str(): string {
    const n = this.u64n();
    this.#need(n);
    const s = decoder.decode(this.buf.subarray(this.pos, this.pos + n));
    this.pos += n;
    return s;
  }
  scalar(kind: GgufScalarKind): number | bigint | boolean | string {
    switch (kind) {
      case "u8":
        return this.u8();
      case "i8":
        return this.i8();
      case "u16":
        return this.u16();
      case "i16":
        return this.i16();
      case "u32":
        return this.u32();
      case "i32":
        return this.i32();
      case "f32":
        return this.f32();
      case "f64":
        return this.f64();
      case "u64":
        return this.u64();
      case "i64":
        return this.i64();
      case "bool":
        return this.u8() !== 0;
      case "string":
        return this.str();
    }
  }
}

function readValue(c: Cursor, type: number): GgufValue {
  if (type === GgufValueType.ARRAY) {
    const itemType = c.u32();
    const kind = TYPE_TO_SCALAR_KIND[itemType];
    if (!kind) throw new Error(`GGUF: unsupported array item type ${itemType}`);
    const n = c.u64n();
    const out: Array<number | bigint | boolean | string> = new Array(n);
    for (let i = 0; i < n; i++) out[i] = c.scalar(kind);
    return { type: "array", itemType: kind, value: out } as GgufValue;
  }
  const kind = TYPE_TO_SCALAR_KIND[type];
  if (!kind) throw new Error(`GGUF: unsupported value type ${type}`);
  return { type: kind, value: c.scalar(kind) } as GgufValue;
}

function parse(buf: Uint8Array, eof: boolean): GgufFile {
  const c = new Cursor(buf, eof);
  if (c.u32() !== GGUF_MAGIC) throw new Error("not a GGUF file (bad magic)");
  const version = c.u32();
  if (version !== 2 && version !== 3) throw new Error(`unsupported GGUF version ${version}`);
  const nTensors = c.u64n();
  const nKv = c.u64n();
  const metadata = new Map<string, GgufValue>();
  for (let i = 0; i < nKv; i++) {
    const key = c.str();
    metadata.set(key, readValue(c, c.u32()));
  }
  const tensors: GgufTensorInfo[] = [];
  for (let i = 0; i < nTensors; i++) {
    const name = c.str();
    const nDims = c.u32();
    const shape: number[] = [];
    for (let d = 0; d < nDims; d++) shape.push(c.u64n());
    const type = c.u32();
    const offset = c.u64n();
    const n = shape.reduce((a, b) => a * b, 1);
    const size = GGML_TYPE_LAYOUT[type] ? tensorByteSize(type, n) : -1;
    tensors.push({ name, shape, type, offset, size });
  }
  const al = metadata.get("general.alignment");
  const alignment = al && al.type === "u32" ? al.value : GGUF_DEFAULT_ALIGNMENT;
  return {
    version,
    metadata,
    tensors,
    alignment,
    headerBytes: c.pos,
    dataOffset: alignUp(c.pos, alignment),
  };
}

/** Reads a GGUF file's header (metadata and tensor infos). */
export async function readGguf(path: string): Promise<GgufFile> {
  const file = await Deno.open(path, { read: true });
  try {
    const fileSize = (await file.stat()).size;
    let want = Math.min(fileSize, 1 << 20);
    let buf = new Uint8Array(0);
    for (;;) {
      if (buf.length < want) {
        const next = new Uint8Array(want);
        next.set(buf);
        let off = buf.length;
        await file.seek(off, Deno.SeekMode.Start);
        while (off < want) {
          const n = await file.read(next.subarray(off));
          if (n === null) break;
          off += n;
        }
        buf = next.subarray(0, off);
      }
      try {
        return parse(buf, buf.length >= fileSize);
      } catch (e) {
        if (!(e instanceof NeedMore)) throw e;
        want = Math.min(fileSize, want * 4);
      }
    }
  } finally {
    file.close();
  }
}

/** Reads one tensor's raw bytes. */
export async function readTensorBytes(
  path: string,
  gguf: GgufFile,
  name: string,
): Promise<Uint8Array> {
  const t = gguf.tensors.find((x) => x.name === name);
  if (!t) throw new Error(`no tensor ${name}`);
  if (t.size < 0) throw new Error(`${name}: unknown type ${t.type}`);
  const file = await Deno.open(path, { read: true });
  try {
    await file.seek(gguf.dataOffset + t.offset, Deno.SeekMode.Start);
    const out = new Uint8Array(t.size);
    let off = 0;
    while (off < out.length) {
      const n = await file.read(out.subarray(off));
      if (n === null) throw new Error(`${name}: unexpected end of file`);
      off += n;
    }
    return out;
  } finally {
    file.close();
  }
}

/** Typed metadata accessors that throw with the key name when absent or mistyped. */
export function metaString(g: GgufFile, key: string): string {
  const v = g.metadata.get(key);
  if (!v || v.type !== "string") throw new Error(`GGUF: ${key} missing or not a string`);
  return v.value;
}

export function metaNumber(g: GgufFile, key: string): number {
  const v = g.metadata.get(key);
  if (!v || v.type === "array" || typeof v.value !== "number") {
    throw new Error(`GGUF: ${key} missing or not a number`);
  }
  return v.value;
}

export function metaStringArray(g: GgufFile, key: string): readonly string[] {
  const v = g.metadata.get(key);
  if (!v || v.type !== "array" || v.itemType !== "string") {
    throw new Error(`GGUF: ${key} missing or not a string array`);
  }
  return v.value;
}

export function metaNumberArray(g: GgufFile, key: string): readonly number[] {
  const v = g.metadata.get(key);
  if (!v || v.type !== "array") throw new Error(`GGUF: ${key} missing or not an array`);
  switch (v.itemType) {
    case "string":
    case "bool":
    case "u64":
    case "i64":
      throw new Error(`GGUF: ${key} is not a numeric array`);
    default:
      return v.value;
  }
}
