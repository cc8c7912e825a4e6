/** `describe --video`: a generated clip answered from the command line under the launcher's flags. */
import assert from "node:assert/strict";
import { planDescribe } from "../../tools/launch.ts";
import { REPO_ROOT, TINY } from "../_support/fixtures.ts";
import { makeClip } from "../video/clips.ts";

Deno.test("describe --video answers about a clip: one 64-token chunk per sampled frame", async () => {
  const dir = await Deno.makeTempDir({ prefix: "smolvlm-describe-video-" });
  try {
    const clip = `${dir}/clip.mp4`;
    await Deno.writeFile(clip, await makeClip(3));
    const args = ["--model", TINY.model, "--mmproj", TINY.mmproj, "--video", clip];
    const plan = planDescribe(args);
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", ...plan.flags, "main.ts", "describe", ...args, "--max-tokens", "4", "--json"],
      cwd: REPO_ROOT,
      env: { ...plan.env },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, stderr);
    const result = JSON.parse(new TextDecoder().decode(out.stdout));
    assert.equal(result.usage.imageTokens, 3 * 64);
    assert.equal(result.timings.imageEncoderPasses, 3);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
