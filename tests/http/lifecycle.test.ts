/**
 * The lifecycle (loading → ready → draining → stopped, failed with a reason) as /health,
 * /v1/info and /metrics show it, and reloads through POST /admin/reload: authenticated, the
 * previous model serving on when the new one is refused, a failed service brought back.
 */
import assert from "node:assert/strict";
import { createApp } from "../../src/http/app.ts";
import { EngineHolder } from "../../src/http/engine_state.ts";
import { createImageProcessor } from "../../src/http/image_adapter.ts";
import type { Engine, EngineInfo } from "../../src/engine/types.ts";
import type { ServiceConfig } from "../../src/config/service_config.ts";
import { FakeEngine } from "./fake_engine.ts";
import { chatBody, JSON_HEADERS, testConfig } from "./helpers.ts";

/** A fake whose reload takes `ms` and then succeeds, or fails with `error`. */
class ReloadableFake extends FakeEngine {
  reloadCalls = 0;
  constructor(readonly ms = 50, public error: Error | null = null) {
    super();
  }
  async reload(): Promise<EngineInfo> {
    this.reloadCalls++;
    await new Promise((r) => setTimeout(r, this.ms));
    if (this.error) throw this.error;
    return this.info;
  }
}

function appWith(
  holder: EngineHolder,
  over: Partial<ServiceConfig> = {},
  loadFresh: () => Promise<Engine> = () => Promise.reject(new Error("no loader")),
) {
  const config = testConfig(over);
  return createApp({
    engine: holder,
    config,
    images: createImageProcessor({ defaults: null }),
    reload: () => holder.reload(loadFresh),
  });
}

const json = async (res: Response) => ({ status: res.status, body: await res.json() });

Deno.test("/health, /v1/info and /metrics follow loading → ready → draining → stopped", async () => {
  const holder = new EngineHolder();
  const app = appWith(holder);
  let h = await json(await app.request("/health"));
  assert.equal(h.status, 503);
  assert.equal(h.body.status, "loading");
  assert.equal(h.body.reloading, false);

  const engine = new FakeEngine();
  holder.setReady(engine, 1234);
  h = await json(await app.request("/health"));
  assert.equal(h.status, 200);
  // The seed's healthy body, exactly.
  assert.deepEqual(Object.keys(h.body).sort(), ["active_model", "status", "timestamp"]);
  assert.equal(h.body.status, "healthy");
  const info = (await json(await app.request("/v1/info"))).body;
  assert.equal(info.status, "ready");
  assert.equal(info.lifecycle.last_load_ms, 1234);
  const metrics = await (await app.request("/metrics")).text();
  assert.match(metrics, /smolvlm_model_load_seconds 1\.234/);
  assert.match(metrics, /smolvlm_lifecycle_state\{state="ready"\} 1/);

  holder.setDraining();
  h = await json(await app.request("/health"));
  assert.deepEqual([h.status, h.body.status, h.body.state], [503, "unhealthy", "draining"]);
  const refused = await app.request("/v1/chat/completions", {
    method: "POST",
    headers: JSON_HEADERS,
    body: chatBody(),
  });
  assert.equal(refused.status, 503);
  await refused.body?.cancel();
  holder.setStopped();
  h = await json(await app.request("/health"));
  assert.deepEqual([h.status, h.body.state], [503, "stopped"]);
  assert.match(await (await app.request("/metrics")).text(), /state="stopped"\} 1/);
});

Deno.test("/health says failed with the reason", async () => {
  const holder = new EngineHolder();
  holder.setFailed("model.gguf: not a GGUF file");
  const h = await json(await appWith(holder).request("/health"));
  assert.deepEqual(
    [h.status, h.body.status, h.body.state, h.body.reason],
    [503, "unhealthy", "failed", "model.gguf: not a GGUF file"],
  );
});

Deno.test("POST /admin/reload reloads; chat requests sent during the reload all succeed", async () => {
  const engine = new ReloadableFake(300);
  const holder = EngineHolder.ready(engine);
  const app = appWith(holder);
  const reload = app.request("/admin/reload", { method: "POST" });
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(holder.state.status, "loading");
  const during = await json(await app.request("/health"));
  assert.deepEqual([during.status, during.body.status, during.body.reloading], [
    503,
    "loading",
    true,
  ]);
  const chats = await Promise.all(
    Array.from({ length: 4 }, async () =>
      json(
        await app.request("/v1/chat/completions", {
          method: "POST",
          headers: JSON_HEADERS,
          body: chatBody(),
        }),
      )),
  );
  for (const c of chats) assert.equal(c.status, 200, JSON.stringify(c.body));
  const done = await json(await reload);
  assert.equal(done.status, 200, JSON.stringify(done.body));
  assert.equal(done.body.status, "reloaded");
  assert.equal(done.body.reloads, 1);
  assert.ok(done.body.load_ms >= 250, `${done.body.load_ms}`);
  assert.equal(holder.state.status, "ready");
  assert.equal((await json(await app.request("/v1/info"))).body.lifecycle.reloads, 1);
  // Two reloads at once share one.
  const [a, b] = await Promise.all([
    app.request("/admin/reload", { method: "POST" }),
    app.request("/admin/reload", { method: "POST" }),
  ]);
  assert.deepEqual([a.status, b.status], [200, 200]);
  await Promise.all([a.body?.cancel(), b.body?.cancel()]);
  assert.equal(engine.reloadCalls, 2);
});

Deno.test("POST /admin/reload with refused files: 503 with the reason, the old model serves on", async () => {
  const engine = new ReloadableFake(10, new Error("model.gguf: tensor data past the end"));
  const holder = EngineHolder.ready(engine);
  const app = appWith(holder);
  const res = await json(await app.request("/admin/reload", { method: "POST" }));
  assert.equal(res.status, 503);
  assert.equal(res.body.error.code, "reload_failed");
  assert.match(
    res.body.error.message,
    /tensor data past the end; the previous model keeps serving/,
  );
  assert.equal((await app.request("/health")).status, 200);
  const info = (await json(await app.request("/v1/info"))).body;
  assert.match(info.lifecycle.last_reload_error.reason, /tensor data past the end/);
  const chat = await app.request("/v1/chat/completions", {
    method: "POST",
    headers: JSON_HEADERS,
    body: chatBody(),
  });
  assert.equal(chat.status, 200);
  await chat.body?.cancel();
});

Deno.test("POST /admin/reload brings a failed service back through a fresh load", async () => {
  const holder = new EngineHolder();
  holder.setFailed("model file missing");
  let fail = true;
  const app = appWith(holder, {}, () => {
    if (fail) return Promise.reject(new Error("still missing"));
    return Promise.resolve(new FakeEngine());
  });
  let res = await json(await app.request("/admin/reload", { method: "POST" }));
  assert.equal(res.status, 503);
  assert.match(res.body.error.message, /still missing; the service is failed/);
  assert.equal((await json(await app.request("/health"))).body.reason, "still missing");
  fail = false;
  res = await json(await app.request("/admin/reload", { method: "POST" }));
  assert.equal(res.status, 200);
  assert.equal((await app.request("/health")).status, 200);
});

Deno.test("POST /admin/reload needs the API key; without keys only on a loopback address", async () => {
  const keyed = appWith(EngineHolder.ready(new ReloadableFake(1)), {
    apiKey: "sk-admin",
    host: "0.0.0.0",
  });
  assert.equal((await keyed.request("/admin/reload", { method: "POST" })).status, 401);
  const ok = await keyed.request("/admin/reload", {
    method: "POST",
    headers: { authorization: "Bearer sk-admin" },
  });
  assert.equal(ok.status, 200);
  await ok.body?.cancel();

  const open = appWith(EngineHolder.ready(new ReloadableFake(1)), { host: "0.0.0.0" });
  const forbidden = await json(await open.request("/admin/reload", { method: "POST" }));
  assert.equal(forbidden.status, 403);
  assert.match(forbidden.body.error.message, /API key/);
  for (const host of ["127.0.0.1", "::1", "localhost"]) {
    const local = appWith(EngineHolder.ready(new ReloadableFake(1)), { host });
    const res = await local.request("/admin/reload", { method: "POST" });
    assert.equal(res.status, 200, host);
    await res.body?.cancel();
  }
  // Only POST.
  assert.equal((await open.request("/admin/reload")).status, 404);
});
