/** The security-related config sections: auth, cors, rate_limits (limits: limits.test.ts). */
import assert from "node:assert/strict";
import { allApiKeys, ConfigError, parseServiceConfig } from "../../src/config/service_config.ts";

Deno.test("parseServiceConfig() reads auth, cors and rate_limits with safe defaults", () => {
  const d = parseServiceConfig({});
  assert.deepEqual(allApiKeys(d), []);
  assert.equal(d.protectHealth, false);
  assert.deepEqual(d.corsOrigins, []);
  assert.deepEqual(d.rateLimits, {
    windowMs: 60_000,
    perKey: 0,
    perAddress: 0,
    concurrentPerKey: 0,
  });
  const c = parseServiceConfig({
    api_key: "sk-a",
    auth: { api_keys: ["sk-b", "sk-a"], api_keys_file: "config/keys.txt", protect_health: true },
    cors: { allow_origins: ["https://app.example.com"] },
    rate_limits: { window: 1.5, per_key: 10, per_address: 20, concurrent_per_key: 2 },
  });
  assert.deepEqual(allApiKeys(c), ["sk-a", "sk-b"]);
  assert.match(c.apiKeysFile!, /\/config\/keys\.txt$/);
  assert.equal(c.protectHealth, true);
  assert.deepEqual(c.rateLimits, {
    windowMs: 1500,
    perKey: 10,
    perAddress: 20,
    concurrentPerKey: 2,
  });
});

Deno.test("parseServiceConfig() refuses keys a bearer token cannot carry, without echoing them", () => {
  for (const raw of [{ api_key: "has space" }, { auth: { api_keys: ["ok", 'quo"te'] } }]) {
    assert.throws(() => parseServiceConfig(raw), (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.match(e.key, /^(api_key|auth\.api_keys\.1)$/);
      assert.ok(!e.message.includes("has space") && !e.message.includes('quo"te'), e.message);
      return true;
    });
  }
});

Deno.test("parseServiceConfig() refuses CORS entries that are not origins, and negative limits", () => {
  assert.throws(
    () => parseServiceConfig({ cors: { allow_origins: ["example.com/path"] } }),
    /cors\.allow_origins\.0/,
  );
  assert.throws(() => parseServiceConfig({ rate_limits: { per_key: -1 } }), /rate_limits\.per_key/);
});

Deno.test("parseServiceConfig() reads server.allowed_hosts: none by default, names lowercased", () => {
  assert.deepEqual(parseServiceConfig({}).allowedHosts, []);
  const c = parseServiceConfig({
    server: { allowed_hosts: ["GPU-1.lan", "*.Example.com", "box.", "my_service", "*"] },
  });
  assert.deepEqual(c.allowedHosts, ["gpu-1.lan", "*.example.com", "box", "my_service", "*"]);
});

Deno.test("parseServiceConfig() refuses server.allowed_hosts entries that are not host names", () => {
  for (
    const bad of [
      "http://box.lan",
      "box.lan:8000",
      "",
      "a b",
      "*.",
      "*box.lan",
      "a.*.lan",
      "-a.lan",
    ]
  ) {
    assert.throws(
      () => parseServiceConfig({ server: { allowed_hosts: ["ok.lan", bad] } }),
      (e: unknown) => {
        assert.ok(e instanceof ConfigError);
        assert.equal(e.key, "server.allowed_hosts.1", e.message);
        assert.match(e.message, /host name like app\.example\.com/);
        return true;
      },
      bad,
    );
  }
  assert.throws(() => parseServiceConfig({ server: { allowed_hosts: "box.lan" } }), ConfigError);
});
