/**
 * Synthetic SmolVLM model generator: a text model (`general.architecture = llama`) and an mmproj
 * (`general.architecture = clip`, `clip.projector_type = idefics3`) with SmolVLM's real
 * architecture, tokenizer and special tokens, and seeded random weights. No weights are
 * downloaded; the 49,152-token GPT2 BPE vocabulary is read from llama.cpp's
 * `models/ggml-vocab-starcoder.gguf` and extended to SmolVLM's 49,280 tokens.
 *
 * Output is a pure function of (GENERATOR_VERSION, preset, seed, type, weightStd,
 * preprocImageSize, vocab file): the same inputs give byte-identical files.
 *
 * Weights are drawn uniformly from [-std·√3, +std·√3] (i.e. standard deviation `std`) with a
 * per-tensor mulberry32 stream seeded from (seed, file, tensor name); uniform is used instead of a
 * normal distribution because it costs one PRNG step per value (the 500m pair has ~500 M
 * values). Norm weights are 1, norm biases 0, linear biases uniform with std 0.02.
 *
 * @module
 */

import { metaNumberArray, metaStringArray, readGgufHeader } from "../../src/models/gguf.ts";
import { required } from "./required.ts";
import { GgmlType, type GgufValue, gv } from "./types.ts";
import { type GgufWriteProgress, type TensorFiller, type TensorSpec, writeGguf } from "./writer.ts";

/** Bump whenever the bytes produced for a given (preset, seed, options) change. */
export const GENERATOR_VERSION = 1;

export type SmolVlmPreset = "tiny" | "500m";
export type SmolVlmWeightType = "f16" | "f32" | "q8_0";

export interface TextHParams {
  readonly nEmbd: number;
  readonly nLayer: number;
  readonly nHead: number;
  readonly nHeadKv: number;
  readonly nFf: number;
  readonly nCtx: number;
  readonly ropeTheta: number;
  readonly rmsEps: number;
}

export interface VisionHParams {
  readonly imageSize: number;
  readonly patchSize: number;
  readonly nEmbd: number;
  readonly nLayer: number;
  readonly nHead: number;
  readonly nFf: number;
  readonly eps: number;
  readonly scaleFactor: number;
  readonly mean: readonly [number, number, number];
  readonly std: readonly [number, number, number];
}

export interface SmolVlmPresetSpec {
  readonly text: TextHParams;
  readonly vision: VisionHParams;
  /** Default weight std (see module docs). */
  readonly weightStd: number;
}

const SIGLIP_512: Omit<VisionHParams, "nEmbd" | "nLayer" | "nHead" | "nFf"> = {
  imageSize: 512,
  patchSize: 16,
  eps: 1e-6,
  scaleFactor: 4,
  mean: [0.5, 0.5, 0.5],
  std: [0.5, 0.5, 0.5],
};

export const SMOLVLM_PRESETS: Readonly<Record<SmolVlmPreset, SmolVlmPresetSpec>> = {
  /** Same vocab, tokens, image/patch size and scale factor (64 tokens per 512 px tile) as the
   * real models; tiny widths. ~14 MB (f16). std 0.2 keeps greedy output varied. */
  tiny: {
    text: {
      nEmbd: 64,
      nLayer: 2,
      nHead: 4,
      nHeadKv: 2,
      nFf: 128,
      nCtx: 8192,
      ropeTheta: 100000,
      rmsEps: 1e-5,
    },
    vision: { ...SIGLIP_512, nEmbd: 64, nLayer: 2, nHead: 4, nFf: 128 },
    weightStd: 0.2,
  },
  /** SmolVLM-500M-Instruct's exact shapes (~820 MB + ~199 MB in f16). */
  "500m": {
    text: {
      nEmbd: 960,
      nLayer: 32,
      nHead: 15,
      nHeadKv: 5,
      nFf: 2560,
      nCtx: 8192,
      ropeTheta: 100000,
      rmsEps: 1e-5,
    },
    vision: { ...SIGLIP_512, nEmbd: 768, nLayer: 12, nHead: 12, nFf: 3072 },
    // ≈ 1.6/√960: the same per-matmul gain as 0.2 at width 64; keeps f16 activations finite.
    weightStd: 0.05,
  },
};

// ---------------------------------------------------------------------------------------------
// Tokenizer

export const SMOLVLM_VOCAB_SIZE = 49280;
export const BASE_VOCAB_SIZE = 49152;

/** llama.cpp `llama_token_type` values. */
export const TokenType = {
  NORMAL: 1,
  UNKNOWN: 2,
  CONTROL: 3,
  USER_DEFINED: 4,
  UNUSED: 5,
  BYTE: 6,
} as const;

const SMOLLM2_LEADING_SPECIALS = [
  "<|endoftext|>",
  "<|im_start|>",
  "<|im_end|>",
  "<repo_name>",
  "<reponame>",
  "<file_sep>",
  "<filename>",
  "<gh_stars>",
  "<issue_start>",
  "<issue_comment>",
  "<issue_closed>",
  "<jupyter_start>",
  "<jupyter_text>",
  "<jupyter_code>",
  "<jupyter_output>",
  "<jupyter_script>",
  "<empty_output>",
] as const;

/** SmolVLM's special tokens at their real ids (ids 17-37 keep StarCoder's control tokens). */
export const SMOLVLM_SPECIAL_TOKENS: Readonly<Record<string, number>> = (() => {
  const m: Record<string, number> = {};
  // SmolLM2's leading special tokens (ids 0-16), replacing StarCoder's FIM/PR tokens there.
  SMOLLM2_LEADING_SPECIALS.forEach((t, i) => m[t] = i);
  m["<global-img>"] = 49152;
  let id = 49153;
  for (let r = 1; r <= 6; r++) {
    for (let c = 1; c <= 6; c++) m[`<row_${r}_col_${c}>`] = id++;
  }
  m["<fake_token_around_image>"] = 49189;
  m["<image>"] = 49190;
  m["<end_of_utterance>"] = 49279;
  return m;
})();

export const BOS_TOKEN_ID = 1;
export const EOS_TOKEN_ID = 49279;
export const PAD_TOKEN_ID = 2;

/**
 * SmolVLM-Instruct's chat template (HF `chat_template.json`). llama.cpp's legacy detector maps
 * it to the built-in `smolvlm` format (it contains `<|im_start|>` and `<end_of_utterance>`);
 * llama.cpp's Jinja engine sees that it only reads typed content (`content[0]['type']`) and
 * converts plain-string messages to `[{type: "text", text}]` before rendering, so both paths
 * render `<|im_start|>User: …<end_of_utterance>\nAssistant:`.
 */
export const SMOLVLM_CHAT_TEMPLATE = "<|im_start|>{% for message in messages %}" +
  "{{message['role'] | capitalize}}" +
  "{% if message['content'][0]['type'] == 'image' %}{{':'}}{% else %}{{': '}}{% endif %}" +
  "{% for line in message['content'] %}" +
  "{% if line['type'] == 'text' %}{{line['text']}}" +
  "{% elif line['type'] == 'image' %}{{ '<image>' }}{% endif %}" +
  "{% endfor %}<end_of_utterance>\n{% endfor %}" +
  "{% if add_generation_prompt %}{{ 'Assistant:' }}{% endif %}";

export interface SmolVlmVocab {
  readonly tokens: readonly string[];
  readonly tokenTypes: readonly number[];
  readonly merges: readonly string[];
}

const vocabCache = new Map<string, Promise<SmolVlmVocab>>();

/**
 * Reads the 49,152-token StarCoder BPE vocabulary and extends it to SmolVLM's layout:
 * ids 0-16 become SmolLM2's special tokens (`<|endoftext|>`, `<|im_start|>`, `<|im_end|>`,
 * `<repo_name>`, …; this also drops StarCoder's `<fim_pad>`, which llama.cpp would treat as EOG), 49152–49190 and 49279 get SmolVLM's
 * special tokens (control), and the holes 49191–49278 get `[PAD<id>]` placeholders of type
 * UNUSED — exactly what convert_hf_to_gguf.py emits for ids the HF tokenizer does not define.
 */
export function loadSmolVlmVocab(vocabGguf: string): Promise<SmolVlmVocab> {
  let p = vocabCache.get(vocabGguf);
  if (!p) {
    p = buildVocab(vocabGguf);
    vocabCache.set(vocabGguf, p);
    p.catch(() => vocabCache.delete(vocabGguf));
  }
  return p;
}

async function buildVocab(vocabGguf: string): Promise<SmolVlmVocab> {
  const g = await readGgufHeader(vocabGguf, { arrays: true });
  const baseTokens = required(g, "tokenizer.ggml.tokens", metaStringArray);
  const baseTypes = required(g, "tokenizer.ggml.token_type", metaNumberArray);
  const merges = required(g, "tokenizer.ggml.merges", metaStringArray);
  if (baseTokens.length !== BASE_VOCAB_SIZE || baseTypes.length !== BASE_VOCAB_SIZE) {
    throw new Error(
      `${vocabGguf}: expected ${BASE_VOCAB_SIZE} tokens, got ${baseTokens.length} (use ` +
        `llama.cpp's models/ggml-vocab-starcoder.gguf)`,
    );
  }
  const tokens: string[] = [...baseTokens];
  const types: number[] = [...baseTypes];
  for (let id = BASE_VOCAB_SIZE; id < SMOLVLM_VOCAB_SIZE; id++) {
    tokens.push(`[PAD${id}]`);
    types.push(TokenType.UNUSED);
  }
  for (const [text, id] of Object.entries(SMOLVLM_SPECIAL_TOKENS)) {
    tokens[id] = text;
    types[id] = TokenType.CONTROL;
  }
  const seen = new Map<string, number>();
  tokens.forEach((t, i) => {
    const prev = seen.get(t);
    if (prev !== undefined) {
      throw new Error(`duplicate token ${JSON.stringify(t)} at ${prev}, ${i}`);
    }
    seen.set(t, i);
  });
  return { tokens, tokenTypes: types, merges };
}

// ---------------------------------------------------------------------------------------------
// Random weights

/** 32-bit FNV-1a over a string, then a murmur3 finalizer. */
function hash32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Uniform values with mean `mean` and standard deviation `std`, from a mulberry32 stream. */
export function uniformFiller(streamKey: string, std: number, mean = 0): TensorFiller {
  let state = hash32(streamKey);
  const half = std * Math.sqrt(3);
  const scale = (2 * half) / 4294967296;
  const base = mean - half;
  return (out) => {
    let a = state;
    for (let i = 0; i < out.length; i++) {
      a = (a + 0x6d2b79f5) | 0;
      let t = Math.imul(a ^ (a >>> 15), 1 | a);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      out[i] = base + ((t ^ (t >>> 14)) >>> 0) * scale;
    }
    state = a;
  };
}

export function constantFiller(value: number): TensorFiller {
  return (out) => {
    out.fill(value);
  };
}

// ---------------------------------------------------------------------------------------------
// Model construction

export interface SmolVlmOptions {
  readonly preset: SmolVlmPreset;
  readonly seed: number;
  readonly outDir: string;
  /** Path to llama.cpp's `models/ggml-vocab-starcoder.gguf`. */
  readonly vocabGguf: string;
  /** Std of weight matrices; default from the preset (tiny 0.2, 500m 0.05). */
  readonly weightStd?: number;
  /** Type of 2-D weight matrices (default f16). Norms, biases and vision embeddings stay F32. */
  readonly type?: SmolVlmWeightType;
  /**
   * Writes `clip.vision.preproc_image_size` (the HF processor's `size.longest_edge`; 2048 in the
   * real SmolVLM mmproj files). Absent by default: with it, llama.cpp's idefics3 preprocessor
   * resizes every image so its longest edge is this size and cuts 512 px tiles (17 encoder
   * passes for any square image at 2048). Without it, 512 px → 1 tile + overview, 1024 px → 2x2
   * + overview, and `image_max_tokens` bounds tiling.
   */
  readonly preprocImageSize?: number;
  /** File names inside `outDir` (defaults: `smolvlm-<preset>-<type>.gguf`, `mmproj-…`). */
  readonly modelFileName?: string;
  readonly mmprojFileName?: string;
  readonly onProgress?: (file: "model" | "mmproj", p: GgufWriteProgress) => void;
}

export interface SmolVlmPair {
  readonly model: string;
  readonly mmproj: string;
  readonly modelBytes: number;
  readonly mmprojBytes: number;
}

const FILE_TYPE: Readonly<Record<SmolVlmWeightType, number>> = { f32: 0, f16: 1, q8_0: 7 };
const GGML_OF: Readonly<Record<SmolVlmWeightType, GgmlType>> = {
  f32: GgmlType.F32,
  f16: GgmlType.F16,
  q8_0: GgmlType.Q8_0,
};

export function defaultFileNames(
  preset: SmolVlmPreset,
  type: SmolVlmWeightType,
): { model: string; mmproj: string } {
  return {
    model: `smolvlm-${preset}-${type}.gguf`,
    mmproj: `mmproj-smolvlm-${preset}-${type}.gguf`,
  };
}

interface Ctx {
  readonly seed: number;
  readonly file: string;
  readonly std: number;
  readonly matType: GgmlType;
}

function matrix(c: Ctx, name: string, shape: readonly number[], std = c.std): TensorSpec {
  // Q8_0 needs ne0 % 32 == 0; fall back to F16 otherwise (as llama-quantize does).
  const type = c.matType === GgmlType.Q8_0 && shape[0]! % 32 !== 0 ? GgmlType.F16 : c.matType;
  return { name, shape, type, data: uniformFiller(`${c.seed}/${c.file}/${name}`, std) };
}

function f32Tensor(c: Ctx, name: string, shape: readonly number[], std: number): TensorSpec {
  return {
    name,
    shape,
    type: GgmlType.F32,
    data: uniformFiller(`${c.seed}/${c.file}/${name}`, std),
  };
}

function ones(name: string, n: number): TensorSpec {
  return { name, shape: [n], type: GgmlType.F32, data: constantFiller(1) };
}

function zeros(name: string, n: number): TensorSpec {
  return { name, shape: [n], type: GgmlType.F32, data: constantFiller(0) };
}

const BIAS_STD = 0.02;

export function textModelMetadata(
  preset: SmolVlmPreset,
  h: TextHParams,
  vocab: SmolVlmVocab,
  type: SmolVlmWeightType,
  seed: number,
): Array<[string, GgufValue]> {
  return [
    ["general.architecture", gv.str("llama")],
    ["general.type", gv.str("model")],
    ["general.name", gv.str(`SmolVLM ${preset} synthetic (seed ${seed})`)],
    [
      "general.description",
      gv.str(
        `Random weights with SmolVLM's architecture and tokenizer; generator v${GENERATOR_VERSION}`,
      ),
    ],
    ["general.file_type", gv.u32(FILE_TYPE[type])],
    ["llama.vocab_size", gv.u32(SMOLVLM_VOCAB_SIZE)],
    ["llama.context_length", gv.u32(h.nCtx)],
    ["llama.embedding_length", gv.u32(h.nEmbd)],
    ["llama.block_count", gv.u32(h.nLayer)],
    ["llama.feed_forward_length", gv.u32(h.nFf)],
    ["llama.rope.dimension_count", gv.u32(h.nEmbd / h.nHead)],
    ["llama.attention.head_count", gv.u32(h.nHead)],
    ["llama.attention.head_count_kv", gv.u32(h.nHeadKv)],
    ["llama.rope.freq_base", gv.f32(h.ropeTheta)],
    ["llama.attention.layer_norm_rms_epsilon", gv.f32(h.rmsEps)],
    ["tokenizer.ggml.model", gv.str("gpt2")],
    ["tokenizer.ggml.pre", gv.str("smollm")],
    ["tokenizer.ggml.tokens", gv.arrStr(vocab.tokens)],
    ["tokenizer.ggml.token_type", gv.arrI32(vocab.tokenTypes)],
    ["tokenizer.ggml.merges", gv.arrStr(vocab.merges)],
    ["tokenizer.ggml.bos_token_id", gv.u32(BOS_TOKEN_ID)],
    ["tokenizer.ggml.eos_token_id", gv.u32(EOS_TOKEN_ID)],
    ["tokenizer.ggml.unknown_token_id", gv.u32(0)],
    ["tokenizer.ggml.padding_token_id", gv.u32(PAD_TOKEN_ID)],
    ["tokenizer.ggml.add_bos_token", gv.bool(false)],
    ["tokenizer.chat_template", gv.str(SMOLVLM_CHAT_TEMPLATE)],
  ];
}

export function textModelTensors(c: Ctx, h: TextHParams): TensorSpec[] {
  const headDim = h.nEmbd / h.nHead;
  const nEmbdKv = headDim * h.nHeadKv;
  const t: TensorSpec[] = [
    matrix(c, "token_embd.weight", [h.nEmbd, SMOLVLM_VOCAB_SIZE]),
    ones("output_norm.weight", h.nEmbd),
    matrix(c, "output.weight", [h.nEmbd, SMOLVLM_VOCAB_SIZE]),
  ];
  for (let i = 0; i < h.nLayer; i++) {
    const b = `blk.${i}`;
    t.push(
      ones(`${b}.attn_norm.weight`, h.nEmbd),
      matrix(c, `${b}.attn_q.weight`, [h.nEmbd, h.nEmbd]),
      matrix(c, `${b}.attn_k.weight`, [h.nEmbd, nEmbdKv]),
      matrix(c, `${b}.attn_v.weight`, [h.nEmbd, nEmbdKv]),
      matrix(c, `${b}.attn_output.weight`, [h.nEmbd, h.nEmbd]),
      ones(`${b}.ffn_norm.weight`, h.nEmbd),
      matrix(c, `${b}.ffn_gate.weight`, [h.nEmbd, h.nFf]),
      matrix(c, `${b}.ffn_up.weight`, [h.nEmbd, h.nFf]),
      matrix(c, `${b}.ffn_down.weight`, [h.nFf, h.nEmbd]),
    );
  }
  return t;
}

export function mmprojMetadata(
  preset: SmolVlmPreset,
  v: VisionHParams,
  textEmbd: number,
  type: SmolVlmWeightType,
  seed: number,
  preprocImageSize?: number,
): Array<[string, GgufValue]> {
  const kv: Array<[string, GgufValue]> = [
    ["general.architecture", gv.str("clip")],
    ["general.type", gv.str("mmproj")],
    ["general.name", gv.str(`SmolVLM ${preset} synthetic mmproj (seed ${seed})`)],
    ["general.file_type", gv.u32(FILE_TYPE[type])],
    ["clip.has_vision_encoder", gv.bool(true)],
    ["clip.projector_type", gv.str("idefics3")],
    ["clip.use_gelu", gv.bool(true)],
    ["clip.vision.projection_dim", gv.u32(textEmbd)],
    ["clip.vision.image_size", gv.u32(v.imageSize)],
    ["clip.vision.patch_size", gv.u32(v.patchSize)],
    ["clip.vision.embedding_length", gv.u32(v.nEmbd)],
    ["clip.vision.feed_forward_length", gv.u32(v.nFf)],
    ["clip.vision.block_count", gv.u32(v.nLayer)],
    ["clip.vision.attention.head_count", gv.u32(v.nHead)],
    ["clip.vision.attention.layer_norm_epsilon", gv.f32(v.eps)],
    ["clip.vision.projector.scale_factor", gv.u32(v.scaleFactor)],
    ["clip.vision.image_mean", gv.arrF32(v.mean)],
    ["clip.vision.image_std", gv.arrF32(v.std)],
  ];
  if (preprocImageSize !== undefined) {
    kv.push(["clip.vision.preproc_image_size", gv.u32(preprocImageSize)]);
  }
  return kv;
}

export function mmprojTensors(c: Ctx, v: VisionHParams, textEmbd: number): TensorSpec[] {
  const nPos = (v.imageSize / v.patchSize) ** 2;
  const d = v.nEmbd;
  // Patch embedding: Conv2d(3 → d, k = patch), ggml shape [kw, kh, c_in, c_out]. Its fan-in is
  // 3·p² (768 for p=16), so scale the std like a width-768 matrix would be.
  const patchStd = c.std * Math.sqrt(d / (3 * v.patchSize * v.patchSize));
  const t: TensorSpec[] = [
    f32Tensor(c, "v.patch_embd.weight", [v.patchSize, v.patchSize, 3, d], patchStd),
    f32Tensor(c, "v.patch_embd.bias", [d], BIAS_STD),
    f32Tensor(c, "v.position_embd.weight", [d, nPos], c.std),
  ];
  for (let i = 0; i < v.nLayer; i++) {
    const b = `v.blk.${i}`;
    t.push(
      ones(`${b}.ln1.weight`, d),
      zeros(`${b}.ln1.bias`, d),
      matrix(c, `${b}.attn_q.weight`, [d, d]),
      f32Tensor(c, `${b}.attn_q.bias`, [d], BIAS_STD),
      matrix(c, `${b}.attn_k.weight`, [d, d]),
      f32Tensor(c, `${b}.attn_k.bias`, [d], BIAS_STD),
      matrix(c, `${b}.attn_v.weight`, [d, d]),
      f32Tensor(c, `${b}.attn_v.bias`, [d], BIAS_STD),
      matrix(c, `${b}.attn_out.weight`, [d, d]),
      f32Tensor(c, `${b}.attn_out.bias`, [d], BIAS_STD),
      ones(`${b}.ln2.weight`, d),
      zeros(`${b}.ln2.bias`, d),
      matrix(c, `${b}.ffn_up.weight`, [d, v.nFf]),
      f32Tensor(c, `${b}.ffn_up.bias`, [v.nFf], BIAS_STD),
      matrix(c, `${b}.ffn_down.weight`, [v.nFf, d]),
      f32Tensor(c, `${b}.ffn_down.bias`, [d], BIAS_STD),
    );
  }
  t.push(
    ones("v.post_ln.weight", d),
    zeros("v.post_ln.bias", d),
    // pixel-shuffle by scale_factor concatenates sf² patch vectors: d·sf² → text n_embd
    matrix(c, "mm.model.fc.weight", [d * v.scaleFactor * v.scaleFactor, textEmbd]),
  );
  return t;
}

/** Writes the text model and mmproj for `preset`; returns their paths. */
export async function writeSmolVlmPair(opts: SmolVlmOptions): Promise<SmolVlmPair> {
  const spec = SMOLVLM_PRESETS[opts.preset];
  if (!spec) throw new Error(`unknown preset ${opts.preset}`);
  if (!Number.isSafeInteger(opts.seed)) throw new Error(`seed must be an integer`);
  const type = opts.type ?? "f16";
  const std = opts.weightStd ?? spec.weightStd;
  if (!(std > 0)) throw new Error(`weightStd must be > 0`);
  const { text, vision } = spec;
  if (text.nEmbd % text.nHead !== 0 || text.nHead % text.nHeadKv !== 0) {
    throw new Error("bad text head configuration");
  }
  if (vision.nFf === vision.nEmbd) {
    // clip.cpp swaps ffn_up/ffn_down for idefics3 when ffn_down's ne0 equals n_embd.
    throw new Error("vision ffn width must differ from its hidden width");
  }
  const names = defaultFileNames(opts.preset, type);
  await Deno.mkdir(opts.outDir, { recursive: true });
  const model = `${opts.outDir}/${opts.modelFileName ?? names.model}`;
  const mmproj = `${opts.outDir}/${opts.mmprojFileName ?? names.mmproj}`;
  const vocab = await loadSmolVlmVocab(opts.vocabGguf);
  const matType = GGML_OF[type];

  const m = await writeGguf(
    model,
    textModelMetadata(opts.preset, text, vocab, type, opts.seed),
    textModelTensors({ seed: opts.seed, file: "model", std, matType }, text),
    { onProgress: (p) => opts.onProgress?.("model", p) },
  );
  const p = await writeGguf(
    mmproj,
    mmprojMetadata(opts.preset, vision, text.nEmbd, type, opts.seed, opts.preprocImageSize),
    mmprojTensors({ seed: opts.seed, file: "mmproj", std, matType }, vision, text.nEmbd),
    { onProgress: (pr) => opts.onProgress?.("mmproj", pr) },
  );
  return { model, mmproj, modelBytes: m.bytes, mmprojBytes: p.bytes };
}
