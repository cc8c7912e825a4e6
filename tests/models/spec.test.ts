/** Model names: aliases, repo ids with quantizations, paths, and the files a quantization picks. */
import assert from "node:assert/strict";
import {
  DEFAULT_MODEL_SPEC,
  formatModelSpec,
  isLocalModelPath,
  ModelSpecError,
  parseModelSpec,
  pickModelFiles,
} from "../../src/models/spec.ts";
import { hubEnv } from "../../src/models/hf_cache.ts";
import { pullPermissions } from "../../src/cli/permissions.ts";

Deno.test("parseModelSpec() reads repo ids, aliases, quantizations and revisions", () => {
  assert.deepEqual(parseModelSpec("ggml-org/SmolVLM-500M-Instruct-GGUF:Q8_0"), {
    repo: "ggml-org/SmolVLM-500M-Instruct-GGUF",
    quant: "Q8_0",
    revision: "main",
    stem: "SmolVLM-500M-Instruct",
  });
  assert.equal(
    formatModelSpec(parseModelSpec(DEFAULT_MODEL_SPEC)),
    "ggml-org/SmolVLM2-500M-Video-Instruct-GGUF:Q8_0",
  );
  assert.equal(
    parseModelSpec("SmolVLM2-500M-Video").repo,
    "ggml-org/SmolVLM2-500M-Video-Instruct-GGUF",
  );
  assert.equal(
    parseModelSpec("HuggingFaceTB/SmolVLM-256M-Instruct").repo,
    "ggml-org/SmolVLM-256M-Instruct-GGUF",
  );
  assert.equal(parseModelSpec("smolvlm-2.2b:Q4_K_M").quant, "Q4_K_M");
  assert.equal(parseModelSpec("smolvlm2-2.2b").repo, "ggml-org/SmolVLM2-2.2B-Instruct-GGUF");
  assert.equal(parseModelSpec("someone/Other-GGUF:F16@v1").revision, "v1");
  assert.equal(parseModelSpec("someone/Other-GGUF").stem, null);
  assert.throws(() => parseModelSpec("smolvlm-500m:Q8 0"), ModelSpecError);
  assert.throws(() => parseModelSpec("no-such-alias"), /not a GGUF path, a Hugging Face repo id/);
  assert.throws(() => parseModelSpec("a/b@../x"), ModelSpecError);
});

Deno.test("isLocalModelPath() tells files from hub names", () => {
  for (const p of ["m.gguf", "/tmp/x", "./a", "../b", "~/m", "models/M.GGUF", "weights"]) {
    assert.equal(isLocalModelPath(p), true, p);
  }
  for (
    const n of ["smolvlm-500m", "smolvlm-500m:Q4_K_M", "ggml-org/SmolVLM-Instruct-GGUF:Q8_0", "a/b"]
  ) {
    assert.equal(isLocalModelPath(n), false, n);
  }
});

Deno.test("pickModelFiles() picks the quantization's text model and its projector", () => {
  const files = [
    "README.md",
    "SmolVLM-Instruct-Q4_K_M.gguf",
    "SmolVLM-Instruct-Q8_0.gguf",
    "SmolVLM-Instruct-f16.gguf",
    "mmproj-SmolVLM-Instruct-Q8_0.gguf",
    "mmproj-SmolVLM-Instruct-f16.gguf",
  ];
  assert.deepEqual(pickModelFiles(files, "Q8_0"), {
    model: "SmolVLM-Instruct-Q8_0.gguf",
    mmproj: "mmproj-SmolVLM-Instruct-Q8_0.gguf",
  });
  // No Q4_K_M projector is published: F16 is the fallback.
  assert.deepEqual(pickModelFiles(files, "q4_k_m"), {
    model: "SmolVLM-Instruct-Q4_K_M.gguf",
    mmproj: "mmproj-SmolVLM-Instruct-f16.gguf",
  });
  assert.equal(pickModelFiles(files, "Q4_K"), null, "a label matches whole, not as a prefix");
});

Deno.test("hubEnv() follows huggingface_hub's variables and pullPermissions() grants only the hub and the cache", () => {
  const env = (vars: Record<string, string>) => hubEnv((k) => vars[k]);
  assert.equal(env({ HOME: "/h" }).cacheDir, "/h/.cache/huggingface/hub");
  assert.equal(env({ HOME: "/h", HF_HOME: "/hf" }).cacheDir, "/hf/hub");
  assert.equal(env({ HF_HOME: "/hf", HF_HUB_CACHE: "/c/" }).cacheDir, "/c");
  assert.equal(env({ HF_HUB_OFFLINE: "1" }).offline, true);
  assert.equal(env({}).endpoint, "https://huggingface.co");
  assert.equal(env({ HF_TOKEN: "hf_x" }).token, "hf_x");
  const p = pullPermissions(env({ HF_HOME: "/hf" }));
  assert.deepEqual(p.net, ["huggingface.co", "*.huggingface.co", "*.hf.co"]);
  assert.deepEqual(p.read, ["/hf/hub"]);
  assert.deepEqual(p.write, ["/hf/hub"]);
  assert.equal(p.ffi, false);
  // A local hub may redirect to another port of its host.
  assert.deepEqual(pullPermissions(env({ HF_ENDPOINT: "http://127.0.0.1:9000" })).net, [
    "127.0.0.1",
  ]);
  assert.deepEqual(pullPermissions(env({ HF_ENDPOINT: "https://hf-mirror.com" })).net, [
    "hf-mirror.com",
    "*.hf-mirror.com",
  ]);
});
