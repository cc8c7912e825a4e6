/**
 * Engine.reload(): the model files loaded again without a new process. Requests sent during a
 * reload all succeed (they wait for the new session); a generation still running when the
 * reload's grace period runs out is stopped with ModelReloadingError while queued requests wait
 * and run on the new model; files refused on reload — by the checks before llama.cpp or by
 * llama.cpp itself — leave the old model serving.
 */
import assert from "node:assert/strict";
import { loadEngine, ModelLoadError, ModelReloadingError } from "../../src/engine/mod.ts";
import { GgmlType } from "../../tools/gguf/types.ts";
import { readGgufHeader } from "../../src/models/gguf.ts";
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

/**
 * Writes `source` with its output projection negated to `target`: a model of the same shape
 * whose greedy answers differ from the original's (every logit changes sign).
 */
async function negatedOutputCopy(source: string, target: string): Promise<void> {
  const gguf = await readGgufHeader(source);
  const output = gguf.tensors.find((t) => t.name === "output.weight");
  assert.ok(
    output && output.type === GgmlType.F16 && output.size !== null,
    `${source} has no F16 output.weight`,
  );
  const bytes = await Deno.readFile(source);
  const start = gguf.dataOffset + output.offset;
  for (let i = start + 1; i < start + output.size; i += 2) bytes[i]! ^= 0x80; // f16 sign bits
  await Deno.writeFile(target, bytes);
}

Deno.test("engine.reload({ graceMs }) stops a generation still running after the grace; queued requests run on the new model", async () => {
  const { dir, model, mmproj } = await modelCopy();
  try {
    const options = { mmprojPath: mmproj, contextSize: 4096, nativeLog: "silent" } as const;
    const probe = {
      messages: [{ role: "user" as const, content: "What comes next?" }],
      maxTokens: 8,
      sampling: { temperature: 0 },
    };
    await using engine = await loadEngine({ modelPath: model, ...options });
    const before = await engine.generate(probe).result;

    // Runs for many seconds unless stopped; the probe queues behind it (one slot).
    const long = engine.generate({
      messages: [{ role: "user", content: "Tell me a long story." }],
      maxTokens: 4000,
      sampling: { temperature: 0 },
    });
    const deltas = long[Symbol.asyncIterator]();
    assert.equal((await deltas.next()).done, false, "the long generation is running");
    const queued = engine.generate(probe);
    assert.equal(engine.stats().queued, 1);

    // The new model replaces the file as an operator would (a rename over it).
    await negatedOutputCopy(model, `${dir}/next.gguf`);
    await Deno.rename(`${dir}/next.gguf`, model);
    const graceMs = 300;
    const t0 = performance.now();
    const reload = engine.reload!({ graceMs });
    await assert.rejects(long.result, (e: unknown) => {
      assert.ok(e instanceof ModelReloadingError, String(e));
      assert.equal(e.code, "model_reloading");
      assert.match(e.message, /grace period \(0\.3 s\) ran out/);
      return true;
    });
    const cutAfterMs = performance.now() - t0;
    assert.ok(cutAfterMs >= graceMs - 5, `stopped after ${cutAfterMs} ms, before the grace`);
    await assert.rejects(async () => {
      for (let d = await deltas.next(); !d.done; d = await deltas.next()) { /* drain */ }
    }, ModelReloadingError);

    await reload; // the reload went on and loaded the new file
    const after = await queued.result;
    assert.equal(after.usage.completionTokens, 8, "the queued request was not cut");
    assert.equal(engine.stats().failed, 1, "only the running generation failed");
    await engine.close();
    await using fresh = await loadEngine({ modelPath: model, ...options });
    const expected = await fresh.generate(probe).result;
    assert.deepEqual(after.tokens, expected.tokens, "the queued request ran on the new model");
    assert.notDeepEqual(after.tokens, before.tokens, "the new model answers differently");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
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
