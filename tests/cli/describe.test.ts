/** `main.ts describe` as a user runs it: streamed answer, timings, one-line errors. */
import assert from "node:assert/strict";
import { REPO_ROOT, syntheticImage, TINY, writeTempPng } from "../_support/fixtures.ts";

const DESCRIBE_FLAGS = ["run", "--allow-read", "--allow-ffi", "--allow-env", "main.ts", "describe"];

async function describe(...args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [...DESCRIBE_FLAGS, ...args],
    cwd: REPO_ROOT,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  return {
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
  };
}

Deno.test("main.ts describe streams an answer to stdout and timings to stderr", async () => {
  const image = await writeTempPng(syntheticImage(300, 200));
  const r = await describe(
    "--model",
    TINY.model,
    "--mmproj",
    TINY.mmproj,
    "--image",
    image,
    "--max-tokens",
    "12",
  );
  assert.equal(r.code, 0, r.stderr);
  assert.ok(r.stdout.trim().length > 0);
  assert.match(r.stderr, /encode [\d.]+ ms, prefill [\d.]+ ms \([\d.]+ tok\/s\), decode/);
  assert.match(r.stderr, /2 encoder passes/);
});

Deno.test("main.ts describe fails with one clear line for each bad input", async (t) => {
  const notGguf = await Deno.makeTempFile({ suffix: ".gguf" });
  await Deno.writeTextFile(notGguf, "plain text");
  const notImage = await Deno.makeTempFile({ suffix: ".png" });
  await Deno.writeTextFile(notImage, "not a picture");
  const goodImage = await writeTempPng(syntheticImage(64, 64));
  const cases: [string, string[], RegExp][] = [
    [
      "missing model",
      ["--model", "/nope.gguf", "--mmproj", TINY.mmproj, "--image", goodImage],
      /model file not found: \/nope.gguf/,
    ],
    [
      "not a GGUF",
      ["--model", notGguf, "--mmproj", TINY.mmproj, "--image", goodImage],
      /is not a GGUF file/,
    ],
    [
      "wrong projector",
      ["--model", TINY.model, "--mmproj", TINY.model, "--image", goodImage],
      /could not load .* as a projector/,
    ],
    [
      "unreadable image",
      ["--model", TINY.model, "--mmproj", TINY.mmproj, "--image", notImage],
      /cannot read image/,
    ],
    [
      "missing image",
      ["--model", TINY.model, "--mmproj", TINY.mmproj, "--image", "/nope.png"],
      /image not found/,
    ],
  ];
  for (const [name, args, pattern] of cases) {
    await t.step(name, async () => {
      const r = await describe(...args);
      assert.notEqual(r.code, 0);
      const lines = r.stderr.split("\n").filter((l) => l.startsWith("describe:"));
      assert.equal(lines.length, 1, r.stderr);
      assert.match(lines[0]!, pattern);
      assert.doesNotMatch(r.stderr, /^\s+at /m, "no stack trace");
    });
  }
});
