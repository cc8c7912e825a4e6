/**
 * The real server reloads its model without restarting: on SIGHUP and on POST /admin/reload
 * (loopback bind, no key). Requests sent during a reload all succeed; a corrupt file on reload
 * leaves the old model serving and the process alive; /health and /v1/info say so. Generations
 * still running when the reload's grace (--reload-grace) runs out end with 503 model_reloading.
 */
import assert from "node:assert/strict";
import { chatBody, type Ev, JSON_HEADERS } from "./helpers.ts";
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

Deno.test({
  name:
    "a reload stops generations still running after --reload-grace: 503 model_reloading, or that error event closing the stream; a request queued meanwhile runs on the new model",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const server = await spawnServer([
      "--demo",
      "--no-log-file",
      "--perf-log-interval",
      "0",
      "--parallel",
      "2",
      "--reload-grace",
      "0.3",
    ]);
    const post = (extra: Record<string, unknown>, content = "Tell me a long story.") =>
      fetch(`${server.url}/v1/chat/completions`, {
        method: "POST",
        headers: JSON_HEADERS,
        body: chatBody({ temperature: 0, ...extra }, content),
      });
    const info = async () => await (await fetch(`${server.url}/v1/info`)).json();
    const until = async (what: string, check: (i: Ev) => boolean) => {
      for (let i = 0; i < 500; i++) {
        if (check(await info())) return;
        await new Promise((r) => setTimeout(r, 20));
      }
      assert.fail(`timed out waiting for ${what}\n${server.output()}`);
    };
    // Exactly what both answers carry (the grace is the server's, 0.3 s).
    const error = JSON.stringify({
      error: {
        message: "the model is being reloaded; this generation was still running when the " +
          "reload's grace period (0.3 s) ran out and was stopped: retry the request",
        type: "service_unavailable",
        param: null,
        code: "model_reloading",
      },
    });
    try {
      // Two generations far longer than the grace, both holding a slot: the plain one first
      // (the engine admits in arrival order), then the stream, which answers once it generates.
      const plain = post({ max_tokens: 1500 });
      await until("the plain request in the engine", (i) => i.queue.running >= 1);
      const streamed = await post({ max_tokens: 1500, stream: true });
      assert.equal(streamed.status, 200);
      const reload = fetch(`${server.url}/admin/reload`, { method: "POST" });
      await until("the reload", (i) => i.lifecycle.reloading === true);
      const queued = post({ max_tokens: 4 }, "a question"); // waits for the new model

      const cut = await plain;
      assert.equal(cut.status, 503);
      assert.equal(cut.headers.get("retry-after"), "5");
      assert.match(cut.headers.get("content-type") ?? "", /^application\/json/);
      assert.equal(await cut.text(), error);

      const stream = await streamed.text();
      const tail = `data: ${error}\n\ndata: [DONE]\n\n`;
      assert.ok(stream.endsWith(tail), `the stream ends with the error event:\n${stream}`);
      const chunks = stream.slice(0, -tail.length).split("\n\n").filter(Boolean);
      assert.ok(chunks.length >= 2, "the role chunk and generated text came first");
      for (const c of chunks) assert.match(c, /^data: \{.*"object":"chat\.completion\.chunk"/);

      const done = await reload;
      assert.equal(done.status, 200, await done.clone().text());
      assert.equal((await done.json()).reloads, 1);
      const after = await queued;
      const body = await after.json();
      assert.equal(after.status, 200, JSON.stringify(body));
      assert.equal(body.usage.completion_tokens, 4);
      const out = server.output();
      assert.match(
        out,
        /reloading the model \(POST \/admin\/reload\); running generations get 0\.3 s/,
      );
      assert.match(out, /chat \S+ 503 in /, "the cut request's log line");
    } finally {
      assert.equal((await server.stop()).code, 0, server.output());
    }
  },
});
