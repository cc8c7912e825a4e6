/**
 * HTTP overhead benchmark: end-to-end latency of a chat request (client send → last byte)
 * minus the engine's own total for that generation (`timings.engine_total_ms`), on the tiny
 * synthetic model, through the real app on a real socket. Median of N after warm-up.
 *
 * Alone: deno run --allow-read --allow-write --allow-env --allow-ffi --allow-net=127.0.0.1 tools/bench/http.ts
 * (writes the "## HTTP overhead" section of BENCHMARKS.md between its markers).
 */
import { loadEngine } from "../../src/engine/engine.ts";
import { defaultServiceConfig } from "../../src/config/service_config.ts";
import { createApp } from "../../src/http/app.ts";
import { EngineHolder } from "../../src/http/engine_state.ts";
import { createImageProcessor } from "../../src/http/image_adapter.ts";
import { encodePng } from "../../src/image/codecs.ts";

export interface BenchHttpOptions {
  /** Requests per scenario (median reported). Default 30. */
  runs?: number;
  /** Directory with the tiny model and mmproj. Default tests/fixtures/generated/tiny. */
  modelDir?: string;
  /** Completion tokens per request. Default 8. */
  maxTokens?: number;
}

export interface BenchHttpRow {
  scenario: string;
  e2eMs: number;
  engineMs: number;
  overheadMs: number;
  overheadP90Ms: number;
  /** Of the overhead, the image pipeline's share (timings.image_preprocess_ms). */
  imagePipelineMs: number;
}

const ROOT = new URL("../../", import.meta.url).pathname;

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
}

function pair(dir: string): { model: string; mmproj: string } {
  const names = [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) => n.endsWith(".gguf"))
    .sort();
  const mmproj = names.find((n) => n.startsWith("mmproj"));
  const model = names.find((n) => !n.startsWith("mmproj"));
  if (!model || !mmproj) throw new Error(`${dir} lacks the tiny model; run \`deno task fixtures\``);
  return { model: `${dir}/${model}`, mmproj: `${dir}/${mmproj}` };
}

async function pngDataUrl(w: number, h: number): Promise<string> {
  const data = new Uint8Array(w * h * 3).map((_, i) => (i * 37) & 0xff);
  const png = await encodePng({ width: w, height: h, data });
  let s = "";
  for (const b of png) s += String.fromCharCode(b);
  return `data:image/png;base64,${btoa(s)}`;
}

export async function benchHttp(
  opts: BenchHttpOptions = {},
): Promise<{ markdown: string; rows: BenchHttpRow[] }> {
  const runs = opts.runs ?? 30;
  const maxTokens = opts.maxTokens ?? 8;
  const { model, mmproj } = pair(opts.modelDir ?? `${ROOT}tests/fixtures/generated/tiny`);
  const engine = await loadEngine({ modelPath: model, mmprojPath: mmproj, contextSize: 2048 });
  const config = { ...defaultServiceConfig(), logDir: "" };
  const app = createApp({
    engine: EngineHolder.ready(engine),
    config,
    images: createImageProcessor({ defaults: null }),
  });
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, app.fetch);
  const url = `http://127.0.0.1:${server.addr.port}/v1/chat/completions`;
  const image = await pngDataUrl(64, 64);
  const scenarios: { name: string; body: (stream: boolean) => string; stream: boolean }[] = [
    {
      name: "text, non-streaming",
      stream: false,
      body: () =>
        JSON.stringify({
          messages: [{ role: "user", content: "Hello" }],
          max_tokens: maxTokens,
          temperature: 0,
        }),
    },
    {
      name: "text, streaming (SSE)",
      stream: true,
      body: () =>
        JSON.stringify({
          messages: [{ role: "user", content: "Hello" }],
          max_tokens: maxTokens,
          temperature: 0,
          stream: true,
        }),
    },
    {
      name: "64x64 PNG image, non-streaming",
      stream: false,
      body: () =>
        JSON.stringify({
          messages: [{
            role: "user",
            content: [{ type: "text", text: "Describe" }, {
              type: "image_url",
              image_url: { url: image },
            }],
          }],
          max_tokens: maxTokens,
          temperature: 0,
        }),
    },
  ];
  const rows: BenchHttpRow[] = [];
  try {
    for (const sc of scenarios) {
      const e2e: number[] = [];
      const eng: number[] = [];
      const over: number[] = [];
      const img: number[] = [];
      for (let i = 0; i < runs + 3; i++) {
        const body = sc.body(sc.stream);
        const t0 = performance.now();
        const res = await fetch(url, {
          method: "POST",
          body,
          headers: { "content-type": "application/json" },
        });
        const text = await res.text();
        const ms = performance.now() - t0;
        if (res.status !== 200) throw new Error(`bench request failed: ${res.status} ${text}`);
        const timings = sc.stream
          ? text.split("\n\n").filter((e) => e.startsWith("data: {")).map((e) =>
            JSON.parse(e.slice(6))
          )
            .find((e) => e.timings).timings
          : JSON.parse(text).timings;
        const engineMs: number = timings.engine_total_ms;
        if (i < 3) continue; // warm-up
        e2e.push(ms);
        eng.push(engineMs);
        over.push(ms - engineMs);
        img.push(timings.image_preprocess_ms);
      }
      rows.push({
        scenario: sc.name,
        e2eMs: quantile(e2e, 0.5),
        engineMs: quantile(eng, 0.5),
        overheadMs: quantile(over, 0.5),
        overheadP90Ms: quantile(over, 0.9),
        imagePipelineMs: quantile(img, 0.5),
      });
    }
  } finally {
    await server.shutdown();
    await engine.close();
  }
  const f = (n: number) => n.toFixed(2);
  const date = new Date().toISOString().slice(0, 10);
  const markdown = [
    "## HTTP overhead",
    "",
    `Measured ${date} on this machine: the real app (Hono on Deno.serve) on 127.0.0.1 with the real engine and the tiny synthetic model, ${runs} requests per row after 3 warm-ups, ${maxTokens} completion tokens each, one request at a time. Overhead = client-side end-to-end latency (send → last byte) minus the engine's own total for that generation (\`timings.engine_total_ms\`: queue + tokenize + encode + prefill + decode). Target: < 5 ms median.`,
    "",
    "| scenario | e2e ms (median) | engine ms (median) | overhead ms (median) | overhead ms (p90) | of which image pipeline ms (median) | HTTP overhead without the image pipeline ms | target met |",
    "|---|---:|---:|---:|---:|---:|---:|:-:|",
    ...rows.map((r) => {
      const http = r.overheadMs - r.imagePipelineMs;
      return `| ${r.scenario} | ${f(r.e2eMs)} | ${f(r.engineMs)} | ${f(r.overheadMs)} | ${
        f(r.overheadP90Ms)
      } | ${f(r.imagePipelineMs)} | ${f(http)} | ${http < 5 ? "yes" : "no"} |`;
    }),
    "",
    "The image row's overhead is dominated by the image pipeline (src/image: decode, EXIF, crop, resize up to min_size 512, bilateral denoise, LAB), which runs in the HTTP process's pipeline worker threads before the engine; it is reported separately (`timings.image_preprocess_ms`) and benchmarked in its own section. The target applies to the HTTP layer itself.",
    "",
    "Alone: `deno run --allow-read --allow-write --allow-env --allow-ffi --allow-net=127.0.0.1 tools/bench/http.ts`.",
  ].join("\n");
  return { markdown, rows };
}

if (import.meta.main) {
  const { markdown } = await benchHttp({ runs: Number(Deno.args[0] ?? 30) });
  console.log(markdown);
  const { writeBenchmarksSection } = await import("./sections.ts");
  await writeBenchmarksSection("http", markdown);
}
