/**
 * GGUF v3 constants and value types shared by the writer and the reader.
 *
 * Spec: https://github.com/ggml-org/ggml/blob/master/docs/gguf.md (and ggml/src/gguf.cpp in the
 * llama.cpp tree). All integers are little-endian.
 *
 * @module
 */

/** The four magic bytes `GGUF` read as a little-endian u32. */
export const GGUF_MAGIC = 0x46554747;
export const GGUF_VERSION = 3;
export const GGUF_DEFAULT_ALIGNMENT = 32;

/** GGUF metadata value type ids (`enum gguf_type`). */
export const GgufValueType = {
  UINT8: 0,
  INT8: 1,
  UINT16: 2,
  INT16: 3,
  UINT32: 4,
  INT32: 5,
  FLOAT32: 6,
  BOOL: 7,
  STRING: 8,
  ARRAY: 9,
  UINT64: 10,
  INT64: 11,
  FLOAT64: 12,
} as const;

/** Scalar metadata kinds, by short name. */
export type GgufScalarKind =
  | "u8"
  | "i8"
  | "u16"
  | "i16"
  | "u32"
  | "i32"
  | "f32"
  | "bool"
  | "string"
  | "u64"
  | "i64"
  | "f64";

export const SCALAR_KIND_TO_TYPE: Readonly<Record<GgufScalarKind, number>> = {
  u8: GgufValueType.UINT8,
  i8: GgufValueType.INT8,
  u16: GgufValueType.UINT16,
  i16: GgufValueType.INT16,
  u32: GgufValueType.UINT32,
  i32: GgufValueType.INT32,
  f32: GgufValueType.FLOAT32,
  bool: GgufValueType.BOOL,
  string: GgufValueType.STRING,
  u64: GgufValueType.UINT64,
  i64: GgufValueType.INT64,
  f64: GgufValueType.FLOAT64,
};

export const TYPE_TO_SCALAR_KIND: Readonly<Record<number, GgufScalarKind>> = Object.fromEntries(
  Object.entries(SCALAR_KIND_TO_TYPE).map(([k, v]) => [v, k as GgufScalarKind]),
);

type NumberKind = "u8" | "i8" | "u16" | "i16" | "u32" | "i32" | "f32" | "f64";
type BigKind = "u64" | "i64";

/** One metadata value. 64-bit integers are bigints so they round-trip exactly. */
export type GgufValue =
  | { readonly type: NumberKind; readonly value: number }
  | { readonly type: BigKind; readonly value: bigint }
  | { readonly type: "bool"; readonly value: boolean }
  | { readonly type: "string"; readonly value: string }
  | { readonly type: "array"; readonly itemType: NumberKind; readonly value: readonly number[] }
  | { readonly type: "array"; readonly itemType: BigKind; readonly value: readonly bigint[] }
  | { readonly type: "array"; readonly itemType: "bool"; readonly value: readonly boolean[] }
  | { readonly type: "array"; readonly itemType: "string"; readonly value: readonly string[] };

/** Convenience constructors for metadata values. */
export const gv = {
  u8: (value: number): GgufValue => ({ type: "u8", value }),
  i8: (value: number): GgufValue => ({ type: "i8", value }),
  u16: (value: number): GgufValue => ({ type: "u16", value }),
  i16: (value: number): GgufValue => ({ type: "i16", value }),
  u32: (value: number): GgufValue => ({ type: "u32", value }),
  i32: (value: number): GgufValue => ({ type: "i32", value }),
  f32: (value: number): GgufValue => ({ type: "f32", value }),
  f64: (value: number): GgufValue => ({ type: "f64", value }),
  u64: (value: bigint): GgufValue => ({ type: "u64", value }),
  i64: (value: bigint): GgufValue => ({ type: "i64", value }),
  bool: (value: boolean): GgufValue => ({ type: "bool", value }),
  str: (value: string): GgufValue => ({ type: "string", value }),
  arrStr: (value: readonly string[]): GgufValue => ({ type: "array", itemType: "string", value }),
  arrI32: (value: readonly number[]): GgufValue => ({ type: "array", itemType: "i32", value }),
  arrU32: (value: readonly number[]): GgufValue => ({ type: "array", itemType: "u32", value }),
  arrF32: (value: readonly number[]): GgufValue => ({ type: "array", itemType: "f32", value }),
  arrBool: (value: readonly boolean[]): GgufValue => ({ type: "array", itemType: "bool", value }),
  arrI64: (value: readonly bigint[]): GgufValue => ({ type: "array", itemType: "i64", value }),
} as const;

/** ggml tensor types this package can write (`enum ggml_type`). */
export const GgmlType = {
  F32: 0,
  F16: 1,
  Q8_0: 8,
} as const;
export type GgmlType = typeof GgmlType[keyof typeof GgmlType];

/** Block size (elements) and bytes per block for each supported tensor type. */
export const GGML_TYPE_LAYOUT: Readonly<
  Record<number, { blockElems: number; blockBytes: number }>
> = {
  [GgmlType.F32]: { blockElems: 1, blockBytes: 4 },
  [GgmlType.F16]: { blockElems: 1, blockBytes: 2 },
  [GgmlType.Q8_0]: { blockElems: 32, blockBytes: 34 },
};

export const GGML_TYPE_NAME: Readonly<Record<number, string>> = {
  [GgmlType.F32]: "F32",
  [GgmlType.F16]: "F16",
  [GgmlType.Q8_0]: "Q8_0",
};

/** Bytes a tensor of `type` with `nElements` elements occupies. */
export function tensorByteSize(type: number, nElements: number): number {
  const layout = GGML_TYPE_LAYOUT[type];
  if (!layout) throw new Error(`unsupported ggml type ${type}`);
  if (nElements % layout.blockElems !== 0) {
    throw new Error(
      `${GGML_TYPE_NAME[type]} needs a multiple of ${layout.blockElems} elements, got ${nElements}`,
    );
  }
  return (nElements / layout.blockElems) * layout.blockBytes;
}

export function alignUp(n: number, alignment: number): number {
  return Math.ceil(n / alignment) * alignment;
}
