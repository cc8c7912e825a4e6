/**
 * The TypeScript GGUF check on small files written by the project's GGUF writer: valid pairs
 * pass; truncated files, a wrong magic, a tensor offset past the end and swapped roles fail
 * with a reason.
 */
import assert from "node:assert/strict";
import { checkModelPair, GgufCheckError, readGgufHeader } from "../../src/models/gguf.ts";
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
  const name = new TextEncoder().encode("b.weight");
  let at = -1;
  for (let i = 0; i + name.length <= bytes.length && at < 0; i++) {
    if (name.every((b, j) => bytes[i + j] === b)) at = i;
  }
  assert.ok(at > 0);
  const offsetPos = at + name.length + 4 + 2 * 8 + 4;
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
