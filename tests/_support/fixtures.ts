/**
 * Paths and inputs shared by the native tests. The test task builds native/lib and writes the
 * synthetic models before any test runs; a missing file fails the test, it never skips it.
 */
import { fixturePaths } from "../../tools/gguf/cli.ts";
import { encodePng } from "../../src/image/codecs.ts";
import type { RgbImage } from "../../src/engine/mod.ts";
import { NATIVE_LIB_DIR } from "../../native/manifest.ts";

export const REPO_ROOT = decodeURIComponent(new URL("../../", import.meta.url).pathname).replace(
  /\/$/,
  "",
);
export const TINY = fixturePaths("tiny");
export const SMOLVLM_500M = fixturePaths("500m");
export const NATIVE_BIN = Deno.env.get("SMOLVLM_LIB_DIR") ?? NATIVE_LIB_DIR;
export const MTMD_CLI = `${NATIVE_BIN}/llama-mtmd-cli`;

/** A deterministic, structured test picture (gradients, a disc and stripes). */
export function syntheticImage(width: number, height: number, variant = 0): RgbImage {
  const data = new Uint8Array(width * height * 3);
  const cx = width * (0.3 + 0.4 * (variant % 2)), cy = height * 0.5;
  const r = Math.min(width, height) * 0.25;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      const inDisc = (x - cx) ** 2 + (y - cy) ** 2 < r * r;
      const stripe = ((x + variant * 7) >> 4) % 2 === 0;
      data[i] = inDisc ? 230 : Math.round((255 * x) / width);
      data[i + 1] = inDisc ? 40 : Math.round((255 * y) / height);
      data[i + 2] = stripe ? 200 - variant * 50 : 60;
    }
  }
  return { width, height, data };
}

/** Writes `image` as a PNG in a temp dir (lossless, so llama.cpp's stb decode sees the same pixels). */
export async function writeTempPng(image: RgbImage, name = "image.png"): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "smolvlm-test-" });
  const path = `${dir}/${name}`;
  await Deno.writeFile(path, await encodePng(image));
  return path;
}

/** Runs llama.cpp's own llama-mtmd-cli greedily and returns the text it generated. */
export async function mtmdCliGreedy(options: {
  model: string;
  mmproj: string;
  images: readonly string[];
  prompt: string;
  maxTokens: number;
  contextSize: number;
  imageMaxTokens: number;
}): Promise<string> {
  const args = [
    "-m",
    options.model,
    "--mmproj",
    options.mmproj,
    ...options.images.flatMap((i) => ["--image", i]),
    "-p",
    options.prompt,
    "-n",
    String(options.maxTokens),
    "--temp",
    "0",
    "-c",
    String(options.contextSize),
    "--image-max-tokens",
    String(options.imageMaxTokens),
    "-t",
    String(navigator.hardwareConcurrency),
  ];
  const out = await new Deno.Command(MTMD_CLI, { args, stdout: "piped", stderr: "piped" })
    .output();
  if (!out.success) {
    throw new Error(`llama-mtmd-cli failed:\n${new TextDecoder().decode(out.stderr).slice(-2000)}`);
  }
  return new TextDecoder().decode(out.stdout);
}

export const LLAMA_SERVER = `${NATIVE_BIN}/llama-server`;

export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/**
 * llama-mtmd-cli only runs a single non-interactive turn when it has an image, so text-only
 * references come from llama.cpp's llama-server (same build, same files), greedy, one slot.
 */
export async function llamaServerGreedy(options: {
  model: string;
  mmproj: string;
  prompt: string;
  maxTokens: number;
  contextSize: number;
}): Promise<string> {
  const port = freePort();
  const server = new Deno.Command(LLAMA_SERVER, {
    args: [
      "-m",
      options.model,
      "--mmproj",
      options.mmproj,
      "-c",
      String(options.contextSize),
      "-np",
      "1",
      "-t",
      String(navigator.hardwareConcurrency),
      "--host",
      "127.0.0.1",
      "--port",
      String(port),
    ],
    stdout: "null",
    stderr: "null",
  }).spawn();
  try {
    const base = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + 60_000;
    while (true) {
      const ok = await fetch(`${base}/health`).then((r) => {
        r.body?.cancel();
        return r.ok;
      }, () => false);
      if (ok) break;
      if (Date.now() > deadline) throw new Error("llama-server did not become healthy");
      await new Promise((r) => setTimeout(r, 200));
    }
    const response = await fetch(`${base}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        messages: [{ role: "user", content: options.prompt }],
        temperature: 0,
        max_tokens: options.maxTokens,
      }),
    });
    const body = await response.json();
    if (!response.ok) throw new Error(`llama-server: ${JSON.stringify(body)}`);
    return body.choices[0].message.content as string;
  } finally {
    server.kill("SIGTERM");
    await server.status;
  }
}
