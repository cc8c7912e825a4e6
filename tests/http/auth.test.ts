/**
 * API keys: several accepted (config, file, env), compared by hono/bearer-auth; /v1/* and
 * /metrics need one, /health only when configured; every failure is a 401 in OpenAI's error
 * JSON; no key ever reaches a log line.
 */
import assert from "node:assert/strict";
import { ConfigError, withKeysFromFileAndEnv } from "../../src/config/service_config.ts";
import { NativeCallError } from "../../src/engine/errors.ts";
import { captureLogs } from "../_support/logs.ts";
import { FakeEngine } from "./fake_engine.ts";
import { chatBody, JSON_HEADERS, makeApp, testConfig } from "./helpers.ts";

const KEY_A = "sk-alpha-7f3a9c";
const KEY_B = "sk-bravo-2b8e41";

async function expect401(res: Response) {
  assert.equal(res.status, 401);
  assert.match(res.headers.get("www-authenticate") ?? "", /^Bearer/);
  const body = await res.json();
  assert.equal(body.error.code, "invalid_api_key");
  assert.equal(body.error.type, "invalid_request_error");
}

Deno.test("apiKeyAuth() refuses missing, malformed and wrong keys with 401 JSON", async () => {
  const { app } = makeApp(new FakeEngine(), { apiKey: null, apiKeys: [KEY_A, KEY_B] });
  await expect401(await app.request("/v1/models"));
  await expect401(await app.request("/v1/models", { headers: { authorization: KEY_A } }));
  await expect401(await app.request("/v1/models", { headers: { authorization: "Basic eDp5" } }));
  await expect401(await app.request("/v1/models", { headers: { authorization: "Bearer ###" } }));
  await expect401(
    await app.request("/v1/models", { headers: { authorization: `Bearer ${KEY_A}x` } }),
  );
  await expect401(await app.request("/metrics"));
  for (const key of [KEY_A, KEY_B]) {
    const res = await app.request("/v1/models", { headers: { authorization: `Bearer ${key}` } });
    assert.equal(res.status, 200);
    await res.body?.cancel();
  }
  const metrics = await app.request("/metrics", { headers: { authorization: `Bearer ${KEY_B}` } });
  assert.equal(metrics.status, 200);
  await metrics.body?.cancel();
  assert.equal((await app.request("/health")).status, 200, "/health stays open by default");
});

Deno.test("apiKeyAuth() guards /health when protect_health is set", async () => {
  const { app } = makeApp(new FakeEngine(), { apiKeys: [KEY_A], protectHealth: true });
  await expect401(await app.request("/health"));
  const ok = await app.request("/health", { headers: { authorization: `Bearer ${KEY_A}` } });
  assert.equal(ok.status, 200);
  await ok.body?.cancel();
});

Deno.test("no API key appears in any log line, on success or failure", async () => {
  const good = { ...JSON_HEADERS, authorization: `Bearer ${KEY_A}` };
  const wrong = { ...JSON_HEADERS, authorization: `Bearer ${KEY_B}` };
  const ok = makeApp(new FakeEngine(), { apiKeys: [KEY_A] }).app;
  const records = await captureLogs("debug", async () => {
    const broken = makeApp(new FakeEngine({ fail: new NativeCallError("decode_failed", "x") }), {
      apiKeys: [KEY_A],
    }).app;
    for (const app of [ok, broken]) {
      for (const headers of [good, wrong]) {
        await (await app.request("/v1/chat/completions", {
          method: "POST",
          body: chatBody(),
          headers,
        })).text();
        await (await app.request("/v1/chat/completions", {
          method: "POST",
          body: chatBody({ stream: true }),
          headers,
        })).text();
        await (await app.request("/v1/models", { headers })).text();
        await (await app.request("/v1/info", { headers })).text();
      }
    }
  });
  assert.ok(records.length >= 8, `captured ${records.length} records`);
  for (const r of records) {
    const line = JSON.stringify({
      message: r.message,
      rawMessage: r.rawMessage,
      properties: r.properties,
    }, (_k, v) => v instanceof Error ? `${v.name}: ${v.message}\n${v.stack}` : v);
    assert.ok(!line.includes(KEY_A) && !line.includes(KEY_B), line);
  }
  const info = await (await ok.request("/v1/info", { headers: good })).text();
  assert.ok(!info.includes(KEY_A), "/v1/info shows only that keys are set");
});

Deno.test("withKeysFromFileAndEnv() adds keys from the file and SMOLVLM_API_KEYS", async () => {
  const dir = await Deno.makeTempDir();
  const prev = Deno.env.get("SMOLVLM_API_KEYS");
  try {
    await Deno.writeTextFile(`${dir}/keys`, `# operators\n${KEY_A}\n\n  ${KEY_B}  # ci\n`);
    Deno.env.set("SMOLVLM_API_KEYS", "sk-env-1, sk-env-2");
    const config = await withKeysFromFileAndEnv(testConfig({ apiKeysFile: `${dir}/keys` }));
    assert.deepEqual(config.apiKeys, [KEY_A, KEY_B, "sk-env-1", "sk-env-2"]);
    const { app } = makeApp(new FakeEngine(), config);
    const res = await app.request("/v1/models", { headers: { authorization: "Bearer sk-env-2" } });
    assert.equal(res.status, 200);
    await res.body?.cancel();

    await Deno.writeTextFile(`${dir}/keys`, "has spaces inside\n");
    Deno.env.delete("SMOLVLM_API_KEYS");
    await assert.rejects(
      withKeysFromFileAndEnv(testConfig({ apiKeysFile: `${dir}/keys` })),
      (e: unknown) => e instanceof ConfigError && !e.message.includes("spaces"),
    );
    await assert.rejects(
      withKeysFromFileAndEnv(testConfig({ apiKeysFile: `${dir}/missing` })),
      (e: unknown) => e instanceof ConfigError && e.key === "auth.api_keys_file",
    );
  } finally {
    if (prev === undefined) Deno.env.delete("SMOLVLM_API_KEYS");
    else Deno.env.set("SMOLVLM_API_KEYS", prev);
    await Deno.remove(dir, { recursive: true });
  }
});
