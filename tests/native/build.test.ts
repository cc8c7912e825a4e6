import assert from "node:assert/strict";
import { cmakeDefinitions, PINNED } from "../../native/build.ts";
import { readInstalledManifest } from "../../native/manifest.ts";
import { NATIVE_BIN } from "../_support/fixtures.ts";

const base = { cuda: false, cudaArch: "90", portable: false, jobs: 2, force: false };

Deno.test("cmakeDefinitions() never enables AMX and never builds for -march=native", async () => {
  for (const options of [base, { ...base, portable: true }, { ...base, cuda: true }]) {
    const defs = await cmakeDefinitions(options);
    assert.ok(defs.includes("GGML_NATIVE=OFF"));
    for (const amx of ["GGML_AMX_TILE", "GGML_AMX_INT8", "GGML_AMX_BF16"]) {
      assert.ok(defs.includes(`${amx}=OFF`), `${amx} must be OFF`);
    }
  }
});

Deno.test("cmakeDefinitions() turns on the host's SIMD features explicitly by default", async () => {
  const defs = await cmakeDefinitions(base);
  const flags = (await new Deno.Command("grep", { args: ["-m1", "^flags", "/proc/cpuinfo"] })
    .output()).stdout;
  const hasAvx2 = new TextDecoder().decode(flags).includes(" avx2");
  assert.ok(defs.includes(`GGML_AVX2=${hasAvx2 ? "ON" : "OFF"}`));
});

Deno.test("cmakeDefinitions() selects dynamic CPU variants for --portable and CUDA for --cuda", async () => {
  const portable = await cmakeDefinitions({ ...base, portable: true });
  assert.ok(
    portable.includes("GGML_BACKEND_DL=ON") && portable.includes("GGML_CPU_ALL_VARIANTS=ON"),
  );
  const cuda = await cmakeDefinitions({ ...base, cuda: true });
  assert.ok(cuda.includes("GGML_CUDA=ON") && cuda.includes("CMAKE_CUDA_ARCHITECTURES=90"));
});

Deno.test("the installed native build is the pinned llama.cpp commit, with its reference tools", async () => {
  const manifest = await readInstalledManifest(NATIVE_BIN);
  assert.ok(manifest, "native/lib/manifest.json is missing: run ./run native");
  assert.equal(manifest.commit, PINNED.commit);
  for (
    const file of ["libllama.so", "libmtmd.so", "llama-mtmd-cli", "llama-server", "include/llama.h"]
  ) {
    assert.ok((await Deno.stat(`${NATIVE_BIN}/${file}`)).isFile, file);
  }
});
