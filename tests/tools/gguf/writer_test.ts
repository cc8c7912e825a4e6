/**
 * The GGUF writer, checked by reading its files back with the service's reader
 * (src/models/gguf.ts): every metadata type, tensor infos, alignment and data.
 */
import assert from "node:assert/strict";
import { type GgufHeader, readGgufHeader, readTensorBytes } from "../../../src/models/gguf.ts";
import { GgmlType, type GgufValue, gv, TYPE_TO_SCALAR_KIND } from "../../../tools/gguf/types.ts";
import { quantizeQ8_0, type TensorSpec, writeGguf } from "../../../tools/gguf/writer.ts";

const METADATA: Array<[string, GgufValue]> = [
  ["general.architecture", gv.str("test")],
  ["t.u8", gv.u8(255)],
  ["t.i8", gv.i8(-128)],
  ["t.u16", gv.u16(65535)],
  ["t.i16", gv.i16(-32768)],
  ["t.u32", gv.u32(4294967295)],
  ["t.i32", gv.i32(-2147483648)],
  ["t.f32", gv.f32(0.5)],
  ["t.f64", gv.f64(Math.PI)],
  ["t.u64", gv.u64(2n ** 63n + 5n)],
  ["t.i64", gv.i64(-(2n ** 62n))],
  ["t.bool", gv.bool(true)],
  ["t.str", gv.str("héllo ✓ <|im_start|>\n")],
  ["t.arr.str", gv.arrStr(["a", "", "Ġb", "日本"])],
  ["t.arr.i32", gv.arrI32([1, -2, 3])],
  ["t.arr.u32", gv.arrU32([0, 4294967295])],
  ["t.arr.f32", gv.arrF32([0.25, -1.5])],
  ["t.arr.bool", gv.arrBool([true, false])],
  ["t.arr.i64", gv.arrI64([1n, -1n])],
  ["t.arr.empty", gv.arrStr([])],
];

/** The reader's value for `key`, tagged with its GGUF type the way the writer's `gv` tags it. */
function tagged(h: GgufHeader, key: string): GgufValue | undefined {
  const v = h.metadata.get(key);
  const type = h.metadataTypes.get(key);
  if (v === undefined || type === undefined) return undefined;
  if (typeof v === "object") {
    return { type: "array", itemType: TYPE_TO_SCALAR_KIND[v.arrayOf], value: v.items } as GgufValue;
  }
  return { type: TYPE_TO_SCALAR_KIND[type], value: v } as GgufValue;
}

function ramp(n: number, scale = 1): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => ((i % 97) - 48) * scale);
}

async function withTemp<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "gguf-test-" });
  try {
    return await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("writeGguf() writes metadata of every type that reads back with its type", async () => {
  await withTemp(async (dir) => {
    const path = `${dir}/meta.gguf`;
    await writeGguf(path, METADATA, []);
    const g = await readGgufHeader(path, { arrays: true });
    assert.equal(g.version, 3);
    assert.deepEqual([...g.metadata.keys()], METADATA.map(([k]) => k));
    for (const [k, v] of METADATA) assert.deepEqual(tagged(g, k), v, k);
    assert.equal(g.tensors.length, 0);
  });
});

Deno.test("writeGguf() writes tensor infos, alignment and data that read back", async () => {
  await withTemp(async (dir) => {
    const f32 = ramp(5 * 3, 0.125);
    const f16 = ramp(64 * 2, 0.5);
    const q8 = ramp(32 * 4, 0.01);
    const raw = new Uint8Array(7 * 2).map((_, i) => i);
    let filled = 0;
    const tensors: TensorSpec[] = [
      { name: "a.f32", shape: [5, 3], type: GgmlType.F32, data: f32 },
      { name: "b.f16", shape: [64, 2], type: GgmlType.F16, data: f16 },
      { name: "c.q8", shape: [32, 4], type: GgmlType.Q8_0, data: q8 },
      { name: "d.raw", shape: [7], type: GgmlType.F16, data: raw },
      {
        name: "e.fill",
        shape: [10, 10, 1, 1],
        type: GgmlType.F32,
        data: (out, start) => {
          assert.equal(start, filled);
          for (let i = 0; i < out.length; i++) out[i] = start + i;
          filled += out.length;
        },
      },
    ];
    for (const alignment of [32, 64]) {
      const path = `${dir}/t${alignment}.gguf`;
      filled = 0;
      const res = await writeGguf(path, [["general.architecture", gv.str("x")]], tensors, {
        alignment,
        chunkElements: 32, // force several chunks for the filler
      });
      const g = await readGgufHeader(path);
      assert.equal(g.alignment, alignment);
      assert.equal(g.dataOffset, res.dataOffset);
      assert.equal(g.dataOffset % alignment, 0);
      assert.equal(g.metadata.has("general.alignment"), alignment !== 32);
      assert.deepEqual(
        g.tensors.map((t) => [t.name, t.shape, t.type]),
        tensors.map((t) => [t.name, t.shape, t.type]),
      );
      for (const t of g.tensors) assert.equal(t.offset % alignment, 0, t.name);
      assert.deepEqual(g.tensors.map((t) => t.size), [60, 256, 4 * 34, 14, 400]);
      // ggml expects the data section to include the padding after the last tensor
      const last = g.tensors.at(-1)!;
      const stat = await Deno.stat(path);
      assert.equal(
        stat.size,
        g.dataOffset + Math.ceil((last.offset + last.size!) / alignment) * alignment,
      );
      assert.equal(stat.size, res.bytes);

      const a = await readTensorBytes(g, "a.f32");
      assert.deepEqual(new Float32Array(a.buffer), f32);
      const b = await readTensorBytes(g, "b.f16");
      assert.deepEqual(Float32Array.from(new Float16Array(b.buffer)), f16); // exact in f16
      const c = await readTensorBytes(g, "c.q8");
      const expectQ = new Uint8Array(4 * 34);
      quantizeQ8_0(q8, expectQ);
      assert.deepEqual(c, expectQ);
      assert.deepEqual(await readTensorBytes(g, "d.raw"), raw);
      const e = await readTensorBytes(g, "e.fill");
      assert.deepEqual(new Float32Array(e.buffer), Float32Array.from({ length: 100 }, (_, i) => i));
      assert.equal(filled, 100);
    }
  });
});

Deno.test("quantizeQ8_0() matches ggml's reference and dequantizes closely", () => {
  const x = Float32Array.from({ length: 64 }, (_, i) => Math.sin(i) * (i < 32 ? 1 : 0.001));
  const out = new Uint8Array(2 * 34);
  quantizeQ8_0(x, out);
  for (let b = 0; b < 2; b++) {
    const d = new Float16Array(out.buffer.slice(b * 34, b * 34 + 2))[0]!;
    const q = new Int8Array(out.buffer, b * 34 + 2, 32);
    let amax = 0;
    for (let j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(x[b * 32 + j]!));
    assert.ok(Math.abs(d - amax / 127) <= (amax / 127) * 1e-3);
    assert.equal(Math.max(...Array.from(q, Math.abs)), 127);
    for (let j = 0; j < 32; j++) assert.ok(Math.abs(q[j]! * d - x[b * 32 + j]!) <= d * 0.51);
  }
  // all-zero block: scale 0, quants 0
  const z = new Uint8Array(34).fill(7);
  quantizeQ8_0(new Float32Array(32), z);
  assert.deepEqual(z, new Uint8Array(34));
});

Deno.test("writeGguf() rejects bad input and leaves no partial file", async () => {
  await withTemp(async (dir) => {
    const path = `${dir}/bad.gguf`;
    await assert.rejects(
      writeGguf(path, [["k", gv.u8(1)], ["k", gv.u8(2)]], []),
      /duplicate metadata key/,
    );
    await assert.rejects(writeGguf(path, [["k", gv.u8(256)]], []), /out of range/);
    await assert.rejects(
      writeGguf(path, [], [{ name: "q", shape: [16], type: GgmlType.Q8_0, data: ramp(16) }]),
      /block size/,
    );
    await assert.rejects(
      writeGguf(path, [], [{
        name: "boom",
        shape: [8],
        type: GgmlType.F32,
        data: () => {
          throw new Error("filler failed");
        },
      }]),
      /filler failed/,
    );
    assert.deepEqual([...Deno.readDirSync(dir)], []);
  });
});
