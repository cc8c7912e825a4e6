/**
 * The model files truncated, then removed, while the server runs: the server keeps answering
 * (llama.cpp reads the weights into memory instead of mapping the file, so no page of a vanished
 * file can fault the process) and still shuts down cleanly.
 */
import assert from "node:assert/strict";
import { chatBody, JSON_HEADERS, pngDataUrl } from "./helpers.ts";
import { modelPair, REPO_ROOT_FIXTURES, spawnServer, TINY_DIR } from "./server_helpers.ts";

Deno.test({
  name: "the server keeps answering after its model files are truncated and removed",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    // A copy under the directory the serve flags may read, so the originals stay intact.
    const dir = await Deno.makeTempDir({ dir: REPO_ROOT_FIXTURES, prefix: "fault-" });
    const { model, mmproj } = modelPair(TINY_DIR);
    const copy = { model: `${dir}/model.gguf`, mmproj: `${dir}/mmproj.gguf` };
    await Deno.copyFile(model, copy.model);
    await Deno.copyFile(mmproj, copy.mmproj);
    const server = await spawnServer([
      "--model",
      copy.model,
      "--mmproj",
      copy.mmproj,
      "--no-log-file",
    ]);
    const ask = async (text: string) => {
      const res = await fetch(`${server.url}/v1/chat/completions`, {
        method: "POST",
        headers: JSON_HEADERS,
        body: chatBody({ max_tokens: 4 }, [
          { type: "text", text },
          { type: "image_url", image_url: { url: await pngDataUrl(32, 24) } },
        ]),
      });
      const body = await res.json();
      assert.equal(res.status, 200, JSON.stringify(body));
      assert.ok(body.choices[0].finish_reason);
    };
    try {
      await ask("before");
      await Deno.truncate(copy.model, 1000);
      await Deno.truncate(copy.mmproj, 0);
      await ask("after truncation");
      await Deno.remove(dir, { recursive: true });
      await ask("after removal");
      assert.equal((await fetch(`${server.url}/health`)).status, 200);
    } finally {
      assert.equal((await server.stop()).code, 0, server.output());
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});
