/** ggml's backend registry as the FFI layer reads it, against the installed (default) build. */
import assert from "node:assert/strict";
import { cpuBackendInfo, listBackendDevices } from "../../ffi/backends.ts";
import { loadNativeLibraries } from "../../ffi/library.ts";

Deno.test("listBackendDevices() lists the CPU device with its backend and hardware name", async () => {
  const devices = await listBackendDevices();
  const cpu = devices.filter((d) => d.kind === "cpu");
  assert.equal(cpu.length, 1, JSON.stringify(devices));
  assert.equal(cpu[0]!.name, "CPU");
  assert.equal(cpu[0]!.backend, "CPU");
  assert.ok(cpu[0]!.description.length > 0);
  assert.ok(cpu[0]!.memoryTotalBytes > 0);
});

Deno.test("cpuBackendInfo() reports the default build's compiled features and no variant", async () => {
  const libs = await loadNativeLibraries();
  assert.equal(libs.dynamicBackends, false, "native/lib is expected to be the default build");
  const info = await cpuBackendInfo();
  assert.equal(info.variant, null);
  const flags = new TextDecoder().decode(
    (await new Deno.Command("grep", { args: ["-m1", "^flags", "/proc/cpuinfo"] }).output()).stdout,
  );
  // The default build enables exactly the host's SIMD features (native/build.ts).
  assert.equal(info.features.includes("AVX2"), / avx2( |$)/m.test(flags), info.features.join(" "));
});

Deno.test("loadNativeLibraries() finds the CPU backend's threadpool functions in the registry", async () => {
  const { cpu } = await loadNativeLibraries();
  assert.ok(cpu, "no CPU backend registered");
  assert.ok(cpu.getFeatures, "the CPU backend exports ggml_backend_get_features");
});
