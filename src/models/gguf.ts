/**
 * The project's one GGUF reader. Its first job is the check before llama.cpp sees a file:
 * magic, version, tensor/kv counts, every tensor's offset and size inside the file, the
 * architecture (`clip` for a projector, a text architecture otherwise) and the projector type. A
 * corrupt, truncated or swapped file becomes a GgufCheckError with the reason, never a native
 * crash. By default metadata arrays are skipped (type and length only), which keeps the check at
 * every model load cheap; the fixture tools ask for `{ arrays: true }` to get a vocabulary's
 * items, and read tensor bytes with readTensorBytes(). Every read is bounds-checked.
 *
 * Written here rather than with `@huggingface/gguf`: that library refuses local files inside a
 * worker (it treats a DedicatedWorkerGlobalScope as a browser), and the check runs in the engine
 * worker; it also exposes no tensor byte sizes.
 *
 * @module
 */

export const GGUF_MAGIC = 0x46554747; // "GGUF" little-endian
const MAX_TENSORS = 1 << 20;
const MAX_KVS = 1 << 20;
const MAX_DIMS = 4; // GGML_MAX_DIMS
/** Items of one array read with `{ arrays: true }` (a 262k-token vocabulary fits many times). */
const MAX_ARRAY_ITEMS = 1 << 22;

/** A scalar header value; 64-bit integers are bigints so they stay exact. */
export type GgufScalar = number | bigint | boolean | string;

/** A header array: its item type (a GGUF value type) and length, and its items when asked for. */
export interface GgufArray {
  readonly arrayOf: number;
  readonly length: number;
  /** Read only with `{ arrays: true }`: strings, numbers, bigints or booleans as `arrayOf` says. */
  readonly items?: readonly GgufScalar[];
}

export type GgufMetaValue = GgufScalar | GgufArray;

export interface GgufReadOptions {
  /** Read metadata arrays' items too (at most 2^22 per array); default: type and length only. */
  readonly arrays?: boolean;
}

export interface GgufTensor {
  readonly name: string;
  readonly shape: readonly number[];
  readonly type: number;
  /** Relative to the data section. */
  readonly offset: number;
  /** Bytes, or null for a type this checker does not know (its offset is still checked). */
  readonly size: number | null;
}

export interface GgufHeader {
  readonly path: string;
  readonly version: number;
  readonly fileSize: number;
  readonly metadata: ReadonlyMap<string, GgufMetaValue>;
  /** Each key's GGUF value type (`enum gguf_type`: 0 u8 … 8 string, 9 array, 12 f64). */
  readonly metadataTypes: ReadonlyMap<string, number>;
  readonly tensors: readonly GgufTensor[];
  readonly alignment: number;
  readonly dataOffset: number;
  readonly architecture: string;
}

/** The file is not a usable GGUF (or not the kind asked for); the message says why. */
export class GgufCheckError extends Error {
  constructor(readonly path: string, reason: string) {
    super(`${path}: ${reason}`);
  }
}

/** ggml's block layout per `enum ggml_type`: [elements per block, bytes per block]. */
const TYPE_LAYOUT: Readonly<Record<number, readonly [number, number]>> = {
  0: [1, 4], // F32
  1: [1, 2], // F16
  2: [32, 18], // Q4_0
  3: [32, 20], // Q4_1
  6: [32, 22], // Q5_0
  7: [32, 24], // Q5_1
  8: [32, 34], // Q8_0
  9: [32, 36], // Q8_1
  10: [256, 84], // Q2_K
  11: [256, 110], // Q3_K
  12: [256, 144], // Q4_K
  13: [256, 176], // Q5_K
  14: [256, 210], // Q6_K
  15: [256, 292], // Q8_K
  16: [256, 66], // IQ2_XXS
  17: [256, 74], // IQ2_XS
  18: [256, 98], // IQ3_XXS
  19: [256, 50], // IQ1_S
  20: [32, 18], // IQ4_NL
  21: [256, 110], // IQ3_S
  22: [256, 82], // IQ2_S
  23: [256, 136], // IQ4_XS
  24: [1, 1], // I8
  25: [1, 2], // I16
  26: [1, 4], // I32
  27: [1, 8], // I64
  28: [1, 8], // F64
  29: [256, 56], // IQ1_M
  30: [1, 2], // BF16
  34: [256, 54], // TQ1_0
  35: [256, 66], // TQ2_0
  39: [32, 17], // MXFP4
};

/** GGUF value types: byte sizes of the fixed-width ones (8 = string, 9 = array). */
const FIXED_SIZE: Readonly<Record<number, number>> = {
  0: 1,
  1: 1,
  2: 2,
  3: 2,
  4: 4,
  5: 4,
  6: 4,
  7: 1,
  10: 8,
  11: 8,
  12: 8,
};
const STRING = 8;
const ARRAY = 9;

class NeedMore extends Error {}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** Reads from a window of the file; asks for more (NeedMore) until the whole file is in view. */
class Cursor {
  pos = 0;
  readonly view: DataView;
  constructor(readonly buf: Uint8Array, readonly fileSize: number) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }
  need(n: number, what: string): void {
    if (this.pos + n > this.fileSize) {
      throw new RangeError(`truncated: ${what} runs past the end of the file`);
    }
    if (this.pos + n > this.buf.length) throw new NeedMore();
  }
  u32(what: string): number {
    this.need(4, what);
    const v = this.view.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }
  u64(what: string): number {
    this.need(8, what);
    const v = this.view.getBigUint64(this.pos, true);
    this.pos += 8;
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError(`${what} ${v} is out of range`);
    return Number(v);
  }
  skip(n: number, what: string): void {
    this.need(n, what);
    this.pos += n;
  }
  str(what: string): string {
    const n = this.u64(`${what} length`);
    this.need(n, what);
    let s: string;
    try {
      s = utf8.decode(this.buf.subarray(this.pos, this.pos + n));
    } catch {
      throw new RangeError(`${what} is not UTF-8`);
    }
    this.pos += n;
    return s;
  }
  scalar(type: number, what: string): GgufScalar {
    const size = FIXED_SIZE[type];
    if (type === STRING) return this.str(what);
    if (size === undefined) throw new RangeError(`${what} has unknown value type ${type}`);
    this.need(size, what);
    const v = this.view;
    const p = this.pos;
    this.pos += size;
    switch (type) {
      case 0:
        return v.getUint8(p);
      case 1:
        return v.getInt8(p);
      case 2:
        return v.getUint16(p, true);
      case 3:
        return v.getInt16(p, true);
      case 4:
        return v.getUint32(p, true);
      case 5:
        return v.getInt32(p, true);
      case 6:
        return v.getFloat32(p, true);
      case 7:
        return v.getUint8(p) !== 0;
      case 10:
        return v.getBigUint64(p, true);
      case 11:
        return v.getBigInt64(p, true);
      default:
        return v.getFloat64(p, true);
    }
  }
}

function readValue(c: Cursor, type: number, key: string, arrays: boolean): GgufMetaValue {
  if (type !== ARRAY) return c.scalar(type, `value of ${key}`);
  const itemType = c.u32(`array type of ${key}`);
  const length = c.u64(`array length of ${key}`);
  if (arrays) return { arrayOf: itemType, length, items: readItems(c, itemType, length, key) };
  if (itemType === STRING) {
    // Each string advances the cursor by at least its 8-byte length: the loop ends at EOF.
    for (let i = 0; i < length; i++) c.skip(c.u64(`${key}[${i}] length`), `${key}[${i}]`);
  } else {
    const size = FIXED_SIZE[itemType];
    if (size === undefined) throw new RangeError(`${key} is an array of unknown type ${itemType}`);
    c.skip(length * size, `array ${key}`);
  }
  return { arrayOf: itemType, length };
}

function readItems(c: Cursor, itemType: number, length: number, key: string): GgufScalar[] {
  if (itemType !== STRING && FIXED_SIZE[itemType] === undefined) {
    throw new RangeError(`${key} is an array of unknown type ${itemType}`);
  }
  // The least the items can take (a string is at least its 8-byte length) must be in the file
  // before the array is allocated; each item then advances the cursor by at least a byte.
  const itemBytes = itemType === STRING ? 8 : FIXED_SIZE[itemType]!;
  c.need(length * itemBytes, `array ${key}`);
  if (length > MAX_ARRAY_ITEMS) {
    throw new RangeError(`array ${key} has ${length} items (at most ${MAX_ARRAY_ITEMS} are read)`);
  }
  const items = new Array<GgufScalar>(length);
  for (let i = 0; i < length; i++) items[i] = c.scalar(itemType, `${key}[${i}]`);
  return items;
}

function parseHeader(
  buf: Uint8Array,
  fileSize: number,
  path: string,
  arrays: boolean,
): GgufHeader {
  const c = new Cursor(buf, fileSize);
  if (fileSize < 4 || c.u32("magic") !== GGUF_MAGIC) {
    throw new RangeError("not a GGUF file (its first bytes are not the GGUF magic)");
  }
  const version = c.u32("version");
  if (version !== 2 && version !== 3) {
    throw new RangeError(`GGUF version ${version} is not supported (2 or 3)`);
  }
  const nTensors = c.u64("tensor count");
  const nKv = c.u64("metadata count");
  if (nTensors > MAX_TENSORS) throw new RangeError(`tensor count ${nTensors} is implausible`);
  if (nKv > MAX_KVS) throw new RangeError(`metadata count ${nKv} is implausible`);
  const metadata = new Map<string, GgufMetaValue>();
  const metadataTypes = new Map<string, number>();
  for (let i = 0; i < nKv; i++) {
    const key = c.str(`metadata key ${i}`);
    if (metadata.has(key)) throw new RangeError(`metadata key ${key} appears twice`);
    const type = c.u32(`type of ${key}`);
    metadata.set(key, readValue(c, type, key, arrays));
    metadataTypes.set(key, type);
  }
  const tensors: GgufTensor[] = [];
  const names = new Set<string>();
  for (let i = 0; i < nTensors; i++) {
    const name = c.str(`tensor ${i} name`);
    if (names.has(name)) throw new RangeError(`tensor ${name} appears twice`);
    names.add(name);
    const nDims = c.u32(`tensor ${name} dimension count`);
    if (nDims < 1 || nDims > MAX_DIMS) {
      throw new RangeError(`tensor ${name} has ${nDims} dimensions (1 to ${MAX_DIMS})`);
    }
    const shape: number[] = [];
    for (let d = 0; d < nDims; d++) shape.push(c.u64(`tensor ${name} dimension ${d}`));
    const type = c.u32(`tensor ${name} type`);
    const offset = c.u64(`tensor ${name} offset`);
    const elements = shape.reduce((a, b) => a * b, 1);
    const layout = TYPE_LAYOUT[type];
    let size: number | null = null;
    if (layout) {
      if (elements % layout[0] !== 0 || (shape[0] ?? 0) % layout[0] !== 0) {
        throw new RangeError(
          `tensor ${name}: ${shape.join("x")} is not whole blocks of type ${type}`,
        );
      }
      size = (elements / layout[0]) * layout[1];
      if (!Number.isSafeInteger(size)) throw new RangeError(`tensor ${name} is implausibly large`);
    }
    tensors.push({ name, shape, type, offset, size });
  }
  const al = metadata.get("general.alignment");
  const alignment = typeof al === "number" ? al : 32;
  if (!Number.isInteger(alignment) || alignment < 1 || (alignment & (alignment - 1)) !== 0) {
    throw new RangeError(`general.alignment ${alignment} is not a power of two`);
  }
  const dataOffset = Math.ceil(c.pos / alignment) * alignment;
  const dataBytes = fileSize - dataOffset;
  if (tensors.length > 0 && dataBytes < 0) {
    throw new RangeError("truncated: the file ends before its tensor data starts");
  }
  for (const t of tensors) {
    if (t.offset % alignment !== 0) {
      throw new RangeError(`tensor ${t.name} offset ${t.offset} is not ${alignment}-byte aligned`);
    }
    const end = t.offset + (t.size ?? 1);
    if (end > dataBytes) {
      throw new RangeError(
        `tensor ${t.name} (bytes ${t.offset}..${end} of the data section) lies past the end of ` +
          `the file (data section of ${dataBytes} bytes): truncated or corrupt`,
      );
    }
  }
  const arch = metadata.get("general.architecture");
  if (typeof arch !== "string" || arch === "") {
    throw new RangeError("general.architecture is missing");
  }
  return {
    path,
    version,
    fileSize,
    metadata,
    metadataTypes,
    tensors,
    alignment,
    dataOffset,
    architecture: arch,
  };
}

/** Reads and checks a GGUF's header and tensor table; the header is read in growing windows. */
export async function readGgufHeader(
  path: string,
  options: GgufReadOptions = {},
): Promise<GgufHeader> {
  const arrays = options.arrays ?? false;
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true });
  } catch (e) {
    if (e instanceof Deno.errors.NotCapable || e instanceof Deno.errors.PermissionDenied) {
      // Deno's own text says "run again with --allow-read": an operator cannot do that to a
      // running server, whose grants were fixed at start.
      throw new GgufCheckError(
        path,
        "cannot open: this process may not read it (read access is granted per file at start; " +
          "a path that now leads elsewhere, such as a re-pointed symlink, needs a restart)",
      );
    }
    throw new GgufCheckError(path, `cannot open: ${(e as Error).message}`);
  }
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
        return parseHeader(
          buf,
          Math.min(fileSize, buf.length < want ? buf.length : fileSize),
          path,
          arrays,
        );
      } catch (e) {
        if (e instanceof NeedMore && want < fileSize) {
          want = Math.min(fileSize, want * 4);
          continue;
        }
        const reason = e instanceof NeedMore ? "truncated header" : (e as Error).message;
        throw new GgufCheckError(path, reason);
      }
    }
  } finally {
    file.close();
  }
}

export function metaString(h: GgufHeader, key: string): string | null {
  const v = h.metadata.get(key);
  return typeof v === "string" ? v : null;
}

export function metaNumber(h: GgufHeader, key: string): number | null {
  const v = h.metadata.get(key);
  if (typeof v === "number") return v;
  if (typeof v === "bigint" && v <= BigInt(Number.MAX_SAFE_INTEGER)) return Number(v);
  return null;
}

export function metaBool(h: GgufHeader, key: string): boolean | null {
  const v = h.metadata.get(key);
  return typeof v === "boolean" ? v : null;
}

/** An array's items; throws when the header was read without `{ arrays: true }`. */
function arrayItems(h: GgufHeader, key: string, v: GgufArray): readonly GgufScalar[] {
  if (!v.items) {
    throw new Error(
      `${h.path}: metadata array ${key} was not read; read the header with { arrays: true }`,
    );
  }
  return v.items;
}

/** A string array (a vocabulary, its merges), or null when absent or of another type. */
export function metaStringArray(h: GgufHeader, key: string): readonly string[] | null {
  const v = h.metadata.get(key);
  if (typeof v !== "object" || v.arrayOf !== STRING) return null;
  return arrayItems(h, key, v) as readonly string[];
}

/** GGUF types whose items read as JS numbers: u8 … i32, f32, f64 (not 64-bit integers). */
const NUMBER_ITEM_TYPES: ReadonlySet<number> = new Set([0, 1, 2, 3, 4, 5, 6, 12]);

/** A numeric array (token types, image mean), or null when absent or of another type. */
export function metaNumberArray(h: GgufHeader, key: string): readonly number[] | null {
  const v = h.metadata.get(key);
  if (typeof v !== "object" || !NUMBER_ITEM_TYPES.has(v.arrayOf)) return null;
  return arrayItems(h, key, v) as readonly number[];
}

/**
 * One tensor's bytes, read from the file the header came from. The header check has already
 * placed the tensor inside the file; a file that changed since is refused.
 */
export async function readTensorBytes(h: GgufHeader, name: string): Promise<Uint8Array> {
  const t = h.tensors.find((x) => x.name === name);
  if (!t) throw new GgufCheckError(h.path, `has no tensor ${name}`);
  if (t.size === null) {
    throw new GgufCheckError(h.path, `tensor ${name} has type ${t.type}, of unknown byte size`);
  }
  let file: Deno.FsFile;
  try {
    file = await Deno.open(h.path, { read: true });
  } catch (e) {
    throw new GgufCheckError(h.path, `cannot open: ${(e as Error).message}`);
  }
  try {
    if ((await file.stat()).size !== h.fileSize) {
      throw new GgufCheckError(h.path, "changed size since its header was read");
    }
    await file.seek(h.dataOffset + t.offset, Deno.SeekMode.Start);
    const out = new Uint8Array(t.size);
    let off = 0;
    while (off < out.length) {
      const n = await file.read(out.subarray(off));
      if (n === null || n === 0) throw new GgufCheckError(h.path, `truncated inside ${name}`);
      off += n;
    }
    return out;
  } finally {
    file.close();
  }
}

/** The projector type of a `clip` GGUF (older files keep it under clip.vision.). */
export function projectorType(h: GgufHeader): string | null {
  return metaString(h, "clip.projector_type") ?? metaString(h, "clip.vision.projector_type");
}

/** A checked pair: the text model's header and the projector's, when given. */
export interface CheckedModelPair {
  readonly model: GgufHeader;
  readonly mmproj: GgufHeader | null;
}

/**
 * Checks the text model and the projector, each for its role: the text model must not be a
 * `clip` file, the projector must be one with a vision encoder and a projector type, and the
 * projector's output width must match the text model's embedding width.
 */
export async function checkModelPair(
  modelPath: string,
  mmprojPath: string | null,
): Promise<CheckedModelPair> {
  const model = await readGgufHeader(modelPath);
  if (model.architecture === "clip") {
    throw new GgufCheckError(
      modelPath,
      "is a vision projector (architecture clip), not a text model; pass it with --mmproj " +
        "and the text GGUF with --model",
    );
  }
  if (!mmprojPath) return { model, mmproj: null };
  const mmproj = await readGgufHeader(mmprojPath);
  if (mmproj.architecture !== "clip") {
    throw new GgufCheckError(
      mmprojPath,
      `is a text model (architecture ${mmproj.architecture}), not a vision projector; pass ` +
        `it with --model and the mmproj-*.gguf file with --mmproj`,
    );
  }
  if (metaBool(mmproj, "clip.has_vision_encoder") === false) {
    throw new GgufCheckError(mmprojPath, "has no vision encoder (clip.has_vision_encoder false)");
  }
  if (!projectorType(mmproj)) {
    throw new GgufCheckError(mmprojPath, "names no projector type (clip.projector_type)");
  }
  const projected = metaNumber(mmproj, "clip.vision.projection_dim");
  const embedding = metaNumber(model, `${model.architecture}.embedding_length`);
  if (projected !== null && embedding !== null && projected !== embedding) {
    throw new GgufCheckError(
      mmprojPath,
      `projects to ${projected}-wide embeddings but ${modelPath} is ${embedding} wide: the ` +
        `projector belongs to another model`,
    );
  }
  return { model, mmproj };
}
