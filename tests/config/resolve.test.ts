/**
 * The configuration's layers — defaults ← file ← environment ← flags — each source alone, their
 * precedence, where each value came from, and each kind of validation error (key, value,
 * source and what was expected in the message).
 */
import assert from "node:assert/strict";
import { type ConfigInputs, describeOrigin, resolveConfig } from "../../src/config/resolve.ts";
import { ConfigError } from "../../src/config/service_config.ts";
import { CONFIG_ENV_NAMES, SETTINGS } from "../../src/config/settings.ts";
import { parseServeArgs } from "../../src/cli/serve_args.ts";

function inputs(args: string[], env: Record<string, string> = {}): ConfigInputs {
  return { flags: parseServeArgs(args), env: (name) => env[name] };
}

async function withFile<T>(doc: unknown, fn: (path: string) => Promise<T>): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "smolvlm-config-" });
  try {
    const path = `${dir}/service.json`;
    await Deno.writeTextFile(path, typeof doc === "string" ? doc : JSON.stringify(doc));
    return await fn(path);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const origin = (r: Awaited<ReturnType<typeof resolveConfig>>, key: string) =>
  describeOrigin(r.origins.get(key)!);

Deno.test("resolveConfig() with no source gives the defaults, every origin 'default'", async () => {
  const r = await resolveConfig(inputs([]));
  assert.equal(r.config.port, 8000);
  assert.equal(r.config.host, "127.0.0.1");
  assert.equal(r.config.timeoutMs, 60_000);
  assert.equal(r.config.perfLogIntervalMs, 60_000);
  assert.equal(r.config.verbose, false);
  assert.equal(r.config.source, null);
  assert.ok(r.origins.size > 40, `${r.origins.size} settings listed`);
  assert.deepEqual(new Set([...r.origins.values()].map(describeOrigin)), new Set(["default"]));
});

Deno.test("resolveConfig() reads the seed-shaped file named by --config", async () => {
  await withFile({
    model_name: "SmolVLM2-500M-Video",
    model_id: "smolvlm2_500m_video",
    port: 9000,
    timeout: 30,
    inference: { batch_size: 2, max_image_size: 768 },
    image_processing: { smart_crop: false, size: [768, 768] },
    noise_reduction: { enabled: false, method: "bilateral", diameter: 5 },
    color_balance: { l_channel_boost: 1.5 },
    smolvlm_version: "ggml-org/SmolVLM-500M-Instruct-GGUF:Q8_0",
  }, async (path) => {
    const r = await resolveConfig(inputs(["--config", path]));
    assert.equal(r.config.port, 9000);
    assert.equal(r.config.timeoutMs, 30_000);
    assert.equal(r.config.parallel, 2);
    assert.equal(r.config.maxImageSize, 768);
    assert.equal(r.config.modelId, "smolvlm2_500m_video");
    assert.equal(r.config.source, path);
    // The top-level noise_reduction / color_balance reach the image pipeline's defaults.
    const image = r.config.imageProcessing as Record<string, Record<string, unknown>>;
    assert.equal(image.smart_crop, false);
    assert.equal(image.noise_reduction!.diameter, 5);
    assert.equal(image.noise_reduction!.enabled, false);
    assert.equal(image.color_balance!.l_channel_boost, 1.5);
    assert.equal(origin(r, "port"), `file ${path}`);
    assert.equal(origin(r, "image_processing.noise_reduction.diameter"), `file ${path}`);
    assert.equal(origin(r, "image_processing.color_balance.ab_channel_boost"), "default");
    assert.equal(origin(r, "inference.context_size"), "default");
  });
});

Deno.test("resolveConfig() reads SMOLVLM_CONFIG and every SMOLVLM_* variable", async () => {
  await withFile({ port: 9001, log_level: "warning" }, async (path) => {
    const r = await resolveConfig(inputs([], {
      SMOLVLM_CONFIG: path,
      SMOLVLM_HOST: "0.0.0.0",
      SMOLVLM_CONTEXT_SIZE: "2048",
      SMOLVLM_TIMEOUT: "2.5",
      SMOLVLM_VERBOSE: "yes",
      SMOLVLM_ALLOW_IMAGE_HOSTS: "a.example.com, B.example.org",
      SMOLVLM_PERF_LOG_INTERVAL: "0",
    }));
    assert.equal(r.config.source, path);
    assert.equal(r.config.port, 9001);
    assert.equal(r.config.host, "0.0.0.0");
    assert.equal(r.config.contextSize, 2048);
    assert.equal(r.config.timeoutMs, 2500);
    assert.equal(r.config.verbose, true);
    assert.equal(r.config.logLevel, "debug", "--verbose implies debug");
    assert.equal(r.config.perfLogIntervalMs, 0);
    assert.deepEqual(r.config.remoteImages.allowHosts, ["a.example.com", "b.example.org"]);
    assert.equal(origin(r, "host"), "env SMOLVLM_HOST");
    assert.equal(origin(r, "port"), `file ${path}`);
    assert.equal(origin(r, "remote_images.allow_hosts"), "env SMOLVLM_ALLOW_IMAGE_HOSTS");
  });
});

Deno.test("resolveConfig() takes every flag of the table", async () => {
  const r = await resolveConfig(inputs([
    "--host=::1",
    "--port=0",
    "--timeout=5",
    "--max-queue=0",
    "--parallel=3",
    "--context-size=1024",
    "--threads=2",
    "--max-image-size=512",
    "--max-tokens=17",
    "--api-key=sk-test",
    "--allow-image-host=img.example.com",
    "--shutdown-grace=1",
    "--log-level=error",
    "--no-log-file",
    "--perf-log-interval=2",
    "--max-body-bytes=1000",
    "--verbose",
  ]));
  const c = r.config;
  assert.deepEqual(
    [c.host, c.port, c.timeoutMs, c.maxQueue, c.parallel, c.contextSize, c.threads],
    ["::1", 0, 5000, 0, 3, 1024, 2],
  );
  assert.deepEqual(
    [c.maxImageSize, c.defaultMaxTokens, c.apiKey, c.shutdownGraceMs, c.logDir],
    [512, 17, "sk-test", 1000, ""],
  );
  assert.deepEqual([c.perfLogIntervalMs, c.maxBodyBytes, c.verbose], [2000, 1000, true]);
  assert.deepEqual(c.remoteImages.allowHosts, ["img.example.com"]);
  assert.equal(origin(r, "log_file"), "flag --no-log-file");
  assert.equal(origin(r, "inference.parallel"), "flag --parallel");
});

Deno.test("resolveConfig() takes server.allowed_hosts from the file, env or repeated, comma-separated flags", async () => {
  await withFile({ server: { allowed_hosts: ["file.lan"] } }, async (path) => {
    const file = await resolveConfig(inputs(["--config", path]));
    assert.deepEqual(file.config.allowedHosts, ["file.lan"]);
    const env = { SMOLVLM_ALLOWED_HOSTS: "a.lan, B.lan" };
    const fromEnv = await resolveConfig(inputs(["--config", path], env));
    assert.deepEqual(fromEnv.config.allowedHosts, ["a.lan", "b.lan"]);
    assert.equal(origin(fromEnv, "server.allowed_hosts"), "env SMOLVLM_ALLOWED_HOSTS");
    const flags = await resolveConfig(
      inputs(["--config", path, "--allowed-host", "x.lan,*.y.lan", "--allowed-host=z.lan"], env),
    );
    assert.deepEqual(flags.config.allowedHosts, ["x.lan", "*.y.lan", "z.lan"]);
    assert.equal(origin(flags, "server.allowed_hosts"), "flag --allowed-host");
  });
  await assertConfigError(
    () => resolveConfig(inputs(["--allowed-host", "ok.lan,http://box.lan:8000"])),
    "server.allowed_hosts.1",
    ["http://box.lan:8000", "flag --allowed-host", "without scheme or port"],
  );
});

Deno.test("resolveConfig() splits every repeatable list flag at commas, --allow-image-host too", async () => {
  const r = await resolveConfig(
    inputs([
      "--allow-image-host",
      "a.example.com,b.example.com",
      "--allow-image-host",
      "c.example.com",
    ]),
  );
  assert.deepEqual(r.config.remoteImages.allowHosts, [
    "a.example.com",
    "b.example.com",
    "c.example.com",
  ]);
});

Deno.test("resolveConfig() precedence: flag over env over file over default, key by key", async () => {
  await withFile({
    port: 9100,
    host: "0.0.0.0",
    timeout: 11,
    inference: { context_size: 1000, max_queue: 3 },
  }, async (path) => {
    const env = { SMOLVLM_PORT: "9200", SMOLVLM_TIMEOUT: "22", SMOLVLM_CONTEXT_SIZE: "2000" };
    const r = await resolveConfig(inputs(["--config", path, "--port", "9300"], env));
    assert.equal(r.config.port, 9300);
    assert.equal(origin(r, "port"), "flag --port");
    assert.equal(r.config.timeoutMs, 22_000);
    assert.equal(origin(r, "timeout"), "env SMOLVLM_TIMEOUT");
    assert.equal(r.config.host, "0.0.0.0");
    assert.equal(origin(r, "host"), `file ${path}`);
    // Nested keys merge: env wins for context_size, the file keeps max_queue.
    assert.equal(r.config.contextSize, 2000);
    assert.equal(r.config.maxQueue, 3);
    assert.equal(origin(r, "inference.max_queue"), `file ${path}`);
    assert.equal(r.config.defaultMaxTokens, 256);
    assert.equal(origin(r, "inference.max_tokens"), "default");
    // --config wins over SMOLVLM_CONFIG.
    await withFile({ port: 1234 }, async (other) => {
      const r2 = await resolveConfig(inputs(["--config", path], { SMOLVLM_CONFIG: other }));
      assert.equal(r2.config.port, 9100);
    });
  });
});

/** Asserts a ConfigError naming the key, showing the value, its source and the expectation. */
async function assertConfigError(
  run: () => Promise<unknown>,
  key: string,
  parts: readonly (string | RegExp)[],
) {
  await assert.rejects(run, (e: unknown) => {
    assert.ok(e instanceof ConfigError, String(e));
    assert.equal(e.key, key, e.message);
    for (const p of parts) {
      if (typeof p === "string") assert.ok(e.message.includes(p), `${e.message} lacks ${p}`);
      else assert.match(e.message, p);
    }
    return true;
  });
}

Deno.test("resolveConfig() errors name the key, the value, its source and what was expected", async (t) => {
  await t.step(
    "flag: not a number",
    () =>
      assertConfigError(() => resolveConfig(inputs(["--port", "eighty"])), "port", [
        '"eighty"',
        "flag --port",
        /expected number/,
      ]),
  );
  await t.step(
    "flag: out of range",
    () =>
      assertConfigError(() => resolveConfig(inputs(["--port", "70000"])), "port", [
        "70000",
        "flag --port",
        /<=\s*65535/,
      ]),
  );
  await t.step("env: not a whole number", () =>
    assertConfigError(
      () => resolveConfig(inputs([], { SMOLVLM_CONTEXT_SIZE: "1.5" })),
      "inference.context_size",
      ["got 1.5", "env SMOLVLM_CONTEXT_SIZE", /expected/],
    ));
  await t.step(
    "env: not a boolean",
    () =>
      assertConfigError(() => resolveConfig(inputs([], { SMOLVLM_VERBOSE: "maybe" })), "verbose", [
        '"maybe"',
        "env SMOLVLM_VERBOSE",
        /expected boolean/,
      ]),
  );
  await t.step("flag: not one of the choices", () =>
    assertConfigError(
      () => resolveConfig(inputs(["--log-level", "loud"])),
      "log_level",
      ['"loud"', "flag --log-level", /expected one of/],
    ));
  await t.step(
    "file: wrong type deep inside",
    () =>
      withFile({ inference: { max_image_size: "big" } }, (path) =>
        assertConfigError(
          () => resolveConfig(inputs(["--config", path])),
          "inference.max_image_size",
          ['"big"', `file ${path}`, /expected number/],
        )),
  );
  await t.step(
    "file: negative where positive is expected",
    () =>
      withFile({ timeout: -1 }, (path) =>
        assertConfigError(
          () => resolveConfig(inputs(["--config", path])),
          "timeout",
          [
            "-1",
            `file ${path}`,
            /expected number to be >0/,
          ],
        )),
  );
  await t.step(
    "file: image settings are validated by the image module, key named",
    () =>
      withFile({ noise_reduction: { diameter: 999 } }, (path) =>
        assertConfigError(
          () => resolveConfig(inputs(["--config", path])),
          "noise_reduction.diameter",
          ["999", `file ${path}`],
        )),
  );
  await t.step(
    "file: an unknown image key is refused",
    () =>
      withFile({ image_processing: { sharpen: true } }, (path) =>
        assertConfigError(
          () => resolveConfig(inputs(["--config", path])),
          "image_processing.sharpen",
          [`file ${path}`],
        )),
  );
  await t.step("an API key is never echoed", () =>
    assertConfigError(
      () => resolveConfig(inputs([], { SMOLVLM_API_KEY: "has space" })),
      "api_key",
      ["(hidden)", "env SMOLVLM_API_KEY", /^(?![\s\S]*has space)/],
    ));
  await t.step("file: missing, not JSON, not an object", async () => {
    await assertConfigError(
      () => resolveConfig(inputs(["--config", "/nonexistent/c.json"])),
      "",
      ["/nonexistent/c.json", "does not exist"],
    );
    await withFile(
      "{ port: 1",
      (path) =>
        assertConfigError(() => resolveConfig(inputs(["--config", path])), "", [
          path,
          "not valid JSON",
        ]),
    );
    await withFile(
      "[1, 2]",
      (path) =>
        assertConfigError(() => resolveConfig(inputs(["--config", path])), "", [
          path,
          "must hold a JSON object",
          "[1,2]",
        ]),
    );
  });
});

Deno.test("the settings table: unique keys, flags and variables, all SMOLVLM_*", () => {
  const keys = SETTINGS.map((s) => s.key);
  assert.equal(new Set(keys).size, keys.length);
  const flags = SETTINGS.flatMap((s) => (s.flag ? [s.flag] : []));
  assert.equal(new Set(flags).size, flags.length);
  assert.equal(new Set(CONFIG_ENV_NAMES).size, CONFIG_ENV_NAMES.length);
  for (const name of CONFIG_ENV_NAMES) assert.match(name, /^SMOLVLM_[A-Z_]+$/);
  // Every flag of the table is one serve accepts.
  for (const flag of flags) {
    const value = SETTINGS.find((s) => s.flag === flag)!.kind === "bool" ? [] : ["1"];
    assert.doesNotThrow(() => parseServeArgs([`--${flag}`, ...value]), flag);
  }
});

Deno.test("resolveConfig() reload_grace: 30 s by default, from file, env or flag, within a day", async () => {
  assert.equal((await resolveConfig(inputs([]))).config.reloadGraceMs, 30_000);
  await withFile({ reload_grace: 2 }, async (path) => {
    const file = await resolveConfig(inputs(["--config", path]));
    assert.equal(file.config.reloadGraceMs, 2000);
    const env = { SMOLVLM_RELOAD_GRACE: "0.25" };
    const fromEnv = await resolveConfig(inputs(["--config", path], env));
    assert.equal(fromEnv.config.reloadGraceMs, 250);
    assert.equal(origin(fromEnv, "reload_grace"), "env SMOLVLM_RELOAD_GRACE");
    const flag = await resolveConfig(inputs(["--config", path, "--reload-grace", "0"], env));
    assert.equal(flag.config.reloadGraceMs, 0, "0 stops running generations at once");
    assert.equal(origin(flag, "reload_grace"), "flag --reload-grace");
  });
  await assertConfigError(
    () => resolveConfig(inputs(["--reload-grace=-1"])),
    "reload_grace",
    ["-1", "flag --reload-grace", />=\s*0/],
  );
  await assertConfigError(
    () => resolveConfig(inputs([], { SMOLVLM_RELOAD_GRACE: "100000" })),
    "reload_grace",
    ["100000", "env SMOLVLM_RELOAD_GRACE", /<=\s*86400/],
  );
});

Deno.test("resolveConfig() refuses a duration past a day, where a timer would fire at once", async () => {
  // A timer past 2^31-1 ms fires after 1 ms: --timeout 3000000 failed every request at once.
  await assertConfigError(
    () => resolveConfig(inputs(["--timeout", "3000000"])),
    "timeout",
    ["3000000", "flag --timeout", /<=\s*86400/],
  );
  await assertConfigError(
    () => resolveConfig(inputs([], { SMOLVLM_SHUTDOWN_GRACE: "3000000" })),
    "shutdown_grace",
    ["3000000", "env SMOLVLM_SHUTDOWN_GRACE", /<=\s*86400/],
  );
  await assertConfigError(
    () => resolveConfig(inputs(["--perf-log-interval", "3000000"])),
    "monitoring.perf_log_interval",
    ["3000000", "flag --perf-log-interval", /<=\s*86400/],
  );
  for (const key of ["rate_limits", "remote_images"]) {
    const field = key === "rate_limits" ? "window" : "timeout";
    await withFile({ [key]: { [field]: 3_000_000 } }, async (path) => {
      await assertConfigError(
        () => resolveConfig(inputs(["--config", path])),
        `${key}.${field}`,
        ["3000000", `file ${path}`, /<=\s*86400/],
      );
    });
  }
  const day = await resolveConfig(
    inputs(["--timeout", "86400", "--shutdown-grace", "86400", "--perf-log-interval", "86400"]),
  );
  assert.equal(day.config.timeoutMs, 86_400_000);
  assert.equal(day.config.shutdownGraceMs, 86_400_000);
  assert.equal(day.config.perfLogIntervalMs, 86_400_000);
});
