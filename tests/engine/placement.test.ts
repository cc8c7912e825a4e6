import assert from "node:assert/strict";
import {
  type BackendDevice,
  backendReport,
  decidePlacement,
  describeBackends,
  type PlacementRequest,
} from "../../src/engine/placement.ts";

function device(name: string, kind: BackendDevice["kind"], description = name): BackendDevice {
  return {
    name,
    description,
    kind,
    backend: name.replace(/\d+$/, ""),
    memoryTotalBytes: 0,
    memoryFreeBytes: 0,
  };
}

const CPU = device("CPU", "cpu", "AMD EPYC");
const CUDA0 = device("CUDA0", "gpu", "NVIDIA H200");
const CUDA1 = device("CUDA1", "gpu", "NVIDIA H200");
const IGPU = device("Vulkan0", "igpu", "Intel Iris");
const auto: PlacementRequest = { gpuLayers: null, flashAttention: null, parallel: 1, vision: true };

Deno.test("decidePlacement() runs everything on the CPU when ggml has no GPU device", () => {
  const p = decidePlacement([CPU], auto);
  assert.equal(p.gpuLayers, 0);
  assert.deepEqual(p.textDevices, []);
  assert.equal(p.visionOnGpu, false);
  assert.equal(p.visionDevice, "CPU");
  assert.equal(p.reason, "no GPU device");
});

Deno.test("decidePlacement() offloads all layers and the vision encoder by default on a GPU", () => {
  const p = decidePlacement([CUDA0, CUDA1, CPU], auto);
  assert.equal(p.gpuLayers, -1);
  assert.deepEqual(p.textDevices, ["CUDA0", "CUDA1"]);
  assert.equal(p.visionOnGpu, true);
  assert.equal(p.visionDevice, "CUDA0");
  assert.match(p.reason, /GPU present/);
});

Deno.test("decidePlacement() keeps everything on the CPU when gpuLayers is 0", () => {
  const p = decidePlacement([CUDA0, CPU], { ...auto, gpuLayers: 0 });
  assert.equal(p.gpuLayers, 0);
  assert.equal(p.visionOnGpu, false);
  assert.equal(p.visionDevice, "CPU");
});

Deno.test("decidePlacement() passes a requested layer count through, and the encoder to the GPU", () => {
  const p = decidePlacement([CUDA0, CPU], { ...auto, gpuLayers: 10 });
  assert.equal(p.gpuLayers, 10);
  assert.equal(p.visionDevice, "CUDA0");
  assert.equal(p.reason, "gpu_layers=10 requested");
});

Deno.test("decidePlacement() says a requested offload has no GPU to go to", () => {
  const p = decidePlacement([CPU], { ...auto, gpuLayers: -1 });
  assert.equal(p.gpuLayers, 0);
  assert.match(p.reason, /no GPU device: gpu_layers=-1/);
});

Deno.test("decidePlacement() uses an integrated GPU only when there is no discrete one", () => {
  assert.deepEqual(decidePlacement([IGPU, CPU], auto).textDevices, ["Vulkan0"]);
  assert.deepEqual(decidePlacement([CUDA0, IGPU, CPU], auto).textDevices, ["CUDA0"]);
});

Deno.test("decidePlacement() turns flash attention off only for parallel slots on the CPU", () => {
  assert.equal(decidePlacement([CPU], { ...auto, parallel: 4 }).flashAttention, "off");
  assert.equal(decidePlacement([CUDA0, CPU], { ...auto, parallel: 4 }).flashAttention, "auto");
  assert.equal(decidePlacement([CPU], { ...auto, parallel: 1 }).flashAttention, "auto");
  assert.equal(
    decidePlacement([CPU], { ...auto, parallel: 4, flashAttention: "on" }).flashAttention,
    "on",
  );
});

Deno.test("decidePlacement() leaves the vision encoder's flash attention on auto unless asked", () => {
  // One image per encoder pass: batching cannot change its output, so parallel slots keep it.
  assert.equal(decidePlacement([CPU], { ...auto, parallel: 4 }).visionFlashAttention, "auto");
  assert.equal(
    decidePlacement([CPU], { ...auto, parallel: 4, flashAttention: "off" }).visionFlashAttention,
    "off",
  );
});

Deno.test("decidePlacement() reports no vision device for a text-only model", () => {
  assert.equal(decidePlacement([CUDA0, CPU], { ...auto, vision: false }).visionDevice, null);
});

Deno.test("backendReport() counts offloaded layers with the output layer and names the CPU for the rest", () => {
  const cpu = { variant: "zen4", features: ["AVX2", "AVX512"] };
  const all = backendReport([CUDA0, CPU], cpu, decidePlacement([CUDA0, CPU], auto), 24);
  assert.deepEqual(all.text, { devices: ["CUDA0"], gpuLayers: 25, totalLayers: 25 });
  assert.deepEqual(all.vision, { device: "CUDA0" });
  const some = backendReport(
    [CUDA0, CPU],
    cpu,
    decidePlacement([CUDA0, CPU], { ...auto, gpuLayers: 10 }),
    24,
  );
  assert.deepEqual(some.text, { devices: ["CUDA0", "CPU"], gpuLayers: 10, totalLayers: 25 });
  const none = backendReport([CPU], cpu, decidePlacement([CPU], auto), 24);
  assert.deepEqual(none.text, { devices: ["CPU"], gpuLayers: 0, totalLayers: 25 });
});

Deno.test("describeBackends() names the devices, the CPU variant and the reason in one line", () => {
  const report = backendReport(
    [CUDA0, CPU],
    { variant: "haswell", features: ["AVX2", "FMA", "REPACK=1"] },
    decidePlacement([CUDA0, CPU], auto),
    24,
  );
  assert.equal(
    describeBackends(report),
    "text model on CUDA0 (NVIDIA H200) (25/25 layers on GPU); vision encoder on CUDA0 " +
      "(NVIDIA H200); CPU variant haswell [AVX2 FMA]; " +
      "GPU present: all layers and the vision encoder offloaded by default",
  );
});
