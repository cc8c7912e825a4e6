/**
 * Engine.reload(): the model files loaded again without a new process. Requests sent during a
 * reload all succeed (they wait for the new session); files refused on reload — by the checks
 * before llama.cpp or by llama.cpp itself — leave the old model serving.
 */
import assert from "node:assert/strict";
import { loadEngine, ModelLoadError } from "../../src/engine/mod.ts";
import { TINY } from "../_support/fixtures.ts";

async function modelCopy(): Promise<{ dir: string; model: string; mmproj: string }> {
  const dir = await Deno.makeTempDir({ prefix: "smolvlm-reload-" });
  const model = `${dir}/model.gguf`, mmproj = `${dir}/mmproj.gguf`;
  await Deno.copyFile(TINY.model, model);
  await Deno.copyFile(TINY.mmproj, mmproj);
  return { dir, model, mmproj };
}

Deno.test("engine.reload(): requests sent during a reload all succeed", async () => {
  await using engine = await loadEngine({
    modelPath: TINY.model,
    mmprojPath: TINY.mmproj,
    contextSize: 512,
    nativeLog: "silent",
  });
  const ask = (text: string, maxTokens = 4) =>
    engine.generate({
      messages: [{ role: "user", content: text }],
      maxTokens,
      sampling: { temperature: 0 },
    }).result;
  const reference = await ask("a question");
  const running = ask("a long answer", 48); // still running when the reload starts
  const reload = engine.reload!();
  const during = [ask("a question"), ask("second"), ask("third")];
  const info = await reload;
  assert.equal(info.modelPath, TINY.model);
  const results = await Promise.all([running, ...during]);
  assert.equal(results[0]!.usage.completionTokens, 48, "the running generation finished");
  for (const r of results.slice(1)) assert.equal(r.usage.completionTokens, 4);
  assert.deepEqual(results[1]!.tokens, reference.tokens, "the same model answers the same");
  assert.equal(engine.stats().failed, 0);
});

Deno.test("engine.reload() with refused files keeps the old model serving", async (t) => {
  const { dir, model, mmproj } = await modelCopy();
  try {
    await using engine = await loadEngine({
      modelPath: model,
      mmprojPath: mmproj,
      contextSize: 512,
      nativeLog: "silent",
    });
    const ask = () =>
      engine.generate({ messages: [{ role: "user", content: "hi" }], maxTokens: 3 }).result;
    const original = await Deno.readFile(model);

    await t.step("wrong magic: refused before llama.cpp sees it", async () => {
      await Deno.writeTextFile(model, "not a model at all");
      await assert.rejects(engine.reload!(), ModelLoadError);
      assert.equal((await ask()).usage.completionTokens, 3);
    });
    await t.step("truncated: refused by the load itself", async () => {
      await Deno.writeFile(model, original.slice(0, original.length / 3));
      await assert.rejects(
        engine.reload!(),
        (e: unknown) => e instanceof ModelLoadError && e.code === "model_load_failed",
      );
      assert.equal((await ask()).usage.completionTokens, 3);
    });
    await t.step("the good file again: the reload succeeds", async () => {
      await Deno.writeFile(model, original);
      await engine.reload!();
      assert.equal((await ask()).usage.completionTokens, 3);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
