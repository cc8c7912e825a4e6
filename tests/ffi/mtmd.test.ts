/**
 * What the engine's embedding cache assumes of mtmd (src/engine/worker/prepare.ts, tileKeys):
 * a picture of exactly one tile becomes one slice plus the overview, and both are the same
 * encoder input, so their embeddings are bit-identical. A picture of any other size is not.
 */
import assert from "node:assert/strict";
import { LlamaModel, setNativeLogHandler } from "../../ffi/llama.ts";
import { Bitmap, defaultMediaMarker, VisionContext } from "../../ffi/mtmd.ts";
import { syntheticImage, TINY } from "../_support/fixtures.ts";

async function tileEmbeddings(width: number, height: number): Promise<Float32Array[]> {
  await setNativeLogHandler(() => {}); // llama.cpp's loading chatter
  using model = (await LlamaModel.load(TINY.model))!;
  using vision = (await VisionContext.load(TINY.mmproj, model, { threads: 2 }))!;
  const image = syntheticImage(width, height, 7);
  const bitmap = await Bitmap.fromRgb(width, height, image.data, "picture");
  let chunks;
  try {
    chunks = vision.tokenize(await defaultMediaMarker(), [bitmap], false);
  } finally {
    bitmap.close();
  }
  assert.notEqual(typeof chunks, "number", "mtmd_tokenize failed");
  using tokenized = chunks as Exclude<typeof chunks, number>;
  return tokenized.chunks.filter((c) => c.kind === "image")
    .map((c) => vision.encodeChunk(c, model.embeddingSize));
}

Deno.test("VisionContext.encodeChunk() gives a one-tile picture's slice and overview bit-identical embeddings", async () => {
  const [slice, overview, ...rest] = await tileEmbeddings(512, 512);
  assert.equal(rest.length, 0, "one slice plus the overview");
  assert.deepEqual(new Uint8Array(slice!.buffer), new Uint8Array(overview!.buffer));

  const [wideSlice, wideOverview] = await tileEmbeddings(512, 384);
  assert.notDeepEqual(new Uint8Array(wideSlice!.buffer), new Uint8Array(wideOverview!.buffer));
});
