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
  assert.equal(
    resolveEngineOptions({ modelPath: "m", parallel: 4, gpuLayers: 0 }).flashAttention,
    "off",
  );
  assert.equal(
    resolveEngineOptions({ modelPath: "m", parallel: 4, flashAttention: "on" }).flashAttention,
    "on",
  );
  // Whether parallel slots run on the CPU is known only once the devices are (decidePlacement).
  assert.equal(resolveEngineOptions({ modelPath: "m", parallel: 4 }).flashAttention, null);
  assert.equal(
    resolveEngineOptions({ modelPath: "m", parallel: 4, gpuLayers: -1 }).flashAttention,
    null,
  );
});

Deno.test("resolveEngineOptions() leaves the GPU offload to the load unless gpuLayers is given", () => {
  assert.equal(resolveEngineOptions({ modelPath: "m" }).gpuLayers, null);
  assert.equal(resolveEngineOptions({ modelPath: "m", gpuLayers: 0 }).gpuLayers, 0);
  assert.equal(resolveEngineOptions({ modelPath: "m", gpuLayers: 12 }).gpuLayers, 12);
  assert.throws(() => resolveEngineOptions({ modelPath: "m", gpuLayers: -2 }), /gpuLayers/);
});
