/** The binary's own arguments and its baked-in permission flags. */
import { SERVE_ENV } from "../../src/cli/permissions.ts";
import assert from "node:assert/strict";
import { BinaryUsageError, prepareServeArgs } from "../../src/binary/entry.ts";
import { binaryPermissionFlags } from "../../src/binary/permissions.ts";
import { REPO } from "../http/helpers.ts";

Deno.test("prepareServeArgs() makes the log directory absolute against the working directory", () => {
  const p = prepareServeArgs(
    ["--model", "models/m.gguf", "--log-dir", "var/log"],
    "/srv",
    undefined,
  );
  assert.deepEqual(p.serveArgs, ["--model", "models/m.gguf", "--log-dir", "/srv/var/log"]);
  assert.equal(p.cacheDir, "/srv/.cache/smolvlm-deno");
  const d = prepareServeArgs(["--port", "0"], "/srv", undefined);
  assert.deepEqual(d.serveArgs, ["--port", "0", "--log-dir", "/srv/logs"]);
  assert.deepEqual(prepareServeArgs(["--no-log-file"], "/srv", undefined).serveArgs, [
    "--no-log-file",
  ]);
});

Deno.test("prepareServeArgs() takes the cache directory from --lib-cache, then the environment", () => {
  assert.equal(
    prepareServeArgs([], "/srv", "/srv/.cache/smolvlm-deno/a").cacheDir,
    "/srv/.cache/smolvlm-deno/a",
  );
  const p = prepareServeArgs(["--lib-cache=.cache/smolvlm-deno/b"], "/srv", "/elsewhere");
  assert.equal(p.cacheDir, "/srv/.cache/smolvlm-deno/b");
  assert.ok(!p.serveArgs.some((a) => a.startsWith("--lib-cache")));
  assert.throws(() => prepareServeArgs(["--lib-cache"], "/srv", undefined), BinaryUsageError);
});

Deno.test("prepareServeArgs() refuses what the binary's permissions cannot honour, saying why", () => {
  assert.throws(() => prepareServeArgs(["--demo"], "/srv", undefined), /demo model; put the GGUF/);
  assert.throws(() => prepareServeArgs(["--static-dir=x"], "/srv", undefined), /frontend built/);
  assert.throws(
    () => prepareServeArgs(["--allow-image-host", "a.example"], "/srv", undefined),
    /no outbound network grant/,
  );
});

Deno.test("binaryPermissionFlags() are exact allow-lists, never a blanket grant", () => {
  const flags = binaryPermissionFlags();
  assert.deepEqual(flags, [
    "--allow-net=127.0.0.1,localhost,0.0.0.0",
    "--allow-read=.cache/smolvlm-deno,models,.cache/huggingface,config",
    "--allow-write=.cache/smolvlm-deno,logs",
    "--allow-ffi",
    `--allow-env=${[...SERVE_ENV, "SMOLVLM_CACHE_DIR"].join(",")}`,
  ]);
  assert.ok(
    !flags.some((f) =>
      f === "-A" || f === "--allow-all" || /^--allow-(read|write|net|env|run)$/.test(f)
    ),
  );
  assert.ok(!flags.some((f) => f.startsWith("--allow-run") || f.startsWith("--allow-sys")));
  assert.ok(binaryPermissionFlags({ embeddedRoot: "/tmp/x" })[1]!.endsWith(",config,/tmp/x"));
});

Deno.test("binaryPermissionFlags() deny files, spawns, other hosts, other env and sys outside the lists", async () => {
  const probe = `${REPO}/tests/cli/probes/denied_operations.ts`;
  const flags = binaryPermissionFlags({ embeddedRoot: probe });
  // Run from the checkout: the probe's relative reads name real files the grants do not cover.
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...flags, probe],
    cwd: REPO,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  const results = JSON.parse(new TextDecoder().decode(out.stdout).trim().split("\n").at(-1)!);
  // Loopback is the listen grant (any port): reaching a loopback port is allowed, as for serve.
  const loopback = ["connect 127.0.0.1:9", "listen 127.0.0.1:8999"];
  for (const [what, outcome] of Object.entries(results as Record<string, string>)) {
    if (loopback.includes(what)) assert.notEqual(outcome, "denied", what);
    else assert.equal(outcome, "denied", `${what}: ${outcome} under ${flags.join(" ")}`);
  }
});

Deno.test("binary.ts's import graph holds only the product: no tools/, tests/ or native/lib", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", "binary.ts"],
    cwd: REPO,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  const graph = JSON.parse(new TextDecoder().decode(out.stdout)) as {
    modules: { specifier: string }[];
  };
  const local = graph.modules.map((m) => m.specifier).filter((s) => s.startsWith("file://"))
    .map((s) => decodeURIComponent(new URL(s).pathname).slice(REPO.length + 1));
  assert.ok(local.includes("src/cli/serve.ts") && local.includes("static/index.html"));
  const outside = local.filter((p) =>
    !/^(binary\.ts|src\/|ffi\/|static\/|native\/manifest\.ts$)/.test(p)
  );
  assert.deepEqual(outside, []);
});
