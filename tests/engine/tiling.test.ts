/**
 * The engine's `info.tiling` and src/image's tileGrid() predict exactly what llama.cpp's idefics3
 * preprocessing does: the image reports' tile estimate against the encoder passes and image
 * tokens the engine ran, with and without the projector's preprocess size (the real SmolVLM
 * mmproj files carry 2048; the synthetic fixture has none).
 */
import assert from "node:assert/strict";
import { loadEngine } from "../../src/engine/mod.ts";
import { tileGrid } from "../../src/image/pipeline.ts";
import { resolveVocabPath } from "../../tools/gguf/cli.ts";
import { writeSmolVlmPair } from "../../tools/gguf/smolvlm.ts";
import { syntheticImage, TINY } from "../_support/fixtures.ts";

const SIZES: readonly (readonly [number, number])[] = [
  [512, 512], // one tile: slice and overview are the same pixels, encoded once
  [683, 512], // rounds to one tile (the old ceil-based estimate said 2x1)
  [1024, 640],
  [1024, 768],
  [640, 1024],
  [1024, 1024],
  [1536, 1024], // 3x2 = 384 tokens: over a 256-token budget, shrunk to fit
  [300, 200],
];

async function checkSizes(mmprojPath: string, imageMaxTokens?: number): Promise<void> {
  await using engine = await loadEngine({
    modelPath: TINY.model,
    mmprojPath,
    contextSize: 4096,
    imageMaxTokens,
    nativeLog: "silent",
  });
  const tiling = engine.info.tiling;
  assert.ok(tiling !== null);
  const perTile = engine.info.facts.vision!.tokensPerTile;
  for (const [i, [width, height]] of SIZES.entries()) {
    const image = syntheticImage(width, height, i);
    const result = await engine.generate({
      messages: [{
        role: "user",
        content: [{ type: "image", image }, { type: "text", text: "?" }],
      }],
      maxTokens: 1,
    }).result;
    const grid = tileGrid(width, height, tiling);
    const label: string = `${width}x${height} under ${JSON.stringify(tiling)}`;
    assert.equal(result.timings.imageEncoderPasses, grid.passes, label);
    assert.equal(result.usage.imageTokens, (grid.cols * grid.rows + 1) * perTile, label);
  }
}

Deno.test("tileGrid(engine.info.tiling) gives the engine's encoder passes and image tokens", async () => {
  await checkSizes(TINY.mmproj);
  await checkSizes(TINY.mmproj, 256);
});

Deno.test("tileGrid(engine.info.tiling) follows a projector's preprocess size (2048)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "smolvlm-tiling-" });
  try {
    const { mmproj } = await writeSmolVlmPair({
      preset: "tiny",
      seed: 1,
      outDir: dir,
      vocabGguf: await resolveVocabPath(),
      preprocImageSize: 2048,
    });
    await checkSizes(mmproj);
    await checkSizes(mmproj, 64 * 16);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
