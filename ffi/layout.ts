/**
 * C struct layouts for structs passed by value. Fields are declared with their C types; offsets
 * follow the x86-64/aarch64 SysV rules (each field aligned to its size, struct padded to its
 * largest alignment). tests/ffi/layout.test.ts compiles a C probe against llama.cpp's headers
 * and fails when any offset or size here disagrees with the compiler's.
 */

export type ScalarType =
  | "bool"
  | "i8"
  | "u8"
  | "i32"
  | "u32"
  | "f32"
  | "i64"
  | "u64"
  | "usize"
  | "pointer"
  | "function";

const SIZES: Record<ScalarType, number> = {
  bool: 1,
  i8: 1,
  u8: 1,
  i32: 4,
  u32: 4,
  f32: 4,
  i64: 8,
  u64: 8,
  usize: 8,
  pointer: 8,
  function: 8,
};

/** Deno's FFI name for each C scalar (C enums are 4-byte ints on these ABIs). */
const FFI_TYPES: Record<ScalarType, Deno.NativeType> = {
  bool: "bool",
  i8: "i8",
  u8: "u8",
  i32: "i32",
  u32: "u32",
  f32: "f32",
  i64: "i64",
  u64: "u64",
  usize: "usize",
  pointer: "pointer",
  function: "function",
};

export interface FieldLayout {
  readonly name: string;
  readonly type: ScalarType;
  readonly offset: number;
  readonly size: number;
}

export interface StructLayout<F extends string = string> {
  /** The C name, as the probe prints it. */
  readonly cName: string;
  readonly size: number;
  readonly align: number;
  readonly fields: Readonly<Record<F, FieldLayout>>;
  /** For Deno.dlopen parameter/result declarations. */
  readonly ffiType: { readonly struct: readonly Deno.NativeType[] };
}

/** A field: name, C scalar type, and an element count for fixed-size arrays (`T name[N]`). */
export type FieldSpec<F extends string> =
  | readonly [F, ScalarType]
  | readonly [F, ScalarType, number];

export function defineStruct<const F extends string>(
  cName: string,
  fields: readonly FieldSpec<F>[],
): StructLayout<F> {
  let offset = 0;
  let align = 1;
  const out = {} as Record<F, FieldLayout>;
  const ffi: Deno.NativeType[] = [];
  for (const [name, type, count = 1] of fields) {
    const unit = SIZES[type];
    offset = Math.ceil(offset / unit) * unit;
    out[name] = { name, type, offset, size: unit * count };
    offset += unit * count;
    align = Math.max(align, unit);
    for (let i = 0; i < count; i++) ffi.push(FFI_TYPES[type]);
  }
  return {
    cName,
    size: Math.ceil(offset / align) * align,
    align,
    fields: out,
    ffiType: { struct: ffi },
  };
}

/**
 * A struct value in JS memory: reads and writes fields by name through a DataView. Pass
 * `.bytes` where Deno expects the struct by value.
 */
export class StructBuffer<F extends string> {
  readonly layout: StructLayout<F>;
  readonly bytes: Uint8Array<ArrayBuffer>;
  readonly #view: DataView;

  constructor(layout: StructLayout<F>, bytes?: Uint8Array) {
    this.layout = layout;
    this.bytes = new Uint8Array(layout.size);
    if (bytes) {
      if (bytes.byteLength !== layout.size) {
        throw new Error(`${layout.cName}: got ${bytes.byteLength} bytes, expected ${layout.size}`);
      }
      this.bytes.set(bytes);
    }
    this.#view = new DataView(this.bytes.buffer);
  }

  get(name: F): number | bigint | boolean {
    const { type, offset } = this.layout.fields[name];
    const v = this.#view;
    switch (type) {
      case "bool":
        return v.getUint8(offset) !== 0;
      case "i8":
        return v.getInt8(offset);
      case "u8":
        return v.getUint8(offset);
      case "i32":
        return v.getInt32(offset, true);
      case "u32":
        return v.getUint32(offset, true);
      case "f32":
        return v.getFloat32(offset, true);
      case "i64":
        return v.getBigInt64(offset, true);
      default:
        return v.getBigUint64(offset, true);
    }
  }

  getNumber(name: F): number {
    return Number(this.get(name));
  }

  getPointer(name: F): Deno.PointerValue {
    return Deno.UnsafePointer.create(
      this.#view.getBigUint64(this.layout.fields[name].offset, true),
    );
  }

  set(name: F, value: number | bigint | boolean): this {
    const { type, offset } = this.layout.fields[name];
    const v = this.#view;
    switch (type) {
      case "bool":
        v.setUint8(offset, value ? 1 : 0);
        break;
      case "i8":
        v.setInt8(offset, Number(value));
        break;
      case "u8":
        v.setUint8(offset, Number(value));
        break;
      case "i32":
        v.setInt32(offset, Number(value), true);
        break;
      case "u32":
        v.setUint32(offset, Number(value), true);
        break;
      case "f32":
        v.setFloat32(offset, Number(value), true);
        break;
      case "i64":
        v.setBigInt64(offset, BigInt(value), true);
        break;
      default:
        v.setBigUint64(offset, BigInt(value), true);
    }
    return this;
  }

  setPointer(name: F, pointer: Deno.PointerValue): this {
    const address = pointer === null ? 0n : BigInt(Deno.UnsafePointer.value(pointer));
    this.#view.setBigUint64(this.layout.fields[name].offset, address, true);
    return this;
  }
}
