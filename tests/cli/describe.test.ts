/**
 * `./run describe` as a user runs it (deno.json's task, the launcher's exact permissions):
 * streamed answer, timings, one-line errors, and the same prompt as the API for a photo.
 */
import assert from "node:assert/strict";
import { encodeJpegRgb } from "../../src/image/jpeg_encode.ts";
import { syntheticImage, TINY, writeTempPng } from "../_support/fixtures.ts";
import { run, startServe } from "../_support/run.ts";
import { withExifOrientation } from "../image/helpers.ts";

function describe(...args: string[]) {
  return run(["describe", ...args]);
}

Deno.test("./run describe streams an answer to stdout and timings to stderr", async () => {
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
  // The API's pipeline raises the 300x200 picture to min_size 512 (768x512): two tiles plus
  // the overview image.
  assert.match(r.stderr, /3 encoder passes/);
});

Deno.test("./run describe fails with one clear line for each bad input", async (t) => {
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
      /is a text model \(architecture \w+\), not a vision projector/,
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

Deno.test("./run describe refuses a malformed number with exit code 2 before it reads anything", async (t) => {
  // The model and image do not exist: a flag checked first is what the message names.
  const base = ["--model", "/nope.gguf", "--mmproj", "/nope-mmproj.gguf", "--image", "/nope.png"];
  const cases: [string, string, RegExp][] = [
    ["--threads", "0", /--threads must be a positive integer, got "0"/],
    ["--ctx", "0", /--ctx must be a positive integer, got "0"/],
    ["--max-tokens", "abc", /--max-tokens must be a positive integer, got "abc"/],
    ["--max-image-size", "1.5", /--max-image-size must be a positive integer, got "1.5"/],
    ["--seed", "x", /--seed must be a non-negative integer, got "x"/],
    ["--temperature", "hot", /--temperature must be a number >= 0, got "hot"/],
  ];
  for (const [flag, value, pattern] of cases) {
    await t.step(`${flag} ${value}`, async () => {
      const r = await describe(...base, flag, value);
      assert.equal(r.code, 2, r.stderr);
      const lines = r.stderr.split("\n").filter((l) => l.startsWith("describe:"));
      assert.equal(lines.length, 1, r.stderr);
      assert.match(lines[0]!, pattern);
      assert.match(r.stderr, /usage: \.\/run describe/);
    });
  }
});

Deno.test("./run describe gives a photo with EXIF orientation 6 the API's prompt and answer", async () => {
  // Landscape pixels stored sideways: the upright picture is 360x640. Smaller than the
  // pipeline's min_size, so skipping the pipeline would change the tiling as well.
  const stored = syntheticImage(640, 360, 1);
  const jpeg = withExifOrientation(
    encodeJpegRgb(stored.data, stored.width, stored.height, { quality: 92 }),
    6,
  );
  const dir = await Deno.makeTempDir({ prefix: "smolvlm-exif-" });
  const path = `${dir}/photo.jpg`;
  await Deno.writeFile(path, jpeg);
  const prompt = "What is in this photo?";

  const cli = await describe(
    "--model",
    TINY.model,
    "--mmproj",
    TINY.mmproj,
    "--image",
    path,
    "--prompt",
    prompt,
    "--max-tokens",
    "8",
    "--json",
  );
  assert.equal(cli.code, 0, cli.stderr);
  const local = JSON.parse(cli.stdout);

  const server = await startServe(["--demo", "--port", "0", "--no-log-file"]);
  try {
    const response = await fetch(`${server.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        messages: [{
          role: "user",
          content: [
            {
              type: "image_url",
              image_url: { url: `data:image/jpeg;base64,${btoa(String.fromCharCode(...jpeg))}` },
            },
            { type: "text", text: prompt },
          ],
        }],
        max_tokens: 8,
        temperature: 0,
      }),
    });
    const api = await response.json();
    assert.equal(response.status, 200, JSON.stringify(api));
    assert.equal(api.image_reports?.[0]?.orientation, 6);
    assert.equal(local.usage.promptTokens, api.usage.prompt_tokens);
    assert.equal(local.text, api.choices[0].message.content, "same pixels, same greedy answer");
  } finally {
    Deno.kill(server.pid, "SIGTERM");
    await server.status;
    await Deno.remove(dir, { recursive: true });
  }
});
