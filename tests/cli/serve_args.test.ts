import assert from "node:assert/strict";
import { resolveServeConfig } from "../../src/cli/serve_args.ts";
import { ModelNotAvailableError } from "../../src/models/resolve.ts";

Deno.test("resolveServeConfig() looks up the seed's smolvlm_version in the hub cache when no model path is given", async () => {
  const dir = await Deno.makeTempDir();
  const before = { cache: Deno.env.get("HF_HUB_CACHE"), offline: Deno.env.get("HF_HUB_OFFLINE") };
  Deno.env.set("HF_HUB_CACHE", `${dir}/hub`);
  Deno.env.set("HF_HUB_OFFLINE", "1");
  try {
    const file = `${dir}/config.json`;
    await Deno.writeTextFile(
      file,
      JSON.stringify({ smolvlm_version: "ggml-org/SmolVLM-500M-Instruct-GGUF" }),
    );
    await assert.rejects(
      resolveServeConfig(["--config", file], { env: () => undefined }),
      (e: unknown) => {
        assert.ok(e instanceof ModelNotAvailableError, String(e));
        assert.equal(e.spec.repo, "ggml-org/SmolVLM-500M-Instruct-GGUF");
        assert.equal(e.spec.quant, "Q8_0");
        return true;
      },
    );
    // A model path (here a flag) wins over smolvlm_version.
    await assert.rejects(
      resolveServeConfig(["--config", file, "--model", "smolvlm-256m:F16"], {
        env: () => undefined,
      }),
      (e: unknown) => e instanceof ModelNotAvailableError && /256M/i.test(e.spec.repo),
    );
  } finally {
    for (
      const [name, value] of [["HF_HUB_CACHE", before.cache], ["HF_HUB_OFFLINE", before.offline]]
    ) {
      if (value === undefined) Deno.env.delete(name!);
      else Deno.env.set(name!, value);
    }
    await Deno.remove(dir, { recursive: true });
  }
});
