/**
 * Edge front benchmark: (1) bytes sent upstream for a 12 MP JPEG with and without the edge's
 * preprocessing, and the time that preprocessing takes; (2) the latency the edge adds to a
 * streamed text completion (p50/p99), against the same upstream called directly.
 *
 * The edge runs as `deno task edge` runs it (tools/launch_edge.ts's exact flags). The upstream
 * is an in-process OpenAI-style stub on loopback that answers a fixed 4-event SSE stream at
 * once and records each request body's size, so the figures are the edge's own cost, not a
 * model's.
 *
 * Alone: deno task bench:edge (writes the "## Edge front" section of BENCHMARKS.md).
 *
 * @module
 */
import { encodeJpeg } from "../../src/image/codecs.ts";
import { edgeRunArgs } from "../launch_edge.ts";
import { writeBenchmarksSection } from "./sections.ts";

const RUNS = Number(Deno.env.get("EDGE_BENCH_RUNS") ?? 300);
const IMAGE_RUNS = 5;

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
}

const r2 = (x: number) => Math.round(x * 100) / 100;

/** A 4000x3000 photo-like JPEG (gradients, texture and sensor-like noise), quality 90. */
async function twelveMegapixelJpeg(): Promise<Uint8Array> {
  const w = 4000, h = 3000;
  const data = new Uint8Array(w * h * 3);
  let s = 12345;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      s = (s * 1103515245 + 12345) & 0x7fffffff;
      const noise = ((s >> 16) & 15) - 8;
      const tex = 24 * Math.sin(x / 37) * Math.cos(y / 23);
      const i = (y * w + x) * 3;
      data[i] = Math.max(0, Math.min(255, (x * 200) / w + tex + noise + 20));
      data[i + 1] = Math.max(0, Math.min(255, (y * 180) / h - tex + noise + 40));
      data[i + 2] = Math.max(0, Math.min(255, 128 + tex + noise));
    }
  }
  return await encodeJpeg({ width: w, height: h, data }, 90);
}

function b64(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(s);
}

const SSE = [
  `data: {"object":"chat.completion.chunk","choices":[{"index":0,"delta":{"role":"assistant","content":""}}]}\n\n`,
  `data: {"object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"hi"}}]}\n\n`,
  `data: {"object":"chat.completion.chunk","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\n`,
  "data: [DONE]\n\n",
].join("");

async function startEdge(args: string[]): Promise<{ url: string; stop(): Promise<void> }> {
  const runArgs = edgeRunArgs(args);
  if (runArgs === "help") throw new Error("help");
  const child = new Deno.Command(Deno.execPath(), {
    args: runArgs,
    stdout: "piped",
    stderr: "inherit",
    clearEnv: true,
    env: { NO_COLOR: "1" },
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let out = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`edge exited: ${out}`);
    out += value;
    const m = /edge listening on (http:\/\/[\d.:]+)/.exec(out);
    if (m) {
      void (async () => {
        while (!(await reader.read()).done) { /* drain */ }
      })();
      return {
        url: m[1]!,
        async stop() {
          child.kill("SIGTERM");
          await child.status;
        },
      };
    }
  }
}

async function waitUp(edge: string): Promise<void> {
  for (;;) {
    const res = await fetch(`${edge}/health`);
    if ((await res.json()).up >= 1) return;
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function timed(url: string, body: string): Promise<number> {
  const t0 = performance.now();
  const res = await fetch(`${url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body,
  });
  const text = await res.text();
  if (res.status !== 200 || !text.endsWith("data: [DONE]\n\n")) {
    throw new Error(`${res.status}: ${text.slice(0, 300)}`);
  }
  return performance.now() - t0;
}

if (import.meta.main) {
  const bodies: number[] = [];
  const upstream = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    async (req) => {
      if (new URL(req.url).pathname === "/health") return new Response("ok");
      bodies.push((await req.arrayBuffer()).byteLength);
      return new Response(SSE, { headers: { "content-type": "text/event-stream" } });
    },
  );
  const up = `http://127.0.0.1:${upstream.addr.port}`;
  const edge = await startEdge(["--upstream", up, "--port", "0"]);
  const plain = await startEdge(["--upstream", up, "--port", "0", "--no-preprocess"]);
  await waitUp(edge.url);
  await waitUp(plain.url);

  // 1. Bytes upstream for a 12 MP JPEG.
  const jpeg = await twelveMegapixelJpeg();
  const imageBody = JSON.stringify({
    messages: [{
      role: "user",
      content: [{ type: "text", text: "What is in this photo?" }, {
        type: "image_url",
        image_url: { url: `data:image/jpeg;base64,${b64(jpeg)}` },
      }],
    }],
    stream: true,
  });
  const imageTimes = { direct: [] as number[], edge: [] as number[], plain: [] as number[] };
  let sentDirect = 0, sentEdge = 0, sentPlain = 0;
  for (let i = 0; i < IMAGE_RUNS; i++) {
    imageTimes.direct.push(await timed(up, imageBody));
    sentDirect = bodies.at(-1)!;
    imageTimes.plain.push(await timed(plain.url, imageBody));
    sentPlain = bodies.at(-1)!;
    imageTimes.edge.push(await timed(edge.url, imageBody));
    sentEdge = bodies.at(-1)!;
  }

  // 2. Added latency on a streamed text completion.
  const textBody = JSON.stringify({
    messages: [{ role: "user", content: "hello" }],
    stream: true,
    max_tokens: 8,
  });
  for (let i = 0; i < 30; i++) {
    await timed(up, textBody);
    await timed(edge.url, textBody);
  }
  const direct: number[] = [], via: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    direct.push(await timed(up, textBody));
    via.push(await timed(edge.url, textBody));
  }
  await edge.stop();
  await plain.stop();
  await upstream.shutdown();

  const p = (xs: number[], q: number) => r2(quantile(xs, q));
  const rows = [
    `| without the edge (client → upstream) | ${sentDirect.toLocaleString("en")} | 1.000 | ${
      p(imageTimes.direct, 0.5)
    } |`,
    `| edge, \`--no-preprocess\` (bytes forwarded as sent) | ${sentPlain.toLocaleString("en")} | ${
      (sentPlain / sentDirect).toFixed(3)
    } | ${p(imageTimes.plain, 0.5)} |`,
    `| edge, preprocessing (default) | ${sentEdge.toLocaleString("en")} | ${
      (sentEdge / sentDirect).toFixed(3)
    } | ${p(imageTimes.edge, 0.5)} |`,
  ];
  const md = `## Edge front

Measured ${
    new Date().toISOString().slice(0, 10)
  } on this machine (2 shared CPU cores): the edge started exactly as \`deno task edge\` starts it (tools/launch_edge.ts's flags), in front of an in-process OpenAI-style stub upstream on 127.0.0.1 that answers a fixed 4-event SSE stream at once and records the size of each request body. The figures are the edge's own cost, not a model's.

### Bytes sent upstream for a 12 MP JPEG

A synthetic 4000x3000 photo-like JPEG (gradients, texture, sensor-like noise; quality 90; ${
    jpeg.length.toLocaleString("en")
  } bytes) in a data: URL, one streamed request; bytes = the request body the upstream received (JSON with base64). Median of ${IMAGE_RUNS} requests for the time (send → last byte).

| path | bytes upstream | ratio | client ms (median) |
|---|---:|---:|---:|
${rows.join("\n")}

With preprocessing the upstream receives a ≤1024 px JPEG (the pipeline's defaults: EXIF orientation, smart crop, resize, bilateral denoise, LAB balance, JPEG q95) and \`image_processing\` turning its own pixel stages off; the extra milliseconds are the pipeline's work in the edge's workers.

### Latency the edge adds

A streamed text completion, send → last byte, ${RUNS} requests each way, alternating, one at a time, after 30 warm-ups each.

| path | p50 ms | p99 ms |
|---|---:|---:|
| client → upstream | ${p(direct, 0.5)} | ${p(direct, 0.99)} |
| client → edge → upstream | ${p(via, 0.5)} | ${p(via, 0.99)} |
| added by the edge | ${r2(quantile(via, 0.5) - quantile(direct, 0.5))} | ${
    r2(quantile(via, 0.99) - quantile(direct, 0.99))
  } |

Alone: \`deno task bench:edge\` (EDGE_BENCH_RUNS=N to change the request count).
`;
  await writeBenchmarksSection("edge", md);
  console.log(md);
}
