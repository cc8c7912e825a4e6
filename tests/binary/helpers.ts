/**
 * Shared by the entry-module test and the real-binary test: a working directory laid out the
 * way the binary's baked-in permissions expect (models/ with the tiny model), a process
 * started there, and the three things a deployment must answer.
 */
import assert from "node:assert/strict";
import { pngDataUrl, REPO } from "../http/helpers.ts";
import { modelPair, TINY_DIR } from "../http/server_helpers.ts";
import { readSse } from "../edge/edge_helpers.ts";

/** A fresh working directory with the tiny model under models/, and an empty HOME. */
export async function deploymentDirs(): Promise<{ work: string; home: string; args: string[] }> {
  const pair = modelPair(TINY_DIR);
  const work = await Deno.makeTempDir({ prefix: "smolvlm-binary-work-" });
  const home = await Deno.makeTempDir({ prefix: "smolvlm-binary-home-" });
  await Deno.mkdir(`${work}/models`);
  const model = pair.model.slice(pair.model.lastIndexOf("/") + 1);
  const mmproj = pair.mmproj.slice(pair.mmproj.lastIndexOf("/") + 1);
  await Deno.copyFile(pair.model, `${work}/models/${model}`);
  await Deno.copyFile(pair.mmproj, `${work}/models/${mmproj}`);
  return {
    work,
    home,
    args: ["serve", "--model", `models/${model}`, "--mmproj", `models/${mmproj}`, "--port", "0"],
  };
}

export interface Started {
  readonly url: string;
  output(): string;
  stop(): Promise<Deno.CommandStatus>;
}

/** Starts `command args` and waits until it prints where it listens. */
export async function startListening(
  command: string,
  args: string[],
  opts: { cwd: string; env: Record<string, string>; timeoutMs?: number },
): Promise<Started> {
  const child = new Deno.Command(command, {
    args,
    cwd: opts.cwd,
    env: opts.env,
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let out = "";
  let found!: (url: string) => void;
  const listening = new Promise<string>((r) => (found = r));
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    const dec = new TextDecoder();
    for await (const chunk of stream) {
      out += dec.decode(chunk, { stream: true });
      const m = /listening on (http:\/\/[\d.:\[\]a-z]+)/.exec(out);
      if (m) found(m[1]!);
    }
  };
  const pumps = Promise.all([pump(child.stdout), pump(child.stderr)]);
  const status = child.status.then(async (s) => (await pumps.catch(() => {}), s));
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeoutMs = opts.timeoutMs ?? 60_000;
  try {
    const url = await Promise.race([
      listening,
      status.then((s) => {
        throw new Error(`exited (${s.code}) before listening:\n${out}`);
      }),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`no listen in ${timeoutMs} ms:\n${out}`)),
          timeoutMs,
        );
      }),
    ]);
    return {
      url,
      output: () => out,
      async stop() {
        try {
          child.kill("SIGTERM");
        } catch { /* gone */ }
        return await status;
      },
    };
  } catch (e) {
    try {
      child.kill("SIGKILL");
    } catch { /* gone */ }
    await status;
    throw e;
  } finally {
    clearTimeout(timer);
  }
}

/** /health turns 200, the page is static/index.html, and an image completion streams. */
export async function assertServes(url: string): Promise<void> {
  const t0 = performance.now();
  for (;;) {
    const res = await fetch(`${url}/health`);
    const body = await res.json();
    if (res.status === 200) break;
    assert.notEqual(body.status, "unhealthy", JSON.stringify(body));
    assert.ok(performance.now() - t0 < 60_000, `not healthy in 60 s: ${JSON.stringify(body)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const page = await fetch(`${url}/`);
  assert.equal(page.status, 200);
  assert.match(page.headers.get("content-type")!, /^text\/html/);
  assert.equal(await page.text(), await Deno.readTextFile(`${REPO}/static/index.html`));
  const script = await fetch(`${url}/app.js`);
  assert.equal(await script.text(), await Deno.readTextFile(`${REPO}/static/app.js`));

  const res = await fetch(`${url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      messages: [{
        role: "user",
        content: [
          { type: "text", text: "What is in this picture?" },
          { type: "image_url", image_url: { url: await pngDataUrl(320, 240) } },
        ],
      }],
      max_tokens: 8,
      stream: true,
      stream_options: { include_usage: true },
    }),
  });
  assert.equal(res.status, 200, await res.clone().text());
  assert.match(res.headers.get("content-type")!, /^text\/event-stream/);
  const { text, ok } = await readSse(res);
  assert.ok(ok, text.slice(-300));
  const events = text.split("\n\n").filter((e) => e.startsWith("data: {")).map((e) =>
    JSON.parse(e.slice(6))
  );
  assert.ok(events.length >= 2, text);
  assert.ok(events.every((e) => e.object === "chat.completion.chunk"));
  const usage = events.find((e) => e.usage)?.usage;
  // The image reached the model: SmolVLM's image tokens dwarf the text prompt.
  assert.ok(
    usage && usage.prompt_tokens > 64 && usage.completion_tokens > 0,
    JSON.stringify(usage),
  );
}
