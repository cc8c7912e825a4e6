/**
 * Greedy parity with llama.cpp's own tools (built from the same source by the native task):
 * llama-mtmd-cli for prompts with images, llama-server for text only (mtmd-cli has no
 * non-interactive text-only mode). Same model, images and prompt → the same generated text.
 */
import assert from "node:assert/strict";
import {
  type ChatContentPart,
  imageTokenBudget,
  loadEngine,
  readModelFacts,
} from "../../src/engine/mod.ts";
import {
  llamaServerGreedy,
  mtmdCliGreedy,
  syntheticImage,
  TINY,
  writeTempPng,
} from "../_support/fixtures.ts";

const CONTEXT = 4096;
const MAX_TOKENS = 48;
const PROMPT = "Describe this image.";

Deno.test("engine.generate() greedy output equals llama.cpp's tools on the tiny model", async (t) => {
  await using engine = await loadEngine({
    modelPath: TINY.model,
    mmprojPath: TINY.mmproj,
    contextSize: CONTEXT,
    nativeLog: "silent",
  });
  const images = [syntheticImage(320, 240, 0), syntheticImage(200, 300, 1)];
  const paths = await Promise.all(images.map((img, i) => writeTempPng(img, `parity-${i}.png`)));

  async function ours(content: ChatContentPart[]) {
    const generation = engine.generate({
      messages: [{ role: "user", content }],
      maxTokens: MAX_TOKENS,
      sampling: { temperature: 0 },
    });
    return await generation.result;
  }

  async function theirs(imagePaths: string[]) {
    if (imagePaths.length === 0) {
      return await llamaServerGreedy({
        model: TINY.model,
        mmproj: TINY.mmproj,
        prompt: PROMPT,
        maxTokens: MAX_TOKENS,
        contextSize: CONTEXT,
      });
    }
    return await mtmdCliGreedy({
      model: TINY.model,
      mmproj: TINY.mmproj,
      images: imagePaths,
      prompt: PROMPT,
      maxTokens: MAX_TOKENS,
      contextSize: CONTEXT,
      imageMaxTokens: imageTokenBudget(
        1024,
        (await readModelFacts(TINY.model, TINY.mmproj)).vision!,
      ),
    });
  }

  const cases: [string, ChatContentPart[], string[]][] = [
    ["one image", [{ type: "image", image: images[0]! }, { type: "text", text: PROMPT }], [
      paths[0]!,
    ]],
    ["text only", [{ type: "text", text: PROMPT }], []],
    ["two images in one turn", [
      { type: "image", image: images[0]! },
      { type: "image", image: images[1]! },
      { type: "text", text: PROMPT },
    ], paths],
  ];
  const outputs: string[] = [];
  for (const [name, content, imagePaths] of cases) {
    await t.step(name, async () => {
      const result = await ours(content);
      const reference = await theirs(imagePaths);
      // The output must be varied enough for the comparison to mean something.
      assert.ok(result.tokens.length >= 16, `only ${result.tokens.length} tokens`);
      assert.ok(new Set(result.tokens).size >= 8, "degenerate output (a few tokens repeated)");
      assert.equal(result.text.trim(), reference.trim());
      outputs.push(result.text);
    });
  }
  await t.step("different inputs give different outputs", () => {
    assert.equal(new Set(outputs).size, outputs.length);
  });
  await Promise.all(paths.map((p) => Deno.remove(p)));
});
