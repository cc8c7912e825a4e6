/**
 * Image pipeline benchmark beside OpenCV (python3-opencv) in the same run: each kernel at 1, 2
 * and all threads (our ImagePool workers vs cv2.setNumThreads), the JPEG codecs (ours against
 * imagescript's decoder, mozjpeg's encoder and OpenCV's), the whole 12 MP JPEG pipeline, and the
 * 1024x1024 webcam case in absolute milliseconds.
 *
 * `deno task bench image`, or alone (no native build needed):
 *   deno run --allow-read --allow-write --allow-run --allow-env --allow-sys=loadavg tools/bench/image.ts [--runs N] [--threads 2]
 * (writes the "## Image pipeline" section of BENCHMARKS.md between its markers).
 */
import { createRequire } from "node:module";
import process from "node:process";
import {
  decodeFormat,
  decodeJpegImagescript,
  encodeJpeg,
  encodePng,
  type RgbImage,
} from "../../src/image/codecs.ts";
import { bilateralFilter, type BilateralParams } from "../../src/image/bilateral.ts";
import { defaultImageConfig } from "../../src/image/config.ts";
import { labBalance, type LabParams } from "../../src/image/lab.ts";
import { resize } from "../../src/image/resize.ts";
import { preprocessImage } from "../../src/image/pipeline.ts";
import { ImagePool } from "../../src/image/workers.ts";

export interface BenchImageOptions {
  /** The thread count the targets are judged at (ours and OpenCV's). Default 2. */
  threads?: number;
  /** Runs per measurement (median reported). Default 7. */
  runs?: number;
  /** Python with cv2; default: $OPENCV_PYTHON, then python3, then /usr/bin/python3. */
  python?: string;
}

export interface BenchImageRow {
  stage: string;
  threads: number;
  oursMs: number;
  opencvMs: number | null;
  ratio: number | null;
  /** Ratio target (ours / OpenCV), null where the row is informative. */
  target: number | null;
  note: string;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1]!;
}

/**
 * Medians of ours and OpenCV's times for one stage, runs alternating (ours, then OpenCV) after
 * one warm-up each, so both see the same machine load.
 */
async function paired(
  runs: number,
  ours: () => unknown,
  cv: OpenCv | null,
  stage: string,
  threads: number,
  cpu = false,
): Promise<[number, number | null]> {
  await ours(); // warm-up (JIT, worker start, wasm instantiation)
  if (cv) await cv.run(stage, threads, cpu);
  const a: number[] = [], b: number[] = [];
  for (let i = 0; i < runs; i++) {
    if (cpu) {
      const c = process.cpuUsage();
      await ours();
      const d = process.cpuUsage(c);
      a.push((d.user + d.system) / 1000);
    } else {
      const s = performance.now();
      await ours();
      a.push(performance.now() - s);
    }
    if (cv) b.push(await cv.run(stage, threads, cpu));
  }
  return [median(a), cv ? median(b) : null];
}

async function timeIt(runs: number, fn: () => unknown): Promise<number> {
  return (await paired(runs, fn, null, "", 1))[0];
}

/** Deterministic photo-like RGB: smooth colour fields, edges, texture and mild noise. */
export function syntheticPhoto(width: number, height: number, seed = 11): RgbImage {
  const data = new Uint8Array(width * height * 3);
  let s = seed >>> 0;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      const n = ((s >>> 24) - 128) / 16;
      const u = x / width, v = y / height;
      const disc = (u - 0.6) ** 2 + (v - 0.45) ** 2 < 0.04 ? 60 : 0;
      const stripes = ((x >> 5) + (y >> 6)) & 1 ? 12 : -12;
      const p = (y * width + x) * 3;
      data[p] = clamp(90 + 100 * u + disc + stripes + n);
      data[p + 1] = clamp(70 + 120 * v * (1 - u) + 40 * Math.sin(x / 37) + n);
      data[p + 2] = clamp(160 - 90 * v + 30 * Math.cos(y / 23) - disc / 2 + n);
    }
  }
  return { width, height, data };
}
function clamp(v: number): number {
  return v < 0 ? 0 : v > 255 ? 255 : v | 0;
}

// The OpenCV side: a persistent python process over the same inputs (written by us). Each line
// "<stage> <threads>" runs that stage once at that thread count and answers its milliseconds,
// so OpenCV and our runs alternate and see the same machine load.
const PY = `
import sys, time, cv2, numpy as np
d = sys.argv[1]
img = cv2.cvtColor(cv2.imread(d + '/square.png'), cv2.COLOR_BGR2RGB)
jpg = np.fromfile(d + '/photo.jpg', dtype=np.uint8)
cam = np.fromfile(d + '/webcam.jpg', dtype=np.uint8)
full = cv2.imdecode(jpg, cv2.IMREAD_COLOR)
def lab_f32(x):
    lab = cv2.cvtColor(x.astype(np.float32) / 255, cv2.COLOR_RGB2Lab)
    lab[..., 0] = np.clip(lab[..., 0] * 1.2, 0, 100); lab[..., 1:] *= 1.1
    return np.rint(np.clip(cv2.cvtColor(lab, cv2.COLOR_Lab2RGB), 0, 1) * 255).astype(np.uint8)
def lab_u8(x):
    return cv2.cvtColor(cv2.cvtColor(x, cv2.COLOR_RGB2Lab), cv2.COLOR_Lab2RGB)
def pipeline():
    a = cv2.imdecode(jpg, cv2.IMREAD_COLOR)
    a = cv2.resize(a, (1024, 768), interpolation=cv2.INTER_AREA)
    a = cv2.bilateralFilter(a, 9, 75, 75)
    return lab_f32(a)
def webcam():
    a = cv2.imdecode(cam, cv2.IMREAD_COLOR)
    a = cv2.bilateralFilter(a, 9, 75, 75)
    a = lab_f32(a)
    return cv2.imencode('.jpg', a, [cv2.IMWRITE_JPEG_QUALITY, 95, cv2.IMWRITE_JPEG_OPTIMIZE, 1])
Q95 = [cv2.IMWRITE_JPEG_QUALITY, 95, cv2.IMWRITE_JPEG_OPTIMIZE, 1]
stages = {
  "bilateral": lambda: cv2.bilateralFilter(img, 9, 75, 75),
  "lab_f32": lambda: lab_f32(img),
  "lab_u8": lambda: lab_u8(img),
  "resize": lambda: cv2.resize(full, (1024, 768), interpolation=cv2.INTER_AREA),
  "pipeline": pipeline,
  "webcam": webcam,
  "decode": lambda: cv2.imdecode(jpg, cv2.IMREAD_COLOR),
  "decode_half": lambda: cv2.imdecode(jpg, cv2.IMREAD_REDUCED_COLOR_2),
  "encode": lambda: cv2.imencode('.jpg', img, Q95),
}
print(cv2.__version__, flush=True)
for line in sys.stdin:
    name, threads, clock = line.split()
    cv2.setNumThreads(int(threads))
    now = time.process_time if clock == 'cpu' else time.perf_counter
    s = now(); stages[name](); ms = (now() - s) * 1000
    print(ms, flush=True)
`;

/** A running OpenCV helper: `run(stage, threads)` times one run of that stage. */
interface OpenCv {
  version: string;
  /** Milliseconds of one run: wall clock, or with `cpu` the process's CPU time. */
  run(stage: string, threads: number, cpu?: boolean): Promise<number>;
  close(): Promise<void>;
}

async function startOpenCv(python: string, dir: string): Promise<OpenCv | null> {
  const child = new Deno.Command(python, {
    args: ["-c", PY, dir],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const text = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const writer = child.stdin.getWriter();
  const enc = new TextEncoder();
  let pending = "";
  // One answer per line (JSR's TextLineStream is not reachable from here; this is all it takes).
  const next = async (): Promise<string> => {
    while (!pending.includes("\n")) {
      const r = await text.read();
      if (r.done) throw new Error("OpenCV helper exited");
      pending += r.value;
    }
    const i = pending.indexOf("\n");
    const line = pending.slice(0, i);
    pending = pending.slice(i + 1);
    return line;
  };
  let version: string;
  try {
    version = await next();
  } catch {
    return null;
  }
  return {
    version,
    async run(stage, threads, cpu = false) {
      await writer.write(enc.encode(`${stage} ${threads} ${cpu ? "cpu" : "wall"}\n`));
      return Number(await next());
    },
    async close() {
      await writer.close();
      await child.status;
    },
  };
}

async function findPython(explicit?: string): Promise<string | null> {
  const candidates = [explicit, Deno.env.get("OPENCV_PYTHON"), "python3", "/usr/bin/python3"]
    .filter((c): c is string => !!c);
  for (const c of candidates) {
    try {
      const r = await new Deno.Command(c, {
        args: ["-c", "import cv2"],
        stdout: "null",
        stderr: "null",
      }).output();
      if (r.success) return c;
    } catch {
      // not there or not allowed
    }
  }
  return null;
}

/** The pool's stage API run inline on the calling thread (the 1-thread rows). */
const inlineStages = {
  bilateral: (img: RgbImage, p: BilateralParams) =>
    Promise.resolve({ ...img, data: bilateralFilter(img.data, img.width, img.height, p) }),
  lab: (img: RgbImage, p: LabParams) => Promise.resolve({ ...img, data: labBalance(img.data, p) }),
  resize: (img: RgbImage, width: number, height: number) =>
    Promise.resolve({
      width,
      height,
      data: resize(img.data, img.width, img.height, width, height),
    }),
};

/** mozjpeg's wasm encoder (@jsquash/jpeg), baseline + optimized Huffman like ours, or null. */
async function mozjpegEncoder(): Promise<((img: RgbImage) => Promise<Uint8Array>) | null> {
  try {
    const { default: encode, init } = await import("@jsquash/jpeg/encode.js");
    const wasmPath = createRequire(import.meta.url).resolve(
      "@jsquash/jpeg/codec/enc/mozjpeg_enc.wasm",
    );
    await init(await WebAssembly.compile(await Deno.readFile(wasmPath)));
    return async (img) => {
      const rgba = new Uint8ClampedArray(img.width * img.height * 4);
      for (let i = 0, j = 0; i < img.data.length; i += 3, j += 4) {
        rgba[j] = img.data[i]!;
        rgba[j + 1] = img.data[i + 1]!;
        rgba[j + 2] = img.data[i + 2]!;
        rgba[j + 3] = 255;
      }
      const out = await encode(
        { data: rgba, width: img.width, height: img.height, colorSpace: "srgb" } as ImageData,
        { quality: 95, baseline: true, progressive: false, optimize_coding: true },
      );
      return new Uint8Array(out);
    };
  } catch (e) {
    console.error(`mozjpeg encoder unavailable: ${e}`);
    return null;
  }
}

export async function benchImage(
  opts: BenchImageOptions = {},
): Promise<{ markdown: string; rows: BenchImageRow[] }> {
  const judged = opts.threads ?? 2;
  const all = navigator.hardwareConcurrency || 1;
  const threadList = [...new Set([1, judged, all])].sort((a, b) => a - b);
  const runs = opts.runs ?? 7;
  const dir = await Deno.makeTempDir({ prefix: "bench-image-" });
  try {
    const square = syntheticPhoto(1024, 1024, 3);
    const photo = syntheticPhoto(4032, 3024, 7);
    const photoJpeg = await encodeJpeg(photo, 92);
    const webcamJpeg = await encodeJpeg(square, 90);
    await Deno.writeFile(`${dir}/square.png`, await encodePng(square, 1));
    await Deno.writeFile(`${dir}/photo.jpg`, photoJpeg);
    await Deno.writeFile(`${dir}/webcam.jpg`, webcamJpeg);

    const python = await findPython(opts.python);
    const cv = python ? await startOpenCv(python, dir) : null;
    const rows: BenchImageRow[] = [];
    const row = (
      stage: string,
      threads: number,
      ours: number,
      opencv: number | null | undefined,
      target: number | null,
      note: string,
    ) => {
      const o = opencv ?? null;
      rows.push({
        stage,
        threads,
        oursMs: ours,
        opencvMs: o,
        ratio: o ? ours / o : null,
        target,
        note,
      });
    };

    const bp = { diameter: 9, sigmaColor: 75, sigmaSpace: 75 };
    const lp = { lBoost: 1.2, abBoost: 1.1 };
    const cfg = defaultImageConfig();
    const webcamCfg = { ...defaultImageConfig(), smart_crop: false };
    let stageReport: Record<string, number> = {};
    let webcamStages: Record<string, number> = {};
    for (const t of threadList) {
      // One thread: the kernels inline on the calling thread, as OpenCV's single-thread path.
      using workers = t > 1 ? new ImagePool(t) : null;
      const pool = workers ?? inlineStages;
      const target = (x: number) => (t === judged ? x : null);
      const m = (stage: string, fn: () => unknown) => paired(runs, fn, cv, stage, t);
      const [bil, cvBil] = await m("bilateral", () => pool.bilateral(square, bp));
      row(
        "bilateral d=9 sc=75 ss=75, 1024x1024",
        t,
        bil,
        cvBil,
        target(2),
        "vs cv2.bilateralFilter",
      );
      const [lab, cvLab8] = await m("lab_u8", () => pool.lab(square, lp));
      row("LAB boost round trip, 1024x1024", t, lab, cvLab8, target(2), "vs cvtColor 8-bit path");
      const [lab2, cvLabF] = await m("lab_f32", () => pool.lab(square, lp));
      row("LAB boost round trip, 1024x1024", t, lab2, cvLabF, null, "vs cvtColor float path");
      const [rs, cvRs] = await m("resize", () => pool.resize(photo, 1024, 768));
      row("resize 4032x3024 -> 1024x768 (area)", t, rs, cvRs, target(2), "vs INTER_AREA");
      const [pl, cvPl] = await m(
        "pipeline",
        () => preprocessImage(photoJpeg, cfg, { pool: workers }),
      );
      row(
        "whole pipeline, 4032x3024 JPEG (DCT-scaled decode)",
        t,
        pl,
        cvPl,
        target(1.5),
        "vs imdecode+resize+bilateral+LAB",
      );
      const [plFull, cvPl2] = await m(
        "pipeline",
        () => preprocessImage(photoJpeg, cfg, { pool: workers, jpegDctScaling: false }),
      );
      row(
        "whole pipeline, 4032x3024 JPEG (full decode)",
        t,
        plFull,
        cvPl2,
        null,
        "same, decoded at full size",
      );
      const [cam, cvCam] = await m(
        "webcam",
        () => preprocessImage(webcamJpeg, webcamCfg, { pool: workers, output: "jpeg" }),
      );
      row(
        "webcam 1024x1024 JPEG: decode+denoise+LAB+JPEG q95",
        t,
        cam,
        cvCam,
        null,
        "absolute ms; no crop/resize",
      );
      if (t === judged) {
        stageReport = (await preprocessImage(photoJpeg, cfg, { pool: workers })).report.stagesMs;
        webcamStages =
          (await preprocessImage(webcamJpeg, webcamCfg, { pool: workers, output: "jpeg" }))
            .report.stagesMs;
      }
    }

    // CPU time of one thread (ours inline, OpenCV at setNumThreads(1)): what each side spends,
    // largely independent of how busy the machine is.
    const cpu1 = (stage: string, fn: () => unknown) => paired(runs, fn, cv, stage, 1, true);
    for (
      const [label, stage, fn] of [
        ["bilateral 1024x1024, CPU time", "bilateral", () => inlineStages.bilateral(square, bp)],
        ["LAB 1024x1024 vs 8-bit path, CPU time", "lab_u8", () => inlineStages.lab(square, lp)],
        [
          "resize 12 MP -> 1024x768, CPU time",
          "resize",
          () => inlineStages.resize(photo, 1024, 768),
        ],
        ["JPEG encode 1024x1024 q95, CPU time", "encode", () => encodeJpeg(square, 95, true)],
      ] as const
    ) {
      const [o, c] = await cpu1(stage, fn);
      row(label, 1, o, c, null, "process CPU ms, one thread");
    }

    // Codecs, one thread each (the decoders are single-threaded).
    const half = { width: 2016, height: 1512 };
    const c1 = (stage: string, fn: () => unknown) => paired(runs, fn, cv, stage, 1);
    const [turbo, cvDecode] = await c1("decode", () => decodeFormat(photoJpeg, "jpeg"));
    const [turboHalf, cvHalf] = await c1(
      "decode_half",
      () => decodeFormat(photoJpeg, "jpeg", half),
    );
    const imagescript = await timeIt(runs, () => decodeJpegImagescript(photoJpeg));
    const imagescriptHalf = await timeIt(runs, () => decodeJpegImagescript(photoJpeg, half));
    const [oursEnc, cvEncode] = await c1("encode", () => encodeJpeg(square, 95, true));
    const codecs = { turbo, turboHalf, imagescript, imagescriptHalf, ours: oursEnc };
    const moz = await mozjpegEncoder();
    const mozMs = moz ? await timeIt(runs, () => moz(square)) : null;
    const oursBytes = (await encodeJpeg(square, 95, true)).length;
    const mozBytes = moz ? (await moz(square)).length : null;
    await cv?.close();
    row("JPEG decode 12 MP, libjpeg-turbo wasm (used)", 1, turbo, cvDecode, null, "vs imdecode");
    row(
      "JPEG decode 12 MP, imagescript wasm (before)",
      1,
      imagescript,
      cvDecode,
      null,
      "vs imdecode",
    );
    row(
      "JPEG decode 12 MP at 1/2, libjpeg-turbo (used)",
      1,
      turboHalf,
      cvHalf,
      null,
      "vs IMREAD_REDUCED_COLOR_2",
    );
    row(
      "JPEG decode 12 MP at 1/2, imagescript (before)",
      1,
      imagescriptHalf,
      cvHalf,
      null,
      "vs IMREAD_REDUCED_COLOR_2",
    );
    row(
      "JPEG encode 1024x1024 q95, ours (used)",
      1,
      oursEnc,
      cvEncode,
      null,
      `${oursBytes} B; vs imencode`,
    );
    if (mozMs !== null) {
      row(
        "JPEG encode 1024x1024 q95, mozjpeg wasm",
        1,
        mozMs,
        cvEncode,
        null,
        `${mozBytes} B; @jsquash/jpeg, baseline`,
      );
    }

    const f = (v: number | null, d = 1) => (v === null ? "n/a" : v.toFixed(d));
    const load = loadAverage();
    const lines = [
      "## Image pipeline",
      "",
      `Measured ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC on this machine ` +
      `(${all} cores${load ? `, load average ${load} when done` : ""}; absolute figures vary ` +
      "with the machine and its load, the alternating runs keep the ratios fair) beside OpenCV " +
      `${
        cv?.version ?? "n/a (python3-opencv missing)"
      } in the same run, runs alternating. Threads: our ImagePool ` +
      "workers (wasm SIMD kernels, rows claimed over shared memory; at 1 thread everything runs inline " +
      "on the calling thread) vs `cv2.setNumThreads`; median of " +
      `${runs} after one warm-up. Targets are judged at ${judged} threads. Inputs are deterministic ` +
      "synthetic photos (`syntheticPhoto()` in tools/bench/image.ts); the 12 MP JPEG is " +
      `${(photoJpeg.length / 1e6).toFixed(2)} MB (q92, our encoder), the webcam JPEG ` +
      `${(webcamJpeg.length / 1e3).toFixed(0)} kB (q90).`,
      "",
      "Ours: the hot kernels (bilateral, LAB, area resize, the JPEG encoder's DCT and entropy " +
      "coding) are AssemblyScript compiled to WebAssembly SIMD (src/image/kernels/assembly/), " +
      "embedded as base64 and rebuilt by `deno task kernels`; JPEG decoding is libjpeg-turbo's " +
      "wasm build (npm @cwasm/jpeg-turbo, embedded the same way) with DCT-domain scaling. " +
      "When the other jobs keep the second core busy, a second thread helps neither side much.",
      "",
      "| stage | threads | ours ms | OpenCV ms | ratio | target | met | note |",
      "|---|---:|---:|---:|---:|---:|:-:|---|",
      ...rows.map((r) =>
        `| ${r.stage} | ${r.threads} | ${f(r.oursMs)} | ${f(r.opencvMs)} | ${f(r.ratio, 2)}x | ${
          r.target === null ? "" : `<= ${r.target}x`
        } | ${
          r.target === null ? "" : r.ratio === null ? "?" : r.ratio <= r.target ? "yes" : "no"
        } | ${r.note} |`
      ),
      "",
      `Per-stage split of one 12 MP pipeline run at ${judged} threads (ms): ${split(stageReport)}.`,
      `Webcam run at ${judged} threads (ms): ${split(webcamStages)}.`,
      "",
      `Codecs: libjpeg-turbo (wasm) decodes the 12 MP JPEG ${
        (codecs.imagescript / codecs.turbo).toFixed(2)
      }x faster than imagescript's decoder at full size and ${
        (codecs.imagescriptHalf / codecs.turboHalf).toFixed(2)
      }x at 1/2 (DCT-scaled, what the pipeline uses), so it is the decoder (imagescript stays as ` +
      "the fallback for CMYK and data libjpeg-turbo refuses). " +
      (mozMs === null
        ? "mozjpeg's encoder could not be loaded for comparison."
        : `Our JPEG encoder is ${(mozMs / codecs.ours).toFixed(2)}x faster than mozjpeg's wasm ` +
          `build at q95 (${oursBytes} vs ${mozBytes} bytes), so it stays.`),
      "",
      "Commands: `deno task bench image`, or alone (no native build needed):",
      "`deno run --allow-read --allow-write --allow-run --allow-env --allow-sys=loadavg tools/bench/image.ts [--runs N] [--threads N]`.",
      "OpenCV comes from Debian's `python3-opencv` (`apt-get install python3-opencv`); set OPENCV_PYTHON to pick",
      "the interpreter. Without it the OpenCV column reads n/a.",
    ];
    return { markdown: lines.join("\n") + "\n", rows };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** The 1/5/15-minute load averages, to say how busy the machine was (needs --allow-sys). */
function loadAverage(): string | null {
  try {
    return Deno.loadavg().map((v) => v.toFixed(2)).join(" / ");
  } catch {
    return null;
  }
}

function split(stages: Record<string, number>): string {
  return Object.entries(stages).map(([k, v]) => `${k} ${v.toFixed(1)}`).join(", ");
}

function flag(name: string): number | undefined {
  const i = Deno.args.indexOf(name);
  return i >= 0 ? Number(Deno.args[i + 1]) : undefined;
}

if (import.meta.main) {
  const { markdown } = await benchImage({ runs: flag("--runs"), threads: flag("--threads") });
  console.log(markdown);
  const { writeBenchmarksSection } = await import("./sections.ts");
  await writeBenchmarksSection("image", markdown);
}
