/**
 * The real server reloads its model without restarting: on SIGHUP and on POST /admin/reload
 * (loopback bind, no key). Requests sent during a reload all succeed; a corrupt file on reload
 * leaves the old model serving and the process alive; /health and /v1/info say so.
 */
import assert from "node:assert/strict";
import { chatBody, JSON_HEADERS } from "./helpers.ts";
import { modelPair, REPO_ROOT_FIXTURES, spawnServer, TINY_DIR } from "./server_helpers.ts";

Deno.test({
  name:
    "the server reloads on SIGHUP and POST /admin/reload; requests sent during a reload all succeed",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    // A copy under the directory the serve flags may read, so the originals stay intact.
    const dir = await Deno.makeTempDir({ dir: REPO_ROOT_FIXTURES, prefix: "reload-" });
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
      "--perf-log-interval",
      "0",
    ]);
    const ask = async () => {
      const res = await fetch(`${server.url}/v1/chat/completions`, {
        method: "POST",
        headers: JSON_HEADERS,
        body: chatBody({ max_tokens: 8 }, "tell me something"),
      });
      return { status: res.status, body: await res.json() };
    };
    const info = async () => (await (await fetch(`${server.url}/v1/info`)).json()).lifecycle;
    const waitReloads = async (n: number) => {
      for (let i = 0; i < 600 && (await info()).reloads < n; i++) {
        await new Promise((r) => setTimeout(r, 20));
      }
      assert.equal((await info()).reloads, n, server.output());
    };
    try {
      assert.equal((await ask()).status, 200);

      // SIGHUP with requests in flight and arriving during the reload.
      const first = [ask(), ask()];
      server.process.kill("SIGHUP");
      const during = Array.from({ length: 4 }, () => ask());
      for (const r of await Promise.all([...first, ...during])) {
        assert.equal(r.status, 200, JSON.stringify(r.body));
        assert.ok(r.body.choices[0].finish_reason);
      }
      await waitReloads(1);
      assert.match(server.output(), /reloading the model \(SIGHUP\)/);

      // The admin endpoint, the same way.
      const reload = fetch(`${server.url}/admin/reload`, { method: "POST" });
      const more = await Promise.all(Array.from({ length: 3 }, () => ask()));
      for (const r of more) assert.equal(r.status, 200, JSON.stringify(r.body));
      const done = await reload;
      assert.equal(done.status, 200, await done.clone().text());
      assert.equal((await done.json()).reloads, 2);

      // A corrupt file on reload: the old model serves on, the process stays up.
      const original = await Deno.readFile(copy.model);
      await Deno.writeFile(copy.model, original.slice(0, 4096));
      const refused = await fetch(`${server.url}/admin/reload`, { method: "POST" });
      const body = await refused.json();
      assert.equal(refused.status, 503);
      assert.match(body.error.message, /the previous model keeps serving/);
      assert.equal((await fetch(`${server.url}/health`)).status, 200);
      assert.equal((await ask()).status, 200);
      assert.ok((await info()).last_reload_error.reason.length > 0);
      const metrics = await (await fetch(`${server.url}/metrics`)).text();
      assert.match(metrics, /smolvlm_model_reloads 2/);
      assert.match(metrics, /smolvlm_model_load_seconds \d/);
    } finally {
      assert.equal((await server.stop()).code, 0, server.output());
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});
