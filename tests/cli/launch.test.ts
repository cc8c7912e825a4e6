/** The launcher's permission flags: exact entries derived from the arguments, never wider. */
import assert from "node:assert/strict";
import { planConfig, planDescribe, planPreprocess, planServe } from "../../tools/launch.ts";
import { CONFIG_ENV_NAMES } from "../../src/config/settings.ts";
import { REPO_ROOT, TINY } from "../_support/fixtures.ts";
import { SERVE_ENV, systemNameservers } from "../../src/cli/permissions.ts";
import { locateDecoder } from "../../src/video/locate.ts";

function flag(flags: readonly string[], name: string): string[] {
  const f = flags.find((x) => x === `--allow-${name}` || x.startsWith(`--allow-${name}=`));
  if (f === undefined) return [];
  return f.includes("=") ? f.slice(f.indexOf("=") + 1).split(",") : ["<all>"];
}

function assertNeverWide(flags: readonly string[]) {
  for (const f of flags) {
    assert.ok(f !== "-A" && f !== "--allow-all", f);
    assert.ok(!/^--allow-(read|write|net|env|run|sys)$/.test(f), `${f} is unscoped`);
    // Only ffmpeg, ffprobe and prlimit (their memory cap), by absolute path, when this machine
    // has them (video).
    if (f.startsWith("--allow-run")) {
      const decoder = locateDecoder();
      assert.ok(decoder, f);
      const prlimit = decoder.prlimit ? `,${decoder.prlimit}` : "";
      assert.equal(f, `--allow-run=${decoder.ffmpeg},${decoder.ffprobe}${prlimit}`);
    }
  }
  for (const path of [...flag(flags, "read"), ...flag(flags, "write")]) {
    for (const wide of ["/", ".", REPO_ROOT, Deno.env.get("HOME") ?? "/root", "/tmp"]) {
      assert.notEqual(path.replace(/\/$/, ""), wide.replace(/\/$/, "") || "/", `${path}`);
    }
  }
}

async function modelCopy(): Promise<{ dir: string; model: string; mmproj: string }> {
  const dir = await Deno.makeTempDir({ prefix: "smolvlm-launch-" });
  const model = `${dir}/m.gguf`, mmproj = `${dir}/p.gguf`;
  await Deno.copyFile(TINY.model, model);
  await Deno.copyFile(TINY.mmproj, mmproj);
  return { dir, model, mmproj };
}

Deno.test("planServe() grants exactly the bind address and the allowed image hosts", async () => {
  const { flags } = await planServe([
    "--demo",
    "--host",
    "0.0.0.0",
    "--port",
    "8001",
    "--allow-image-host",
    "images.example.com",
    "--allow-image-host",
    "cdn.example.org",
  ]);
  assert.deepEqual(flag(flags, "net"), [
    "0.0.0.0:8001",
    "images.example.com",
    "cdn.example.org",
    // DNS for the resolved-address check of remote images, and only then.
    ...systemNameservers().map((ip) => `${ip}:53`),
  ]);
  assertNeverWide(flags);
});

Deno.test("planServe() grants port 0 as the host alone and the default as 127.0.0.1:8000", async () => {
  assert.deepEqual(flag((await planServe(["--demo", "--port", "0"])).flags, "net"), ["127.0.0.1"]);
  assert.deepEqual(flag((await planServe(["--demo"])).flags, "net"), ["127.0.0.1:8000"]);
});

Deno.test("planServe() grants read access to exactly the model files named, anywhere", async () => {
  const { dir, model, mmproj } = await modelCopy();
  try {
    const { flags } = await planServe(["--model", model, "--mmproj", mmproj, "--no-log-file"]);
    const read = flag(flags, "read");
    assert.ok(read.includes(model) && read.includes(mmproj), read.join(","));
    assert.ok(!read.includes(dir), "not the directory");
    assert.deepEqual(flag(flags, "write"), [], "--no-log-file writes nothing");
    assert.deepEqual(flags.filter((f) => f.startsWith("--allow-ffi")), ["--allow-ffi"]);
    // FFMPEG_PATH, PRLIMIT_PATH and the configuration's variables (the table the server
    // resolves with).
    assert.deepEqual(flag(flags, "env"), [...SERVE_ENV]);
    assert.ok(
      flag(flags, "env").every((name) =>
        name.startsWith("SMOLVLM_") || name === "FFMPEG_PATH" || name === "PRLIMIT_PATH"
      ),
    );
    assertNeverWide(flags);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("planServe() takes host, port, model and image hosts from a --config file", async () => {
  const { dir, model, mmproj } = await modelCopy();
  try {
    const config = `${dir}/service.json`;
    await Deno.writeTextFile(
      config,
      JSON.stringify({
        host: "0.0.0.0",
        port: 9100,
        model_path: model,
        mmproj_path: mmproj,
        remote_images: { allow_hosts: ["Photos.Example.com"] },
      }),
    );
    const { flags } = await planServe(["--config", config]);
    assert.deepEqual(flag(flags, "net"), [
      "0.0.0.0:9100",
      "photos.example.com",
      ...systemNameservers().map((ip) => `${ip}:53`),
    ]);
    const read = flag(flags, "read");
    for (const p of [config, model, mmproj]) assert.ok(read.includes(p), p);
    assertNeverWide(flags);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("planServe() grants the config's API keys file and, for a symlink, its target", async () => {
  const { dir, model, mmproj } = await modelCopy();
  try {
    // A mounted secret: keys -> ..data/keys (how Kubernetes mounts one).
    await Deno.mkdir(`${dir}/..data`);
    await Deno.writeTextFile(`${dir}/..data/keys`, "key-one\n");
    await Deno.symlink(`${dir}/..data/keys`, `${dir}/keys`);
    const config = `${dir}/service.json`;
    await Deno.writeTextFile(
      config,
      JSON.stringify({
        model_path: model,
        mmproj_path: mmproj,
        auth: { api_keys_file: `${dir}/keys` },
      }),
    );
    const read = flag((await planServe(["--config", config])).flags, "read");
    assert.ok(read.includes(`${dir}/keys`), read.join(","));
    assert.ok(read.includes(await Deno.realPath(`${dir}/..data/keys`)), read.join(","));
    assert.ok(!read.includes(dir) && !read.includes(`${dir}/..data`), "not the directories");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("planServe() grants the host and port given by SMOLVLM_HOST / SMOLVLM_PORT or SMOLVLM_CONFIG", async () => {
  const { dir } = await modelCopy();
  try {
    const env = { SMOLVLM_HOST: "0.0.0.0", SMOLVLM_PORT: "8123" };
    const fromEnv = await planServe(["--demo"], { env: (n) => env[n as keyof typeof env] });
    assert.deepEqual(flag(fromEnv.flags, "net"), ["0.0.0.0:8123"]);
    // A flag still wins over the variable, as in the server.
    const both = await planServe(["--demo", "--port", "8124"], {
      env: (n) => env[n as keyof typeof env],
    });
    assert.deepEqual(flag(both.flags, "net"), ["0.0.0.0:8124"]);
    const config = `${dir}/c.json`;
    await Deno.writeTextFile(config, JSON.stringify({ host: "0.0.0.0", port: 8125 }));
    const fromFile = await planServe(["--demo"], {
      env: (n) => (n === "SMOLVLM_CONFIG" ? config : undefined),
    });
    assert.deepEqual(flag(fromFile.flags, "net"), ["0.0.0.0:8125"]);
    assert.ok(flag(fromFile.flags, "read").includes(config));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("planConfig() grants the config file and the variables, nothing else", async () => {
  const dir = await Deno.makeTempDir({ prefix: "smolvlm-config-" });
  try {
    const config = `${dir}/c.json`;
    await Deno.writeTextFile(config, JSON.stringify({ port: 8126 }));
    const { flags } = await planConfig(["--config", config, "--model", "/x/m.gguf", "--json"]);
    assert.deepEqual(flag(flags, "read"), [config]);
    assert.deepEqual(flag(flags, "env"), [...CONFIG_ENV_NAMES]);
    assert.deepEqual([flag(flags, "net"), flag(flags, "write")], [[], []]);
    assert.ok(!flags.includes("--allow-ffi"));
    assertNeverWide(flags);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("planServe() refuses a path Deno cannot grant exactly", async () => {
  const dir = await Deno.makeTempDir({ prefix: "smolvlm,comma-" });
  try {
    await Deno.copyFile(TINY.model, `${dir}/m.gguf`);
    await assert.rejects(planServe(["--model", `${dir}/m.gguf`]), /path with a comma/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("planDescribe() and planPreprocess() grant the files named and nothing wider", () => {
  const d = planDescribe(["--model", "a.gguf", "--mmproj", "b.gguf", "--image", "/x/c.jpg"]);
  for (const p of ["a.gguf", "b.gguf", "/x/c.jpg"]) assert.ok(flag(d.flags, "read").includes(p));
  assert.deepEqual(flag(d.flags, "net"), []);
  assert.deepEqual(flag(d.flags, "write"), []);
  assert.ok(d.flags.includes("--allow-ffi"), "unscoped ffi (Deno 2.9 needs it for pointers)");
  assertNeverWide(d.flags);

  const p = planPreprocess(["in.jpg", "/out/o.png", "--jpeg", "/out/o.jpg", "--config", "c.json"]);
  assert.deepEqual(flag(p.flags, "write"), ["/out/o.png", "/out/o.jpg"]);
  for (const f of ["in.jpg", "c.json"]) assert.ok(flag(p.flags, "read").includes(f));
  assert.ok(!p.flags.includes("--allow-ffi"));
  assertNeverWide(p.flags);
});

Deno.test("./run serve --help prints the usage without building, writing or starting anything", async () => {
  // No --allow-run and no --allow-write: any preparation step would fail the launcher.
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", "--allow-env", "tools/launch.ts", "serve", "--help"],
    cwd: REPO_ROOT,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stdout = new TextDecoder().decode(out.stdout);
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  assert.match(stdout, /^usage: \.\/run serve /);
});

Deno.test("planServe() grants ffmpeg, ffprobe and prlimit by path and hands their paths over, or no run at all", async () => {
  const decoder = locateDecoder();
  assert.ok(decoder, "ffmpeg is missing: run `sh tools/provision.sh`");
  assert.ok(decoder.prlimit, "prlimit is missing: apt-get install util-linux");
  const args = ["--model", TINY.model, "--mmproj", TINY.mmproj];
  const found = await planServe(args);
  assert.deepEqual(flag(found.flags, "run"), [decoder.ffmpeg, decoder.ffprobe, decoder.prlimit]);
  assert.deepEqual(found.env, { FFMPEG_PATH: decoder.ffmpeg, PRLIMIT_PATH: decoder.prlimit });
  assert.ok(flag(found.flags, "env").includes("FFMPEG_PATH"));
  assert.ok(flag(found.flags, "env").includes("PRLIMIT_PATH"));
  // Without prlimit: ffmpeg and ffprobe still, uncapped (the server says so at start).
  Deno.env.set("PRLIMIT_PATH", "/nonexistent/prlimit");
  try {
    const uncapped = await planServe(args);
    assert.deepEqual(flag(uncapped.flags, "run"), [decoder.ffmpeg, decoder.ffprobe]);
    assert.deepEqual(uncapped.env, { FFMPEG_PATH: decoder.ffmpeg });
  } finally {
    Deno.env.delete("PRLIMIT_PATH");
  }
  Deno.env.set("FFMPEG_PATH", "/nonexistent/ffmpeg");
  try {
    const missing = await planServe(args);
    assert.deepEqual(flag(missing.flags, "run"), []);
    assert.equal(missing.env, undefined);
  } finally {
    Deno.env.delete("FFMPEG_PATH");
  }
});

Deno.test("planDescribe() grants the video file and ffmpeg only with --video", () => {
  const decoder = locateDecoder();
  assert.ok(decoder, "ffmpeg is missing: run `sh tools/provision.sh`");
  const base = ["--model", TINY.model, "--mmproj", TINY.mmproj];
  const plain = planDescribe(base);
  assert.deepEqual(flag(plain.flags, "run"), []);
  const withVideo = planDescribe([...base, "--video", "/data/clip.mp4"]);
  assert.deepEqual(flag(withVideo.flags, "run"), [
    decoder.ffmpeg,
    decoder.ffprobe,
    ...(decoder.prlimit ? [decoder.prlimit] : []),
  ]);
  assert.ok(flag(withVideo.flags, "read").includes("/data/clip.mp4"));
  assert.deepEqual(withVideo.env, {
    FFMPEG_PATH: decoder.ffmpeg,
    ...(decoder.prlimit ? { PRLIMIT_PATH: decoder.prlimit } : {}),
  });
});

Deno.test("./run echoes no task command line: arguments such as --api-key stay off stderr", async () => {
  const out = await new Deno.Command(`${REPO_ROOT}/run`, {
    args: ["preprocess", "--help", "--api-key", "sk-secret-in-argv"],
    cwd: REPO_ROOT,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const all = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  assert.match(all, /usage: \.\/run preprocess/);
  assert.ok(!all.includes("sk-secret-in-argv"), all);
});
