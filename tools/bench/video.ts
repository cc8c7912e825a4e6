/**
 * `deno run -A tools/bench/video.ts` (or `deno task bench:video`): time from upload to first
 * token for a 10 s clip at SmolVLM2's default sampling (1 fps → 10 frames) on the synthetic 500m
 * model, through the real HTTP app in-process (`video_url`, streamed), and where it goes:
 * decode (ffprobe + ffmpeg), preprocessing (the image pipeline per frame), encode (vision
 * encoder, 10 passes), prefill. Each run uses a fresh system line and no embedding cache, so no
 * run reuses another's work. Rewrites the `video` section of BENCHMARKS.md.
 */
import { closeSharedIsolatedPipeline } from "../../src/image/isolated.ts";
import { defaultServiceConfig } from "../../src/config/service_config.ts";
import { loadEngine } from "../../src/engine/mod.ts";
import { createApp } from "../../src/http/app.ts";
import { EngineHolder } from "../../src/http/engine_state.ts";
import { createImageProcessor } from "../../src/http/image_adapter.ts";
import {
  decodeClip,
  DEFAULT_VIDEO_CONFIG,
  FfmpegDecoder,
  locateDecoder,
} from "../../src/video/mod.ts";
import { fixturePaths } from "../gguf/cli.ts";

/** Runs per figure (median); BENCH_VIDEO_RUNS overrides. */
const RUNS = Number(Deno.env.get("BENCH_VIDEO_RUNS") ?? 3);

async function makeClip(decoder: FfmpegDecoder): Promise<Uint8Array> {
  const dir = await Deno.makeTempDir({ prefix: "smolvlm-bench-video-" });
  try {
    const out = `${dir}/clip.mp4`;
    const { success, stderr } = await new Deno.Command(decoder.paths.ffmpeg, {
      args: ["-v", "error", "-y", "-f", "lavfi", "-i", "testsrc=size=640x360:rate=30", "-t", "10"]
        .concat(["-c:v", "libx264", "-pix_fmt", "yuv420p", out]),
      stderr: "piped",
    }).output();
    if (!success) throw new Error(new TextDecoder().decode(stderr));
    return await Deno.readFile(out);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

export async function benchVideo(): Promise<{ markdown: string }> {
  const paths = locateDecoder();
  if (!paths) throw new Error("ffmpeg is missing: run `sh tools/provision.sh`");
  const decoder = new FfmpegDecoder(paths);
  const clip = await makeClip(decoder);
  const { model, mmproj } = fixturePaths("500m");
  await using engine = await loadEngine({
    modelPath: model,
    mmprojPath: mmproj,
    contextSize: 4096,
    imageCacheBytes: 0,
    nativeLog: "silent",
  });
  // Frames are decoded at the model's own tile side, as the API does.
  const tileSize = engine.info.facts.vision?.tileSize;
  if (tileSize === undefined) throw new Error(`${mmproj} gives no vision tile size`);
  // A 500m encoder pass is slow on a small CPU: the request timeout must not cut the run.
  const config = { ...defaultServiceConfig(), logDir: "", timeoutMs: 900_000 };
  const app = createApp({
    engine: EngineHolder.ready(engine),
    config,
    images: createImageProcessor({ defaults: config.imageProcessing }),
    video: { decoder, config: DEFAULT_VIDEO_CONFIG },
  });
  let b64 = "";
  for (let i = 0; i < clip.length; i += 0x8000) {
    b64 += String.fromCharCode(...clip.subarray(i, i + 0x8000));
  }
  const url = `data:video/mp4;base64,${btoa(b64)}`;
  const rows: Record<string, number>[] = [];
  for (let run = 0; run < RUNS; run++) {
    // ffmpeg alone on the same bytes: the decode share of image_preprocess_ms.
    const decoded = await decodeClip(
      { decoder, config: DEFAULT_VIDEO_CONFIG },
      clip,
      "video/mp4",
      tileSize,
    );
    const t0 = performance.now();
    const res = await app.request("/v1/chat/completions", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        messages: [
          { role: "system", content: `Run ${run} at ${Date.now()}.` },
          {
            role: "user",
            content: [{ type: "video_url", video_url: { url } }, {
              type: "text",
              text: "What happens?",
            }],
          },
        ],
        max_tokens: 8,
        temperature: 0,
        stream: true,
      }),
    });
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = "";
    let ttft = NaN;
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      text += value;
      if (Number.isNaN(ttft) && /"content":"[^"]/.test(text)) ttft = performance.now() - t0;
    }
    const timings = [...text.matchAll(/"timings":(\{[^}]*\})/g)].map((m) => JSON.parse(m[1]!))
      .at(-1);
    if (!timings) throw new Error(`no timings in the stream: ${text.slice(0, 400)}`);
    const decodeMs = decoded.probeMs + decoded.decodeMs;
    rows.push({
      ttft,
      decode: decodeMs,
      preprocess: timings.image_preprocess_ms - decodeMs + timings.tokenize_ms,
      encode: timings.encode_ms,
      prefill: timings.prefill_ms,
      frames: decoded.frames.length,
    });
  }
  const m = (k: string) => median(rows.map((r) => r[k]!)).toFixed(0);
  console.error(JSON.stringify(rows));
  let cpu: string | undefined;
  try {
    cpu = (Deno.readTextFileSync("/proc/cpuinfo").match(/model name\s*:\s*(.*)/) ?? [])[1];
  } catch {
    cpu = undefined; // /proc needs --allow-all under some Deno versions
  }
  const markdown = [
    "## Video: upload to first token (500m preset, f16)",
    "",
    `A 10 s 640x360 h264 clip (ffmpeg testsrc) sent as \`video_url\` to the in-process app, ` +
    `streamed; SmolVLM2's default sampling gives ${rows[0]!.frames} frames of 512x512, one ` +
    `encoder pass each (64 tokens). Median of ${RUNS} runs, no embedding cache, no KV reuse. ` +
    `${cpu ?? "CPU"}, ${navigator.hardwareConcurrency} threads visible.`,
    "",
    "| upload → first token | decode (ffprobe + ffmpeg) | preprocessing (pipeline + tokenize) | encode (10 passes) | prefill |",
    "|---:|---:|---:|---:|---:|",
    `| ${m("ttft")} ms | ${m("decode")} ms | ${m("preprocess")} ms | ${m("encode")} ms | ${
      m("prefill")
    } ms |`,
    "",
    "Decode is measured on the same bytes just before each request (ffmpeg's share of the " +
    "server's `image_preprocess_ms`, so the preprocessing column is approximate); the rest " +
    `comes from the response's \`timings\`. Load average when done: ${loadAverage()}.`,
  ].join("\n");
  return { markdown };
}

if (import.meta.main) {
  const { markdown } = await benchVideo();
  const { writeBenchmarksSection } = await import("./sections.ts");
  await writeBenchmarksSection("video", markdown);
  console.log(markdown);
  closeSharedIsolatedPipeline(); // its live image workers would keep the process up
}

function loadAverage(): string {
  try {
    return Deno.loadavg().map((n) => n.toFixed(2)).join(" / ");
  } catch {
    return "n/a";
  }
}
