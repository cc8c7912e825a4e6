import assert from "node:assert/strict";
import {
  cmakeDefinitions,
  cudaDefinitions,
  type CudaToolkit,
  PINNED,
  runNative,
} from "../../native/build.ts";
import { readInstalledManifest } from "../../native/manifest.ts";
import { NATIVE_BIN } from "../_support/fixtures.ts";

const base = { cuda: false, cudaArch: "90", portable: false, jobs: 2, force: false };
/** A complete toolkit, so the CUDA cases do not depend on what this machine has installed. */
const fullToolkit: CudaToolkit = { root: "/opt/cuda", hasCublas: true, hasDriverLibrary: true };

Deno.test("cmakeDefinitions() never enables AMX and never builds for -march=native", async () => {
  for (const options of [base, { ...base, portable: true }, { ...base, cuda: true }]) {
    const defs = await cmakeDefinitions(options, fullToolkit);
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
  const cuda = await cmakeDefinitions({ ...base, cuda: true }, fullToolkit);
  assert.ok(cuda.includes("GGML_CUDA=ON") && cuda.includes("CMAKE_CUDA_ARCHITECTURES=90"));
  assert.ok(!cuda.includes("GGML_CUDA_NO_VMM=ON"));
});

Deno.test("cudaDefinitions() says what to provide when the toolkit has no cuBLAS", async () => {
  const noCublas = { ...fullToolkit, hasCublas: false };
  await assert.rejects(cudaDefinitions(base, noCublas), /no cuBLAS .*--cublas-dir DIR/s);
  await assert.rejects(
    cudaDefinitions(base, { root: null, hasCublas: false, hasDriverLibrary: false }),
    /needs nvcc on PATH/,
  );
});

Deno.test("cudaDefinitions() links cuBLAS from --cublas-dir and drops VMM without libcuda.so", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${dir}/include`);
    await Deno.mkdir(`${dir}/lib`);
    for (const f of ["include/cublas_v2.h", "lib/libcublas.so.13", "lib/libcublasLt.so.13"]) {
      await Deno.writeTextFile(`${dir}/${f}`, "");
    }
    const defs = await cudaDefinitions({ ...base, cublasDir: dir }, {
      root: "/opt/cuda",
      hasCublas: false,
      hasDriverLibrary: false,
    });
    assert.ok(defs.includes(`CUDA_cublas_LIBRARY=${dir}/lib/libcublas.so.13`), defs.join(" "));
    assert.ok(defs.includes(`CMAKE_CUDA_FLAGS=-I${dir}/include`));
    assert.ok(defs.includes(`CMAKE_BUILD_RPATH=$ORIGIN;${dir}/lib`));
    assert.ok(defs.includes("GGML_CUDA_NO_VMM=ON"));
    // The full definition list keeps one CMAKE_BUILD_RPATH (cmake would take the last one).
    const all = await cmakeDefinitions({ ...base, cuda: true, cublasDir: dir }, {
      root: "/opt/cuda",
      hasCublas: false,
      hasDriverLibrary: true,
    });
    assert.equal(all.filter((d) => d.startsWith("CMAKE_BUILD_RPATH=")).length, 1);
    assert.ok(!all.includes("GGML_CUDA_NO_VMM=ON"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
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

Deno.test("runNative() --from installs into --lib-dir and never replaces a directory it did not make", async () => {
  const from = await Deno.makeTempDir();
  const dest = await Deno.makeTempDir();
  try {
    for (const f of ["libllama.so", "libmtmd.so", "libggml-cpu-haswell.so"]) {
      await Deno.writeTextFile(`${from}/${f}`, "");
    }
    await Deno.writeTextFile(`${dest}/notes.txt`, "someone's file");
    assert.equal(await runNative(["--from", from, "--lib-dir", dest]), 1);
    assert.equal(await Deno.readTextFile(`${dest}/notes.txt`), "someone's file");

    await Deno.remove(`${dest}/notes.txt`);
    assert.equal(await runNative(["--from", from, "--lib-dir", dest]), 0);
    const manifest = await readInstalledManifest(dest);
    assert.equal(manifest?.portable, true, "libggml-cpu-<variant>.so marks a portable build");
    assert.ok((await Deno.stat(`${dest}/libmtmd.so`)).isFile);
    // Our own installation may be replaced; a plain run keeps it (no default build over it).
    assert.equal(await runNative(["--from", from, "--lib-dir", dest]), 0);
    assert.equal(await runNative(["--lib-dir", dest]), 0);
    assert.equal((await readInstalledManifest(dest))?.sourceDir, null);
  } finally {
    await Deno.remove(from, { recursive: true });
    await Deno.remove(dest, { recursive: true });
  }
});

/** A directory holding an install by this tool with `manifest`, its files empty. */
async function fakeInstall(manifest: Record<string, unknown>): Promise<string> {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/manifest.json`, JSON.stringify(manifest));
  for (const f of ["libllama.so", "libmtmd.so", "libggml-cpu-haswell.so"]) {
    await Deno.writeTextFile(`${dir}/${f}`, "");
  }
  return dir;
}

const builtHere = {
  commit: PINNED.commit,
  sourceDir: "/cache/src",
  builtAt: new Date(0).toISOString(),
};

Deno.test("runNative() without build flags keeps an installed portable or CUDA build (what ./run serve runs first)", async () => {
  const portable = {
    ...builtHere,
    key: "portable-key",
    options: ["GGML_BACKEND_DL=ON"],
    portable: true,
    cuda: false,
  };
  const cuda = {
    ...builtHere,
    key: "cuda-key",
    options: ["GGML_CUDA=ON"],
    portable: false,
    cuda: true,
  };
  const dirs = [await fakeInstall(portable), await fakeInstall(cuda)];
  const before = Deno.env.get("SMOLVLM_LIB_DIR");
  try {
    Deno.env.set("SMOLVLM_LIB_DIR", dirs[0]!);
    assert.equal(await runNative([]), 0);
    assert.deepEqual(await readInstalledManifest(dirs[0]), portable);
    Deno.env.delete("SMOLVLM_LIB_DIR");
    assert.equal(await runNative(["--lib-dir", dirs[1]!]), 0);
    assert.deepEqual(await readInstalledManifest(dirs[1]), cuda);
    assert.equal(await Deno.readTextFile(`${dirs[1]}/libggml-cpu-haswell.so`), "");
  } finally {
    if (before === undefined) Deno.env.delete("SMOLVLM_LIB_DIR");
    else Deno.env.set("SMOLVLM_LIB_DIR", before);
    for (const dir of dirs) await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("runNative() without build flags refuses a CUDA build of another llama.cpp commit, keeping it", async () => {
  const old = {
    ...builtHere,
    commit: "0123456789abcdef0123456789abcdef01234567",
    key: "old-cuda",
    options: ["GGML_CUDA=ON"],
    portable: false,
    cuda: true,
  };
  const dir = await fakeInstall(old);
  try {
    assert.equal(await runNative(["--lib-dir", dir]), 1);
    assert.deepEqual(await readInstalledManifest(dir), old);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
