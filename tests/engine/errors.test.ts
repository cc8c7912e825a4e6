/** Bad inputs give typed errors and leave the process (and the engine) working. */
import assert from "node:assert/strict";
import {
  ContextOverflowError,
  InvalidRequestError,
  loadEngine,
  ModelLoadError,
} from "../../src/engine/mod.ts";
import { syntheticImage, TINY } from "../_support/fixtures.ts";

async function tempFile(bytes: Uint8Array): Promise<string> {
  const path = await Deno.makeTempFile({ suffix: ".gguf" });
  await Deno.writeFile(path, bytes);
  return path;
}

Deno.test("loadEngine() rejects a missing, non-GGUF, truncated or corrupt model with ModelLoadError", async (t) => {
  const real = await Deno.readFile(TINY.model);
  const cases: [string, () => Promise<string>, RegExp][] = [
    ["missing file", () => Promise.resolve("/nonexistent/model.gguf"), /not found/],
    ["not a GGUF", () => tempFile(new TextEncoder().encode("hello, not a model")), /not a GGUF/],
    // The TypeScript GGUF check (src/models/gguf.ts) answers before llama.cpp sees the file.
    ["truncated GGUF", () => tempFile(real.slice(0, real.length / 3)), /truncated|past the end/],
    ["corrupt header", () => {
      const bytes = real.slice();
      bytes.fill(0xff, 8, 64); // tensor/kv counts become absurd
      return tempFile(bytes);
    }, /out of range|implausible/],
  ];
  for (const [name, make, pattern] of cases) {
    await t.step(name, async () => {
      const path = await make();
      await assert.rejects(
        () => loadEngine({ modelPath: path, nativeLog: "silent" }),
        (error: unknown) => error instanceof ModelLoadError && pattern.test(error.message),
      );
    });
  }
  await t.step("an mmproj that is a text model is refused", async () => {
    await assert.rejects(
      () => loadEngine({ modelPath: TINY.model, mmprojPath: TINY.model, nativeLog: "silent" }),
      (error: unknown) =>
        error instanceof ModelLoadError && error.code === "mmproj_load_failed" &&
        /is a text model \(architecture llama\)/.test(error.message),
    );
  });
  await t.step("after the refusals the same process loads the good pair", async () => {
    await using engine = await loadEngine({
      modelPath: TINY.model,
      mmprojPath: TINY.mmproj,
      contextSize: 512,
      nativeLog: "silent",
    });
    assert.equal(engine.info.facts?.vision?.tokensPerTile, 64);
  });
});

Deno.test("engine.generate() reports bad requests as typed errors and keeps serving", async (t) => {
  await using textOnly = await loadEngine({
    modelPath: TINY.model,
    contextSize: 512,
    nativeLog: "silent",
  });
  await using engine = await loadEngine({
    modelPath: TINY.model,
    mmprojPath: TINY.mmproj,
    contextSize: 512,
    nativeLog: "silent",
  });
  const image = syntheticImage(64, 64);
  const ask = (e: typeof engine, content: unknown) =>
    e.generate({
      messages: [{ role: "user", content: content as string }],
      maxTokens: 4,
      sampling: { temperature: 0 },
    }).result;

  await t.step("image without an mmproj → vision_not_supported", async () => {
    await assert.rejects(
      ask(textOnly, [{ type: "image", image }, { type: "text", text: "hi" }]),
      (e: unknown) => e instanceof InvalidRequestError && e.code === "vision_not_supported",
    );
    // The text-only engine still answers text.
    assert.equal((await ask(textOnly, "hello")).usage.completionTokens, 4);
  });
  await t.step("zero-size image → invalid_image", async () => {
    await assert.rejects(
      ask(engine, [{ type: "image", image: { width: 0, height: 0, data: new Uint8Array() } }]),
      (e: unknown) => e instanceof InvalidRequestError && e.code === "invalid_image",
    );
  });
  await t.step("pixel buffer of the wrong length → invalid_image", async () => {
    await assert.rejects(
      ask(engine, [{ type: "image", image: { width: 10, height: 10, data: new Uint8Array(7) } }]),
      (e: unknown) => e instanceof InvalidRequestError && e.code === "invalid_image",
    );
  });
  await t.step("prompt longer than the context → ContextOverflowError", async () => {
    await assert.rejects(
      ask(engine, "lorem ipsum dolor sit amet ".repeat(200)),
      (e: unknown) => e instanceof ContextOverflowError && e.contextSize === 512,
    );
  });
  await t.step("empty messages → invalid_request", async () => {
    await assert.rejects(
      engine.generate({ messages: [] }).result,
      (e: unknown) => e instanceof InvalidRequestError && e.code === "invalid_request",
    );
  });
  await t.step("an unparsable grammar → grammar_invalid", async () => {
    await assert.rejects(
      engine.generate({
        messages: [{ role: "user", content: "x" }],
        sampling: { grammar: "root ::= (((" },
      }).result,
      (e: unknown) => e instanceof InvalidRequestError && e.code === "grammar_invalid",
    );
  });
  await t.step("after all that, an image request still works", async () => {
    const result = await ask(engine, [{ type: "image", image }, { type: "text", text: "hi" }]);
    assert.equal(result.usage.completionTokens, 4);
    await new Promise((resolve) => setTimeout(resolve, 0)); // the slot is released after `result`
    assert.deepEqual([engine.stats().running, engine.stats().failed], [0, 5]);
  });
});

Deno.test("loadEngine() quotes llama.cpp's own reason when it refuses a file", async () => {
  // A well-formed GGUF (it passes the TypeScript check) of an architecture llama.cpp lacks.
  const bytes = await Deno.readFile(TINY.model);
  const key = new TextEncoder().encode("general.architecture");
  const at = bytes.findIndex((_, i) => key.every((b, j) => bytes[i + j] === b));
  const value = at + key.length + 4 + 8; // value type (u32), string length (u64), "llama"
  assert.equal(new TextDecoder().decode(bytes.subarray(value, value + 5)), "llama");
  bytes.set(new TextEncoder().encode("xxxxx"), value);
  const path = await tempFile(bytes);
  await assert.rejects(
    () => loadEngine({ modelPath: path, nativeLog: "silent" }),
    (error: unknown) =>
      error instanceof ModelLoadError &&
      /llama\.cpp: .*unknown model architecture: 'xxxxx'/.test(error.message),
  );
  await Deno.remove(path);
});
