/**
 * `deno task compile`: its checks (target against the libraries, Deno's runtime for binaries)
 * and, where that runtime is available, the real binary — copied alone into an empty
 * directory and run with no deno, node or compiler on PATH and HOME empty.
 */
import assert from "node:assert/strict";
import {
  cachedRuntimePath,
  compileArgs,
  compileEnv,
  CompileError,
  denoDir,
  resolveRuntime,
  stageBinary,
  targetsForLibrary,
} from "../../tools/compile.ts";
import { REPO } from "../http/helpers.ts";
import { realEngineMissing } from "../http/server_helpers.ts";
import { assertServes, deploymentDirs, startListening } from "./helpers.ts";

const TASK = (JSON.parse(Deno.readTextFileSync(`${REPO}/deno.json`)) as {
  tasks: Record<string, string>;
}).tasks.compile!;

/** Runs the compile task's exact command line with a controlled environment. */
async function compileTask(args: string[], env: Record<string, string>) {
  const [, ...taskArgs] = TASK.split(" "); // "deno run --allow-… tools/compile.ts"
  const t0 = performance.now();
  const out = await new Deno.Command(Deno.execPath(), {
    args: [...taskArgs, ...args],
    cwd: REPO,
    env: { NO_COLOR: "1", PATH: Deno.env.get("PATH") ?? "", ...env },
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return {
    code: out.code,
    ms: performance.now() - t0,
    text: dec.decode(out.stdout) + dec.decode(out.stderr),
  };
}

function nativeMissing(): void {
  const missing = realEngineMissing();
  if (missing) throw new Error(`compile needs the native libraries: ${missing}`);
}

Deno.test("compile task without denort fails at once with one paragraph naming DENORT_BIN and the cache path", async () => {
  nativeMissing();
  const emptyDenoDir = await Deno.makeTempDir({ prefix: "smolvlm-empty-deno-dir-" });
  const home = await Deno.makeTempDir();
  try {
    const r = await compileTask([], { DENO_DIR: emptyDenoDir, HOME: home });
    assert.equal(r.code, 1, r.text);
    const message = r.text.slice(r.text.indexOf("compile: ")).trim();
    assert.match(message, /^compile: deno compile needs Deno's runtime for binaries \(denort /);
    assert.match(message, /set DENORT_BIN to the denort executable/);
    assert.ok(
      message.includes(cachedRuntimePath(emptyDenoDir, Deno.build.target)),
      `names the cache path: ${message}`,
    );
    assert.equal(message.split("\n").length, 1, "one paragraph");
    assert.doesNotMatch(r.text, /dns|lookup address/i);
    // No network attempt: it ends in about the time deno takes to start twice.
    assert.ok(r.ms < 15_000, `took ${Math.round(r.ms)} ms`);
    // Nothing was staged or written.
    assert.deepEqual([...Deno.readDirSync(emptyDenoDir)].filter((e) => e.name === "dl"), []);
  } finally {
    await Deno.remove(emptyDenoDir, { recursive: true });
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("compile task refuses a --target the native libraries were not built for", async () => {
  nativeMissing();
  const other = Deno.build.os === "darwin" ? "x86_64-pc-windows-msvc" : "aarch64-apple-darwin";
  const r = await compileTask(["--target", other], { HOME: Deno.env.get("HOME") ?? "/" });
  assert.equal(r.code, 1, r.text);
  assert.match(r.text, new RegExp(`compile: cannot compile for ${other}: the native libraries`));
  assert.match(r.text, /are built for /);
  const bad = await compileTask(["--target", "riscv"], { HOME: Deno.env.get("HOME") ?? "/" });
  assert.match(bad.text, /unknown --target riscv; Deno's targets: x86_64-unknown-linux-gnu/);
});

Deno.test("targetsForLibrary() reads the platform from ELF, Mach-O and PE headers", () => {
  const elf = (machine: number) => {
    const h = new Uint8Array(64);
    h.set([0x7f, 0x45, 0x4c, 0x46, 2, 1]);
    h[18] = machine;
    return h;
  };
  assert.deepEqual(targetsForLibrary(elf(0x3e)), ["x86_64-unknown-linux-gnu"]);
  assert.deepEqual(targetsForLibrary(elf(0xb7)), ["aarch64-unknown-linux-gnu"]);
  assert.deepEqual(targetsForLibrary(elf(0x28)), []);
  const macho = new Uint8Array([0xcf, 0xfa, 0xed, 0xfe, 0x0c, 0, 0, 0x01]);
  assert.deepEqual(targetsForLibrary(macho), ["aarch64-apple-darwin"]);
  assert.deepEqual(targetsForLibrary(new Uint8Array([0x4d, 0x5a, 0, 0])), [
    "x86_64-pc-windows-msvc",
  ]);
  assert.deepEqual(targetsForLibrary(new Uint8Array(8)), []);
});

Deno.test("resolveRuntime() takes DENORT_BIN, then the download cache, and refuses the deno CLI as denort", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const target = "x86_64-unknown-linux-gnu";
    await assert.rejects(resolveRuntime(target, { denoDir: dir }), CompileError);
    const zip = cachedRuntimePath(dir, target);
    await Deno.mkdir(zip.slice(0, zip.lastIndexOf("/")), { recursive: true });
    await Deno.writeFile(zip, new Uint8Array([0x50, 0x4b]));
    assert.deepEqual(await resolveRuntime(target, { denoDir: dir }), {
      source: "cache",
      path: zip,
    });
    await Deno.writeFile(`${dir}/denort`, new Uint8Array([0x7f]));
    assert.deepEqual(await resolveRuntime(target, { denoDir: dir, denortBin: `${dir}/denort` }), {
      source: "DENORT_BIN",
      path: `${dir}/denort`,
    });
    await assert.rejects(
      resolveRuntime(target, { denoDir: dir, denortBin: Deno.execPath() }),
      /DENORT_BIN names the deno CLI itself/,
    );
    await assert.rejects(
      resolveRuntime(target, { denoDir: dir, denortBin: `${dir}/absent` }),
      /is not a file/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("deno compile takes the staged tree and the baked-in flags: libraries, workers and page embedded, no test tooling", async () => {
  nativeMissing();
  const dir = await Deno.makeTempDir({ prefix: "smolvlm-binary-compile-" });
  try {
    const stage = await stageBinary(`${dir}/stage`);
    // The deno CLI stands in for denort so the compile step itself runs here (the task refuses
    // it for users: such a binary starts a REPL, not the service).
    const out = await new Deno.Command(Deno.execPath(), {
      args: compileArgs(stage, Deno.build.target, `${dir}/smolvlm`),
      cwd: stage.dir,
      env: { ...compileEnv(stage, { source: "DENORT_BIN", path: Deno.execPath() }), NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, text);
    for (const embedded of ["native_embed/*", "pipeline_worker.ts", "worker.ts", "static/*"]) {
      assert.ok(text.includes(embedded), `${embedded} not embedded:\n${text}`);
    }
    assert.match(text, /worker\/\* \(/, "the engine's worker modules");
    assert.doesNotMatch(text, /playwright-core|openai|node_modules\/\*/);
    const files = /Files: ([\d.]+)MB/.exec(text);
    assert.ok(files && Number(files[1]) * 1e6 > stage.libraryBytes, text);
    console.log(`embedded by deno compile: ${files[1]} MB (native ${stage.libraryBytes} B)`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the compiled binary, alone in an empty directory with no deno on PATH, serves health, page and an image stream", async () => {
  nativeMissing();
  const denortBin = Deno.env.get("DENORT_BIN");
  const cached = cachedRuntimePath(await denoDir(), Deno.build.target);
  const available = denortBin || (await Deno.stat(cached).then(() => true, () => false));
  if (!available) {
    console.log(
      `real-binary test: Deno's runtime for binaries is not available here (no DENORT_BIN, ` +
        `no ${cached}), so no binary was built; tests/binary/entry_module.test.ts proved the ` +
        `entry module under the binary's flags instead.`,
    );
    return;
  }
  const outDir = await Deno.makeTempDir({ prefix: "smolvlm-binary-out-" });
  const { work, home, args } = await deploymentDirs();
  const emptyPath = await Deno.makeTempDir({ prefix: "smolvlm-binary-path-" });
  try {
    const built = await compileTask(["--output", `${outDir}/smolvlm`], {
      HOME: Deno.env.get("HOME") ?? "/",
      ...(denortBin ? { DENORT_BIN: denortBin } : {}),
      ...(Deno.env.get("DENO_DIR") ? { DENO_DIR: Deno.env.get("DENO_DIR")! } : {}),
    });
    assert.equal(built.code, 0, built.text);
    // The binary alone, in the working directory's neighbour: nothing else travels with it.
    const bin = `${work}/smolvlm`;
    await Deno.copyFile(`${outDir}/smolvlm`, bin);
    await Deno.chmod(bin, 0o755);
    await Deno.remove(outDir, { recursive: true });
    const t0 = performance.now();
    const server = await startListening(bin, args, {
      cwd: work,
      env: { HOME: home, PATH: emptyPath, NO_COLOR: "1" },
    });
    try {
      await assertServes(server.url);
      console.log(
        `binary ${(Deno.statSync(bin).size / 1e6).toFixed(1)} MB; cold start to a streamed ` +
          `answer ${Math.round(performance.now() - t0)} ms`,
      );
    } finally {
      assert.equal((await server.stop()).code, 0, server.output());
    }
  } finally {
    for (const d of [outDir, work, home, emptyPath]) {
      await Deno.remove(d, { recursive: true }).catch(() => {});
    }
  }
});
