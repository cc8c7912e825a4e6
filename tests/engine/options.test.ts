import assert from "node:assert/strict";
import { resolveEngineOptions } from "../../src/engine/options.ts";

Deno.test("resolveEngineOptions() names the bad field", () => {
  assert.throws(() => resolveEngineOptions({ modelPath: "m.gguf", parallel: 0 }), /parallel/);
  assert.throws(() => resolveEngineOptions({ modelPath: "m.gguf", threads: 1.5 }), /threads/);
  assert.throws(() => resolveEngineOptions({ modelPath: "" }), /modelPath/);
});

Deno.test("resolveEngineOptions() keeps parallelSequences as the old name of parallel", () => {
  assert.equal(resolveEngineOptions({ modelPath: "m", parallelSequences: 3 }).parallel, 3);
  assert.equal(
    resolveEngineOptions({ modelPath: "m", parallelSequences: 3, parallel: 2 }).parallel,
    2,
  );
  assert.equal(resolveEngineOptions({ modelPath: "m" }).parallel, 1);
});

Deno.test("resolveEngineOptions() turns CPU flash attention off for parallel > 1 unless asked", () => {
  assert.equal(resolveEngineOptions({ modelPath: "m" }).flashAttention, "auto");
  assert.equal(resolveEngineOptions({ modelPath: "m", parallel: 4 }).flashAttention, "off");
  assert.equal(
    resolveEngineOptions({ modelPath: "m", parallel: 4, flashAttention: "on" }).flashAttention,
    "on",
  );
  assert.equal(
    resolveEngineOptions({ modelPath: "m", parallel: 4, gpuLayers: -1 }).flashAttention,
    "auto",
  );
});
