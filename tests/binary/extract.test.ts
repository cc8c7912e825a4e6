/** Native library extraction: hash-keyed directory, verified on every start, repaired. */
import assert from "node:assert/strict";
import {
  extractNativeLibraries,
  NativeExtractionError,
  payloadKey,
  sha256Hex,
} from "../../src/binary/extract.ts";
import type { NativePayload } from "../../src/binary/native_payload.ts";

async function payload(seed: number): Promise<NativePayload> {
  const a = new Uint8Array(4096).map((_, i) => (i * 7 + seed) & 0xff);
  const b = new TextEncoder().encode(`{"portable":false,"seed":${seed}}`);
  return {
    files: [
      { name: "libllama.so.0", sha256: await sha256Hex(a), bytes: a },
      { name: "manifest.json", sha256: await sha256Hex(b), bytes: b },
    ],
    links: [{ name: "libllama.so", target: "libllama.so.0" }],
  };
}

Deno.test("extractNativeLibraries() writes the set under <cache>/lib/<content key> once and reuses it", async () => {
  const cache = await Deno.makeTempDir();
  try {
    const p = await payload(1);
    const first = await extractNativeLibraries(p, cache);
    assert.equal(first.dir, `${cache}/lib/${await payloadKey(p)}`);
    assert.equal(first.extracted, true);
    assert.deepEqual(await Deno.readFile(`${first.dir}/libllama.so`), p.files[0]!.bytes);
    assert.deepEqual(await Deno.readFile(`${first.dir}/libllama.so.0`), p.files[0]!.bytes);
    const again = await extractNativeLibraries(p, cache);
    assert.deepEqual(again, { dir: first.dir, extracted: false, replaced: null });
    // No half-written staging directory is left behind.
    assert.deepEqual([...Deno.readDirSync(`${cache}/lib`)].map((e) => e.name), [
      first.dir.slice(first.dir.lastIndexOf("/") + 1),
    ]);
  } finally {
    await Deno.remove(cache, { recursive: true });
  }
});

Deno.test("extractNativeLibraries() replaces a tampered or truncated library", async () => {
  const cache = await Deno.makeTempDir();
  try {
    const p = await payload(2);
    const { dir } = await extractNativeLibraries(p, cache);
    const bytes = await Deno.readFile(`${dir}/libllama.so.0`);
    bytes[100]! ^= 0xff;
    await Deno.writeFile(`${dir}/libllama.so.0`, bytes);
    const repaired = await extractNativeLibraries(p, cache);
    assert.equal(repaired.extracted, true);
    assert.match(repaired.replaced ?? "", /libllama\.so\.0 has SHA-256 [0-9a-f]{64}, expected/);
    assert.deepEqual(await Deno.readFile(`${dir}/libllama.so.0`), p.files[0]!.bytes);
    await Deno.truncate(`${dir}/manifest.json`, 3);
    assert.equal((await extractNativeLibraries(p, cache)).extracted, true);
  } finally {
    await Deno.remove(cache, { recursive: true });
  }
});

Deno.test("payloadKey() differs when any byte differs, so two builds never share a directory", async () => {
  assert.notEqual(await payloadKey(await payload(3)), await payloadKey(await payload(4)));
  assert.equal(await payloadKey(await payload(3)), await payloadKey(await payload(3)));
});

Deno.test("extractNativeLibraries() refuses embedded bytes that do not match their recorded hash", async () => {
  const cache = await Deno.makeTempDir();
  try {
    const p = await payload(5);
    const corrupt: NativePayload = {
      ...p,
      files: [{ ...p.files[0]!, bytes: p.files[0]!.bytes.slice(1) }, p.files[1]!],
    };
    await assert.rejects(extractNativeLibraries(corrupt, cache), NativeExtractionError);
  } finally {
    await Deno.remove(cache, { recursive: true });
  }
});

Deno.test("extractNativeLibraries() refuses a payload entry that names another directory", async () => {
  const cache = await Deno.makeTempDir();
  try {
    const p = await payload(6);
    const escaping: NativePayload = { ...p, links: [{ name: "../x", target: "libllama.so.0" }] };
    await assert.rejects(extractNativeLibraries(escaping, cache), NativeExtractionError);
  } finally {
    await Deno.remove(cache, { recursive: true });
  }
});
