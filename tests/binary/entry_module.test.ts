/**
 * The binary's entry module, proven where the binary itself cannot be built: the staged copy
 * of what `deno task compile` embeds (tools/compile.ts stageBinary()) runs under `deno run`
 * with exactly the binary's baked-in flags (src/binary/permissions.ts), from a temporary
 * directory outside the checkout, with the checkout not readable and HOME an empty directory,
 * and serves /health, the page and a streamed completion with an image.
 */
import assert from "node:assert/strict";
import { BINARY_RUNTIME_FLAGS, binaryPermissionFlags } from "../../src/binary/permissions.ts";
import { denoDir, stageBinary } from "../../tools/compile.ts";
import { REPO } from "../http/helpers.ts";
import { realEngineMissing } from "../http/server_helpers.ts";
import { assertServes, deploymentDirs, startListening } from "./helpers.ts";

Deno.test("binary.ts under the binary's flags serves health, page and an image stream from a copy outside the checkout", async () => {
  const missing = realEngineMissing();
  if (missing) throw new Error(`the entry-module test needs the tiny model: ${missing}`);
  const stageDir = await Deno.makeTempDir({ prefix: "smolvlm-binary-stage-" });
  const { work, home, args } = await deploymentDirs();
  const emptyPath = await Deno.makeTempDir({ prefix: "smolvlm-binary-path-" });
  try {
    const stage = await stageBinary(stageDir);
    assert.ok(!stage.dir.startsWith(REPO) && !work.startsWith(REPO));
    const flags = binaryPermissionFlags({ embeddedRoot: stage.dir });
    assert.ok(flags.every((f) => !f.includes(REPO)), `a flag names the checkout: ${flags}`);
    const denoArgs = [
      "run",
      "--cached-only",
      `--config=${stage.dir}/deno.json`,
      ...BINARY_RUNTIME_FLAGS,
      ...flags,
      stage.entry,
      ...args,
    ];
    const env = { HOME: home, PATH: emptyPath, DENO_DIR: await denoDir(), NO_COLOR: "1" };

    const t0 = performance.now();
    const first = await startListening(Deno.execPath(), denoArgs, { cwd: work, env });
    let stopped = false;
    try {
      await assertServes(first.url);
      console.log(
        `entry module cold start to a streamed answer: ${Math.round(performance.now() - t0)} ms ` +
          `(first run, extraction included; source ${stage.sourceBytes} B, native ` +
          `${stage.libraryBytes} B)`,
      );
      const extracted = /native libraries extracted to (\S+)/.exec(first.output())?.[1];
      assert.ok(extracted, first.output());
      assert.ok(extracted.startsWith(`${work}/.cache/smolvlm-deno/lib/`), extracted);
      assert.ok((await Deno.stat(`${extracted}/libllama.so`)).isFile);
      assert.equal((await first.stop()).code, 0, first.output());
      stopped = true;
    } finally {
      if (!stopped) await first.stop();
    }
    // Nothing was written into HOME, and the logs went to the working directory.
    assert.deepEqual([...Deno.readDirSync(home)], []);
    assert.ok([...Deno.readDirSync(`${work}/logs`)].length > 0);

    // A second start verifies the cached set and loads it without extracting again.
    const second = await startListening(Deno.execPath(), denoArgs, { cwd: work, env });
    try {
      const h = await fetch(`${second.url}/health`);
      await h.body?.cancel();
      assert.doesNotMatch(second.output(), /extracted/);
    } finally {
      await second.stop();
    }
  } finally {
    for (const d of [stageDir, work, home, emptyPath]) {
      await Deno.remove(d, { recursive: true }).catch(() => {});
    }
  }
});
