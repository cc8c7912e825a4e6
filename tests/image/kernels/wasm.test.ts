import assert from "node:assert/strict";
import { sha256Hex, SOURCE } from "../../../src/image/kernels/build.ts";
import {
  KERNELS_SOURCE_SHA256,
  KERNELS_WASM_BASE64,
  KERNELS_WASM_BYTES,
} from "../../../src/image/kernels/kernels_wasm.ts";
import { base64Bytes, kernels, Layout, trimKernels } from "../../../src/image/kernels/wasm.ts";

Deno.test("kernels_wasm.ts is built from the current AssemblyScript source", async () => {
  const hash = await sha256Hex(await Deno.readFile(SOURCE));
  assert.equal(
    KERNELS_SOURCE_SHA256,
    hash,
    "src/image/kernels/assembly/kernels.ts changed: run `deno task kernels`",
  );
  assert.equal(Uint8Array.fromBase64(KERNELS_WASM_BASE64).length, KERNELS_WASM_BYTES);
});

Deno.test("kernels() is one instance per thread whose memory grows on reserve()", () => {
  const k = kernels();
  assert.equal(kernels(), k);
  const mem = k.reserve(3 << 20);
  assert.ok(mem.length >= k.base + (3 << 20));
  assert.equal(k.base % 16, 0);
});

Deno.test("Layout.take() hands out 16-byte aligned, non-overlapping blocks", () => {
  const lay = new Layout(32);
  const a = lay.take(5), b = lay.take(17), c = lay.take(0), d = lay.take(1);
  assert.deepEqual([a, b, c, d], [32, 48, 80, 80]);
  assert.equal(lay.size, 64);
});

Deno.test("the kernels load and run with no permissions at all (module embedded in the graph)", async () => {
  const code = `
    import { bilateralFilter } from ${
    JSON.stringify(new URL("../../../src/image/bilateral.ts", import.meta.url).href)
  };
    import { labBalance } from ${
    JSON.stringify(new URL("../../../src/image/lab.ts", import.meta.url).href)
  };
    import { resize } from ${
    JSON.stringify(new URL("../../../src/image/resize.ts", import.meta.url).href)
  };
    const px = new Uint8Array(8 * 6 * 3).map((_, i) => (i * 37) & 255);
    const a = bilateralFilter(px, 8, 6, { diameter: 9, sigmaColor: 75, sigmaSpace: 75 });
    const b = labBalance(a, { lBoost: 1.2, abBoost: 1.1 });
    const c = resize(b, 8, 6, 4, 3);
    console.log(c.length);
  `;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--no-prompt", "--no-config", code],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const err = new TextDecoder().decode(out.stderr);
  assert.ok(out.success, err);
  assert.equal(new TextDecoder().decode(out.stdout).trim(), "36");
});

Deno.test("base64Bytes() decodes with and without Uint8Array.fromBase64", () => {
  const b64 = "AGFzbQEAAAD/gA==";
  const want = [0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 0xff, 0x80];
  assert.deepEqual([...base64Bytes(b64)], want);
  const native = Uint8Array.fromBase64;
  try {
    // deno-lint-ignore no-explicit-any
    (Uint8Array as any).fromBase64 = undefined;
    assert.deepEqual([...base64Bytes(b64)], want);
  } finally {
    Uint8Array.fromBase64 = native;
  }
});

Deno.test("trimKernels() drops an instance grown past 64 MB and keeps a small one", () => {
  const small = kernels();
  trimKernels();
  assert.equal(kernels(), small);
  small.reserve(80 << 20);
  trimKernels();
  const fresh = kernels();
  assert.notEqual(fresh, small);
  assert.ok(fresh.exports.memory.buffer.byteLength < 64 << 20);
});
