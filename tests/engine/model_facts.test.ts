/** Per-model facts come from the GGUF headers: SmolVLM's numbers are read, not assumed. */
import assert from "node:assert/strict";
import { imageTokenBudget, readModelFacts } from "../../src/engine/model_facts.ts";
import { writeGguf } from "../../tools/gguf/writer.ts";
import { GgmlType, gv } from "../../tools/gguf/types.ts";
import { SMOLVLM_CHAT_TEMPLATE } from "../../tools/gguf/smolvlm.ts";

const tensors = [{ name: "w", shape: [32], type: GgmlType.F32, data: new Float32Array(32) }];

async function write(dir: string, tile: number, patch: number, scale: number, template: boolean) {
  await writeGguf(`${dir}/m.gguf`, [
    ["general.architecture", gv.str("llama")],
    ["llama.context_length", gv.u32(8192)],
    ...(template ? [["tokenizer.chat_template", gv.str(SMOLVLM_CHAT_TEMPLATE)] as const] : []),
  ], tensors);
  await writeGguf(`${dir}/p.gguf`, [
    ["general.architecture", gv.str("clip")],
    ["clip.projector_type", gv.str("idefics3")],
    ["clip.vision.image_size", gv.u32(tile)],
    ["clip.vision.patch_size", gv.u32(patch)],
    ["clip.vision.projector.scale_factor", gv.u32(scale)],
  ], tensors);
}

Deno.test("readModelFacts() reads tile size, tokens per tile, template and context from the GGUFs", async () => {
  const dir = await Deno.makeTempDir();
  await write(dir, 512, 16, 4, true);
  const facts = await readModelFacts(`${dir}/m.gguf`, `${dir}/p.gguf`);
  assert.equal(facts.contextLength, 8192);
  assert.equal(facts.chatTemplate, SMOLVLM_CHAT_TEMPLATE);
  assert.equal(facts.vision?.tileSize, 512);
  assert.equal(facts.vision?.tokensPerTile, 64);
  assert.equal(facts.vision?.pixelsPerTokenSide, 64);
  assert.equal(facts.vision?.markers?.overview, "<global-img>");
  // 1024 px → 16x16 token sides: a 2x2 grid of 512 px tiles.
  assert.equal(imageTokenBudget(1024, facts.vision!), 256);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("readModelFacts() follows another tower's geometry and a missing template", async () => {
  const dir = await Deno.makeTempDir();
  await write(dir, 378, 14, 3, false);
  const facts = await readModelFacts(`${dir}/m.gguf`, `${dir}/p.gguf`);
  assert.equal(facts.chatTemplate, null);
  assert.equal(facts.vision?.tokensPerTile, 81); // (378 / 14 / 3)²
  assert.equal(facts.vision?.pixelsPerTokenSide, 42);
  assert.equal(imageTokenBudget(378, facts.vision!), 81);
  const textOnly = await readModelFacts(`${dir}/m.gguf`, null);
  assert.equal(textOnly.vision, null);
  await Deno.remove(dir, { recursive: true });
});
