/**
 * Permission audit: under exactly the flags the `serve` and `edge` tasks grant (computed by the launcher
 * from the same arguments), everything outside them is denied — reading other files, writing
 * outside the log directory, spawning processes, reaching other addresses, reading other env.
 */
import assert from "node:assert/strict";
import { planServe } from "../../tools/launch.ts";
import { edgeRunArgs } from "../../tools/launch_edge.ts";
import { REPO_ROOT, TINY } from "../_support/fixtures.ts";
import { locateDecoder } from "../../src/video/locate.ts";

async function underFlags(flags: readonly string[]): Promise<Record<string, string>> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...flags, "tests/cli/probes/denied_operations.ts"],
    cwd: REPO_ROOT,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  return JSON.parse(text.trim().split("\n").at(-1)!);
}

Deno.test("the serve task's flags deny every read, write, spawn, connection and env outside them", async () => {
  const { flags } = await planServe([
    "--model",
    TINY.model,
    "--mmproj",
    TINY.mmproj,
    "--host",
    "127.0.0.1",
    "--port",
    "8000",
  ]);
  // The probe module itself must be loadable: grant reading it and nothing else beyond the task's.
  const readFlag = flags.find((f) => f.startsWith("--allow-read="));
  const probeFlags = flags.map((f) =>
    f === readFlag ? `${f},tests/cli/probes/denied_operations.ts` : f
  );
  const results = await underFlags(probeFlags);
  for (const [what, outcome] of Object.entries(results)) {
    if (what === "listen 127.0.0.1:8999") continue; // judged below
    assert.equal(outcome, "denied", `${what}: ${outcome} under ${flags.join(" ")}`);
  }
  assert.equal(results["listen 127.0.0.1:8999"], "denied");
});

Deno.test("the serve task's flags are the documented kinds only", async () => {
  const { flags } = await planServe(["--model", TINY.model, "--mmproj", TINY.mmproj]);
  const kinds = flags.map((f) => f.replace(/=.*/, "")).sort();
  // ffi is unscoped (Deno 2.9 refuses pointer operations under a path-scoped grant); every
  // other kind is an exact list; run is ffmpeg, ffprobe and prlimit by path (video), and no sys
  // or all.
  const decoder = locateDecoder();
  for (const k of kinds) {
    assert.ok(
      ["--allow-net", "--allow-read", "--allow-write", "--allow-ffi", "--allow-env"].includes(k) ||
        (k === "--allow-run" && decoder !== null),
      k,
    );
  }
  const run = flags.find((f) => f.startsWith("--allow-run="));
  if (decoder) {
    const prlimit = decoder.prlimit ? `,${decoder.prlimit}` : "";
    assert.equal(run, `--allow-run=${decoder.ffmpeg},${decoder.ffprobe}${prlimit}`);
  }
  for (const f of flags) {
    if (f !== "--allow-ffi") assert.match(f, /=/, `${f} must name what it allows`);
  }
});

Deno.test("the edge task's flags deny files, FFI, spawns, other hosts and other env", async () => {
  const run = edgeRunArgs(["--upstream", "http://127.0.0.1:8101,http://127.0.0.1:8102"]);
  assert.notEqual(run, "help");
  const flags = (run as string[]).filter((a) => a.startsWith("--allow-"));
  assert.ok(!flags.some((f) => /^--allow-(ffi|write|run|sys|all)/.test(f)), flags.join(" "));
  const readFlag = flags.find((f) => f.startsWith("--allow-read="));
  const probe = `${REPO_ROOT}/tests/cli/probes/denied_operations.ts`;
  const probeFlags = readFlag
    ? flags.map((f) => (f === readFlag ? `${f},${probe}` : f))
    : [...flags, `--allow-read=${probe}`];
  const results = await underFlags(probeFlags);
  for (const [what, outcome] of Object.entries(results)) {
    assert.equal(outcome, "denied", `${what}: ${outcome} under ${flags.join(" ")}`);
  }
});
