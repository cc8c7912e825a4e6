/**
 * The TypeScript GGUF reader on small files written by the project's GGUF writer: valid pairs
 * pass; truncated files, a wrong magic, a tensor offset past the end, swapped roles and array
 * lengths the file cannot hold fail with a reason; arrays' items and tensor bytes read back.
 */
import assert from "node:assert/strict";
import {
  checkModelPair,
  GgufCheckError,
  metaNumberArray,
  metaString,
  metaStringArray,
  readGgufHeader,
  readTensorBytes,
} from "../../src/models/gguf.ts";
import { writeGguf } from "../../tools/gguf/writer.ts";
import { GgmlType, gv } from "../../tools/gguf/types.ts";

const textMeta = [
  ["general.architecture", gv.str("llama")],
  ["llama.context_length", gv.u32(2048)],
  ["llama.embedding_length", gv.u32(64)],
  ["tokenizer.ggml.tokens", gv.arrStr(["<unk>", "a", "b"])],
] as const;

const clipMeta = (projectionDim: number) =>
  [
    ["general.architecture", gv.str("clip")],
    ["clip.has_vision_encoder", gv.bool(true)],
    ["clip.projector_type", gv.str("idefics3")],
    ["clip.vision.projection_dim", gv.u32(projectionDim)],
    ["clip.vision.image_size", gv.u32(512)],
    ["clip.vision.patch_size", gv.u32(16)],
    ["clip.vision.projector.scale_factor", gv.u32(4)],
  ] as const;

const tensors = [
  { name: "a.weight", shape: [64, 4], type: GgmlType.F32, data: new Float32Array(256) },
  { name: "b.weight", shape: [64, 2], type: GgmlType.Q8_0, data: new Float32Array(128) },
];

async function pair(dir: string, projectionDim = 64) {
  const model = `${dir}/model.gguf`;
  const mmproj = `${dir}/mmproj.gguf`;
  await writeGguf(model, textMeta, tensors);
  await writeGguf(mmproj, clipMeta(projectionDim), tensors);
  return { model, mmproj };
}

/** Where `text` first occurs in `bytes` (a key or tensor name), to patch the fields after it. */
function indexOf(bytes: Uint8Array, text: string): number {
  const needle = new TextEncoder().encode(text);
  for (let i = 0; i + needle.length <= bytes.length; i++) {
    if (needle.every((b, j) => bytes[i + j] === b)) return i;
  }
  throw new Error(`${text} is not in the file`);
}

async function rejectsWith(p: Promise<unknown>, pattern: RegExp): Promise<void> {
  await assert.rejects(p, (e: Error) => {
    assert.ok(e instanceof GgufCheckError, `a GgufCheckError, got ${e}`);
    assert.match(e.message, pattern);
    return true;
  });
}

Deno.test("checkModelPair() accepts a text model and its projector and reports their headers", async () => {
  const dir = await Deno.makeTempDir();
  const { model, mmproj } = await pair(dir);
  const checked = await checkModelPair(model, mmproj);
  assert.equal(checked.model.architecture, "llama");
  assert.equal(checked.mmproj?.architecture, "clip");
  assert.equal(checked.model.tensors.length, 2);
  assert.equal(checked.model.tensors[1]!.size, 2 * 34 * 2);
  assert.equal(checked.model.metadata.get("llama.context_length"), 2048);
  assert.deepEqual(checked.model.metadata.get("tokenizer.ggml.tokens"), { arrayOf: 8, length: 3 });
  await Deno.remove(dir, { recursive: true });
});

Deno.test("readGgufHeader() refuses a truncated file at every cut", async () => {
  const dir = await Deno.makeTempDir();
  const { model } = await pair(dir);
  const bytes = await Deno.readFile(model);
  const cut = `${dir}/cut.gguf`;
  // Inside the header, inside the metadata, inside the tensor table, inside the data.
  for (const n of [0, 3, 10, 40, 120, bytes.length - 200, bytes.length - 40]) {
    await Deno.writeFile(cut, bytes.subarray(0, n));
    await rejectsWith(readGgufHeader(cut), /truncated|not a GGUF|past the end/);
  }
  await Deno.remove(dir, { recursive: true });
});

Deno.test("readGgufHeader() refuses a wrong magic and an unknown version", async () => {
  const dir = await Deno.makeTempDir();
  const { model } = await pair(dir);
  const bytes = await Deno.readFile(model);
  const bad = bytes.slice();
  bad.set(new TextEncoder().encode("GGML"), 0);
  await Deno.writeFile(`${dir}/magic.gguf`, bad);
  await rejectsWith(readGgufHeader(`${dir}/magic.gguf`), /not a GGUF file/);
  const v = bytes.slice();
  new DataView(v.buffer).setUint32(4, 99, true);
  await Deno.writeFile(`${dir}/version.gguf`, v);
  await rejectsWith(readGgufHeader(`${dir}/version.gguf`), /version 99 is not supported/);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("readGgufHeader() refuses a tensor whose offset lies past the end of the file", async () => {
  const dir = await Deno.makeTempDir();
  const { model } = await pair(dir);
  const bytes = await Deno.readFile(model);
  // The tensor table entry: name, n_dims (u32), dims (u64 each), type (u32), offset (u64).
  const offsetPos = indexOf(bytes, "b.weight") + "b.weight".length + 4 + 2 * 8 + 4;
  const bad = bytes.slice();
  new DataView(bad.buffer).setBigUint64(offsetPos, 1n << 30n, true);
  await Deno.writeFile(`${dir}/offset.gguf`, bad);
  await rejectsWith(readGgufHeader(`${dir}/offset.gguf`), /tensor b\.weight .* past the end/);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("checkModelPair() names a swapped pair and a projector of another model", async () => {
  const dir = await Deno.makeTempDir();
  const { model, mmproj } = await pair(dir);
  await rejectsWith(
    checkModelPair(model, model),
    /is a text model \(architecture llama\).*--mmproj/,
  );
  await rejectsWith(checkModelPair(mmproj, null), /is a vision projector .*--model/);
  const other = await Deno.makeTempDir();
  const wide = await pair(other, 128);
  await rejectsWith(checkModelPair(model, wide.mmproj), /128-wide .* 64 wide/);
  await Deno.remove(dir, { recursive: true });
  await Deno.remove(other, { recursive: true });
});

Deno.test("readGgufHeader() refuses a projector without a projector type and a missing file", async () => {
  const dir = await Deno.makeTempDir();
  const { model } = await pair(dir);
  await writeGguf(`${dir}/p.gguf`, [["general.architecture", gv.str("clip")]], tensors);
  await rejectsWith(checkModelPair(model, `${dir}/p.gguf`), /no projector type/);
  await rejectsWith(readGgufHeader(`${dir}/absent.gguf`), /cannot open/);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("readGgufHeader() with { arrays: true } gives metaStringArray() and metaNumberArray() the items", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/arrays.gguf`;
  await writeGguf(path, [
    ["general.architecture", gv.str("llama")],
    ["tokenizer.ggml.tokens", gv.arrStr(["<unk>", "é ✓", ""])],
    ["tokenizer.ggml.token_type", gv.arrI32([2, 1, -1])],
    ["clip.vision.image_mean", gv.arrF32([0.5, 0.25])],
    ["t.flags", gv.arrBool([true, false])],
    ["t.big", gv.arrI64([1n, -(2n ** 40n)])],
  ], tensors);
  const h = await readGgufHeader(path, { arrays: true });
  assert.deepEqual(metaStringArray(h, "tokenizer.ggml.tokens"), ["<unk>", "é ✓", ""]);
  assert.deepEqual(metaNumberArray(h, "tokenizer.ggml.token_type"), [2, 1, -1]);
  assert.deepEqual(metaNumberArray(h, "clip.vision.image_mean"), [0.5, 0.25]);
  assert.deepEqual(h.metadata.get("t.flags"), { arrayOf: 7, length: 2, items: [true, false] });
  assert.deepEqual(h.metadata.get("t.big"), { arrayOf: 11, length: 2, items: [1n, -(2n ** 40n)] });
  assert.equal(h.metadataTypes.get("general.architecture"), 8); // string
  assert.equal(h.metadataTypes.get("t.big"), 9); // array
  // Absent or of another type: null, as metaString() and metaNumber() answer.
  assert.equal(metaStringArray(h, "absent"), null);
  assert.equal(metaStringArray(h, "tokenizer.ggml.token_type"), null);
  assert.equal(metaNumberArray(h, "tokenizer.ggml.tokens"), null);
  assert.equal(metaNumberArray(h, "t.big"), null);
  assert.equal(metaNumberArray(h, "general.architecture"), null);
  assert.equal(metaString(h, "tokenizer.ggml.tokens"), null);
  // The default read keeps type and length only, and an accessor says how to get the items.
  const plain = await readGgufHeader(path);
  assert.deepEqual(plain.metadata.get("tokenizer.ggml.tokens"), { arrayOf: 8, length: 3 });
  assert.throws(() => metaStringArray(plain, "tokenizer.ggml.tokens"), /arrays: true/);
  assert.throws(() => metaNumberArray(plain, "tokenizer.ggml.token_type"), /arrays: true/);
  assert.deepEqual(plain.tensors, h.tensors);
  assert.equal(plain.dataOffset, h.dataOffset);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("readGgufHeader() refuses array lengths the file cannot hold, with or without items", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/arrays.gguf`;
  await writeGguf(path, [
    ["general.architecture", gv.str("llama")],
    ["t.ids", gv.arrI32([1, 2, 3])],
    ["t.words", gv.arrStr(["ab", "cd"])],
  ], tensors);
  const bytes = await Deno.readFile(path);
  // An array value after its key: type (u32), item type (u32), length (u64), then the items.
  const idsLength = indexOf(bytes, "t.ids") + "t.ids".length + 8;
  const wordsLength = indexOf(bytes, "t.words") + "t.words".length + 8;
  const patched = async (at: number, value: bigint) => {
    const bad = bytes.slice();
    new DataView(bad.buffer).setBigUint64(at, value, true);
    await Deno.writeFile(`${dir}/bad.gguf`, bad);
    return `${dir}/bad.gguf`;
  };
  for (const arrays of [false, true]) {
    // 2^40 i32s, 2^40 strings, a 2^40-byte first string: each runs past the end, nothing is
    // allocated for them.
    for (const [at, value] of [[idsLength, 1n << 40n], [wordsLength, 1n << 40n]] as const) {
      await rejectsWith(readGgufHeader(await patched(at, value), { arrays }), /truncated/);
    }
    await rejectsWith(
      readGgufHeader(await patched(wordsLength + 8, 1n << 40n), { arrays }),
      /truncated/,
    );
  }
  // A file that does hold more than 2^22 items: the header reads, the items are refused.
  const many = new Array<number>((1 << 22) + 1).fill(7);
  await writeGguf(`${dir}/many.gguf`, [
    ["general.architecture", gv.str("llama")],
    ["t.many", { type: "array", itemType: "u8", value: many }],
  ], tensors);
  assert.deepEqual((await readGgufHeader(`${dir}/many.gguf`)).metadata.get("t.many"), {
    arrayOf: 0,
    length: many.length,
  });
  await rejectsWith(
    readGgufHeader(`${dir}/many.gguf`, { arrays: true }),
    /t\.many has 4194305 items \(at most 4194304/,
  );
  await Deno.remove(dir, { recursive: true });
});

Deno.test("readTensorBytes() reads one tensor's bytes and refuses an unknown name, type or changed file", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/model.gguf`;
  const a = Float32Array.from({ length: 256 }, (_, i) => (i - 100) / 8);
  await writeGguf(path, textMeta, [
    { name: "a.weight", shape: [64, 4], type: GgmlType.F32, data: a },
    { name: "b.weight", shape: [64, 2], type: GgmlType.Q8_0, data: new Float32Array(128) },
  ]);
  const h = await readGgufHeader(path);
  assert.deepEqual(new Float32Array((await readTensorBytes(h, "a.weight")).buffer), a);
  // Zeros quantize to a zero scale and zero quants: 4 blocks of 34 zero bytes.
  assert.deepEqual(await readTensorBytes(h, "b.weight"), new Uint8Array(4 * 34));
  await rejectsWith(readTensorBytes(h, "c.weight"), /has no tensor c\.weight/);

  // A ggml type this reader has no size for: the header still reads, its bytes do not.
  const bytes = await Deno.readFile(path);
  const typePos = indexOf(bytes, "b.weight") + "b.weight".length + 4 + 2 * 8;
  new DataView(bytes.buffer).setUint32(typePos, 99, true);
  await Deno.writeFile(`${dir}/type.gguf`, bytes);
  const unknown = await readGgufHeader(`${dir}/type.gguf`);
  assert.equal(unknown.tensors[1]!.size, null);
  await rejectsWith(readTensorBytes(unknown, "b.weight"), /type 99, of unknown byte size/);

  await Deno.truncate(path, h.fileSize - 64);
  await rejectsWith(readTensorBytes(h, "a.weight"), /changed size/);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("readGgufHeader() says a file this process may not read needs a restart, not a flag", async () => {
  const dir = await Deno.makeTempDir({ prefix: "gguf-denied-" });
  try {
    const gguf = `${dir}/model.gguf`;
    await Deno.writeFile(gguf, new Uint8Array([0x47, 0x47, 0x55, 0x46]));
    const module = new URL("../../src/models/gguf.ts", import.meta.url).href;
    const script = `import { readGgufHeader } from "${module}";\n` +
      `await readGgufHeader(${JSON.stringify(gguf)}).catch((e) => console.log(e.message));`;
    // No read grant for the file: as a running server sees a path whose target changed.
    const main = `${dir}/main.ts`;
    await Deno.writeTextFile(main, script);
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--no-prompt", "--no-config", main],
      env: { NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout);
    assert.match(text, /may not read it .* needs a restart/, new TextDecoder().decode(out.stderr));
    assert.ok(!text.includes("--allow-read"), text);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
