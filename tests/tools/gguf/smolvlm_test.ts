import assert from "node:assert/strict";
import { ensureFixturePair, resolveVocabPath, runFixtures } from "../../../tools/gguf/cli.ts";
import {
  type GgufArray,
  metaBool,
  metaNumber,
  metaNumberArray,
  metaString,
  metaStringArray,
  readGgufHeader,
  readTensorBytes,
} from "../../../src/models/gguf.ts";
import {
  BASE_VOCAB_SIZE,
  SMOLVLM_CHAT_TEMPLATE,
  SMOLVLM_SPECIAL_TOKENS,
  SMOLVLM_VOCAB_SIZE,
  TokenType,
  writeSmolVlmPair,
} from "../../../tools/gguf/smolvlm.ts";
import { GgmlType, gv } from "../../../tools/gguf/types.ts";
import { writeGguf } from "../../../tools/gguf/writer.ts";

/** A stand-in for llama.cpp's ggml-vocab-starcoder.gguf: 49,152 tokens, a few merges. */
async function writeFakeVocab(path: string): Promise<void> {
  const tokens = Array.from({ length: BASE_VOCAB_SIZE }, (_, i) => `tok${i}`);
  const types = tokens.map((_, i) => (i < 20 ? TokenType.CONTROL : TokenType.NORMAL));
  await writeGguf(path, [
    ["general.architecture", gv.str("starcoder2")],
    ["tokenizer.ggml.model", gv.str("gpt2")],
    ["tokenizer.ggml.tokens", gv.arrStr(tokens)],
    ["tokenizer.ggml.token_type", gv.arrI32(types)],
    ["tokenizer.ggml.merges", gv.arrStr(["t o", "to k"])],
  ], []);
}

async function withTemp<T>(fn: (dir: string, vocab: string) => Promise<T>): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "smolvlm-test-" });
  try {
    const vocab = `${dir}/vocab.gguf`;
    await writeFakeVocab(vocab);
    return await fn(dir, vocab);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function sameBytes(a: string, b: string): Promise<boolean> {
  const [x, y] = await Promise.all([Deno.readFile(a), Deno.readFile(b)]);
  return x.length === y.length && x.every((v, i) => v === y[i]);
}

Deno.test("tiny pair: determinism per seed", async () => {
  await withTemp(async (dir, vocab) => {
    const a = await writeSmolVlmPair({
      preset: "tiny",
      seed: 7,
      outDir: `${dir}/a`,
      vocabGguf: vocab,
    });
    const b = await writeSmolVlmPair({
      preset: "tiny",
      seed: 7,
      outDir: `${dir}/b`,
      vocabGguf: vocab,
    });
    const c = await writeSmolVlmPair({
      preset: "tiny",
      seed: 8,
      outDir: `${dir}/c`,
      vocabGguf: vocab,
    });
    assert.ok(await sameBytes(a.model, b.model));
    assert.ok(await sameBytes(a.mmproj, b.mmproj));
    assert.ok(!(await sameBytes(a.model, c.model)));
    assert.ok(!(await sameBytes(a.mmproj, c.mmproj)));
  });
});

Deno.test("tiny pair: text model metadata, special tokens and tensor shapes", async () => {
  await withTemp(async (dir, vocab) => {
    const { model } = await writeSmolVlmPair({
      preset: "tiny",
      seed: 1,
      outDir: dir,
      vocabGguf: vocab,
    });
    const g = await readGgufHeader(model, { arrays: true });
    assert.equal(metaString(g, "general.architecture"), "llama");
    assert.equal(metaString(g, "tokenizer.ggml.model"), "gpt2");
    assert.equal(metaString(g, "tokenizer.ggml.pre"), "smollm");
    assert.equal(metaString(g, "tokenizer.chat_template"), SMOLVLM_CHAT_TEMPLATE);
    assert.ok(SMOLVLM_CHAT_TEMPLATE.includes("<|im_start|>"));
    assert.ok(SMOLVLM_CHAT_TEMPLATE.includes("<end_of_utterance>"));
    assert.equal(metaNumber(g, "tokenizer.ggml.bos_token_id"), 1);
    assert.equal(metaNumber(g, "tokenizer.ggml.eos_token_id"), 49279);
    assert.equal(metaBool(g, "tokenizer.ggml.add_bos_token"), false);
    assert.equal(metaNumber(g, "llama.embedding_length"), 64);
    assert.equal(metaNumber(g, "llama.block_count"), 2);
    assert.equal(metaNumber(g, "llama.attention.head_count"), 4);
    assert.equal(metaNumber(g, "llama.attention.head_count_kv"), 2);
    assert.equal(metaNumber(g, "llama.feed_forward_length"), 128);
    assert.equal(metaNumber(g, "llama.rope.freq_base"), 100000);
    assert.equal(metaNumber(g, "llama.vocab_size"), SMOLVLM_VOCAB_SIZE);

    const tokens = metaStringArray(g, "tokenizer.ggml.tokens");
    const types = metaNumberArray(g, "tokenizer.ggml.token_type");
    assert.ok(tokens && types);
    assert.equal(g.metadataTypes.get("tokenizer.ggml.token_type"), 9);
    assert.deepEqual(g.metadata.get("tokenizer.ggml.token_type"), {
      arrayOf: 5, // i32
      length: 49280,
      items: types,
    });
    assert.equal(tokens.length, 49280);
    assert.equal(types.length, 49280);
    const expected: Record<string, number> = {
      "<|im_start|>": 1,
      "<global-img>": 49152,
      "<row_1_col_1>": 49153,
      "<row_1_col_6>": 49158,
      "<row_2_col_1>": 49159,
      "<row_6_col_6>": 49188,
      "<fake_token_around_image>": 49189,
      "<image>": 49190,
      "<end_of_utterance>": 49279,
    };
    for (const [t, id] of Object.entries(expected)) {
      assert.equal(tokens[id], t);
      assert.equal(SMOLVLM_SPECIAL_TOKENS[t], id);
      assert.equal(types[id], TokenType.CONTROL, t);
    }
    for (let id = 49191; id < 49279; id++) {
      assert.equal(tokens[id], `[PAD${id}]`);
      assert.equal(types[id], TokenType.UNUSED);
    }
    assert.equal(tokens[100], "tok100");
    assert.equal(new Set(tokens).size, tokens.length);

    const shapes = Object.fromEntries(g.tensors.map((t) => [t.name, [t.shape, t.type]]));
    assert.equal(g.tensors.length, 3 + 2 * 9);
    assert.deepEqual(shapes["token_embd.weight"], [[64, 49280], GgmlType.F16]);
    assert.deepEqual(shapes["output.weight"], [[64, 49280], GgmlType.F16]);
    assert.deepEqual(shapes["output_norm.weight"], [[64], GgmlType.F32]);
    assert.deepEqual(shapes["blk.1.attn_q.weight"], [[64, 64], GgmlType.F16]);
    assert.deepEqual(shapes["blk.1.attn_k.weight"], [[64, 32], GgmlType.F16]);
    assert.deepEqual(shapes["blk.1.attn_v.weight"], [[64, 32], GgmlType.F16]);
    assert.deepEqual(shapes["blk.1.attn_output.weight"], [[64, 64], GgmlType.F16]);
    assert.deepEqual(shapes["blk.1.ffn_gate.weight"], [[64, 128], GgmlType.F16]);
    assert.deepEqual(shapes["blk.1.ffn_up.weight"], [[64, 128], GgmlType.F16]);
    assert.deepEqual(shapes["blk.1.ffn_down.weight"], [[128, 64], GgmlType.F16]);
    assert.deepEqual(shapes["blk.0.attn_norm.weight"], [[64], GgmlType.F32]);
    assert.deepEqual(shapes["blk.0.ffn_norm.weight"], [[64], GgmlType.F32]);

    // norms are 1; weights have roughly the requested std (0.2)
    const norm = new Float32Array((await readTensorBytes(g, "output_norm.weight")).buffer);
    assert.ok(norm.every((v) => v === 1));
    const w = Float32Array.from(
      new Float16Array((await readTensorBytes(g, "blk.0.ffn_up.weight")).buffer),
    );
    const mean = w.reduce((a, b) => a + b, 0) / w.length;
    const std = Math.sqrt(w.reduce((a, b) => a + (b - mean) ** 2, 0) / w.length);
    assert.ok(Math.abs(mean) < 0.02, `mean ${mean}`);
    assert.ok(Math.abs(std - 0.2) < 0.01, `std ${std}`);
  });
});

Deno.test("tiny pair: mmproj metadata and tensor shapes", async () => {
  await withTemp(async (dir, vocab) => {
    const { mmproj } = await writeSmolVlmPair({
      preset: "tiny",
      seed: 1,
      outDir: dir,
      vocabGguf: vocab,
    });
    const g = await readGgufHeader(mmproj, { arrays: true });
    assert.equal(metaString(g, "general.architecture"), "clip");
    assert.equal(metaString(g, "clip.projector_type"), "idefics3");
    assert.equal(metaBool(g, "clip.has_vision_encoder"), true);
    assert.equal(metaBool(g, "clip.use_gelu"), true);
    assert.equal(metaNumber(g, "clip.vision.image_size"), 512);
    assert.equal(metaNumber(g, "clip.vision.patch_size"), 16);
    assert.equal(metaNumber(g, "clip.vision.projector.scale_factor"), 4);
    assert.equal(metaNumber(g, "clip.vision.projection_dim"), 64);
    assert.equal(metaNumber(g, "clip.vision.embedding_length"), 64);
    assert.equal(metaNumber(g, "clip.vision.block_count"), 2);
    assert.deepEqual(metaNumberArray(g, "clip.vision.image_mean"), [0.5, 0.5, 0.5]);
    assert.equal((g.metadata.get("clip.vision.image_mean") as GgufArray).arrayOf, 6); // f32
    assert.ok(!g.metadata.has("clip.vision.preproc_image_size"));
    const shapes = Object.fromEntries(g.tensors.map((t) => [t.name, [t.shape, t.type]]));
    assert.equal(g.tensors.length, 3 + 2 * 16 + 3);
    assert.deepEqual(shapes["v.patch_embd.weight"], [[16, 16, 3, 64], GgmlType.F32]);
    assert.deepEqual(shapes["v.patch_embd.bias"], [[64], GgmlType.F32]);
    assert.deepEqual(shapes["v.position_embd.weight"], [[64, 1024], GgmlType.F32]);
    assert.deepEqual(shapes["v.blk.1.attn_out.weight"], [[64, 64], GgmlType.F16]);
    assert.deepEqual(shapes["v.blk.1.ffn_up.weight"], [[64, 128], GgmlType.F16]);
    assert.deepEqual(shapes["v.blk.1.ffn_down.weight"], [[128, 64], GgmlType.F16]);
    assert.deepEqual(shapes["v.blk.1.ln2.bias"], [[64], GgmlType.F32]);
    assert.deepEqual(shapes["v.post_ln.weight"], [[64], GgmlType.F32]);
    assert.deepEqual(shapes["mm.model.fc.weight"], [[1024, 64], GgmlType.F16]);

    const { mmproj: withPreproc } = await writeSmolVlmPair({
      preset: "tiny",
      seed: 1,
      outDir: `${dir}/p`,
      vocabGguf: vocab,
      preprocImageSize: 2048,
    });
    const g2 = await readGgufHeader(withPreproc);
    assert.equal(metaNumber(g2, "clip.vision.preproc_image_size"), 2048);
  });
});

Deno.test("tiny pair: f32 and q8_0 weight types", async () => {
  await withTemp(async (dir, vocab) => {
    for (const type of ["f32", "q8_0"] as const) {
      const { model, mmproj } = await writeSmolVlmPair({
        preset: "tiny",
        seed: 1,
        outDir: dir,
        vocabGguf: vocab,
        type,
      });
      const want = type === "f32" ? GgmlType.F32 : GgmlType.Q8_0;
      const g = await readGgufHeader(model);
      assert.equal(metaNumber(g, "general.file_type"), type === "f32" ? 0 : 7);
      assert.equal(g.tensors.find((t) => t.name === "blk.0.ffn_down.weight")?.type, want);
      const p = await readGgufHeader(mmproj);
      assert.equal(p.tensors.find((t) => t.name === "mm.model.fc.weight")?.type, want);
      assert.equal(p.tensors.find((t) => t.name === "v.patch_embd.weight")?.type, GgmlType.F32);
    }
  });
});

Deno.test("fixtures: manifest skip, corruption triggers regeneration", async () => {
  await withTemp(async (dir, vocab) => {
    const lines: string[] = [];
    const opts = { preset: "tiny" as const, outDir: dir, vocab, log: (l: string) => lines.push(l) };
    const first = await ensureFixturePair(opts);
    assert.equal(first.generated, true);
    assert.equal(first.model, `${dir}/tiny/smolvlm-tiny-f16.gguf`);
    const manifest = JSON.parse(await Deno.readTextFile(`${dir}/tiny/manifest.json`));
    assert.match(manifest.entries.f16.key, /^v\d+\/tiny\/seed=1\/f16\//);
    assert.match(manifest.entries.f16.model.sha256, /^[0-9a-f]{64}$/);

    const second = await ensureFixturePair(opts);
    assert.equal(second.generated, false);

    const f = await Deno.open(first.mmproj, { write: true });
    await f.seek(-4, Deno.SeekMode.End);
    await f.write(new Uint8Array([1, 2, 3, 4]));
    f.close();
    const third = await ensureFixturePair(opts);
    assert.equal(third.generated, true);

    const fourth = await ensureFixturePair({ ...opts, seed: 2 });
    assert.equal(fourth.generated, true);
    assert.ok(lines.some((l) => l.includes("up to date")));
  });
});

Deno.test("fixtures: CLI argument handling", async () => {
  assert.equal(await runFixtures(["--preset", "huge"]), 2);
  assert.equal(await runFixtures(["--type", "q4"]), 2);
  assert.equal(await runFixtures(["--bogus"]), 2);
  await assert.rejects(resolveVocabPath("/nonexistent/vocab.gguf"), /not found/);
});

// The real vocabulary (llama.cpp source tree, found via native/lib/manifest.json or
// $SMOLVLM_LLAMA_SRC). The test task builds native first; without it this test fails.
Deno.test({
  name: "tiny pair with llama.cpp's StarCoder vocabulary",
  fn: async () => {
    const realVocab = await resolveVocabPath();
    const dir = await Deno.makeTempDir({ prefix: "smolvlm-real-" });
    try {
      const { model } = await writeSmolVlmPair({
        preset: "tiny",
        seed: 1,
        outDir: dir,
        vocabGguf: realVocab,
      });
      const g = await readGgufHeader(model, { arrays: true });
      const tokens = metaStringArray(g, "tokenizer.ggml.tokens");
      assert.ok(tokens);
      assert.equal(tokens[0], "<|endoftext|>");
      assert.equal(tokens[1], "<|im_start|>");
      assert.equal(tokens[2], "<|im_end|>");
      assert.equal(tokens[49279], "<end_of_utterance>");
      assert.ok(tokens.includes("Ċ") && tokens.includes("ĊĊ")); // mtmd looks up "\n", "\n\n"
      assert.ok(!tokens.includes("<fim_pad>")); // would be an extra EOG token in llama.cpp
      assert.ok(metaStringArray(g, "tokenizer.ggml.merges")!.length > 40000);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
