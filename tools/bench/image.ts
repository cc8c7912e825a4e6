/**
 * Image pipeline benchmark: each stage on a 1024x1024 image and the whole pipeline on a
 * 4032x3024 JPEG, beside OpenCV (python3-opencv) in the same run with the same thread count.
 *
 * Alone: deno run --allow-read --allow-write --allow-run=python3,/usr/bin/python3 --allow-env tools/bench/image.ts
 * (writes the "## Image pipeline" section of BENCHMARKS.md between its markers).
 */
import { encodeJpeg, encodePng, type RgbImage } from "../../src/image/codecs.ts";
import { defaultImageConfig } from "../../src/image/config.ts";
import { preprocessImage } from "../../src/image/pipeline.ts";
import { ImagePool } from "../../src/image/workers.ts";

export interface BenchImageOptions {
  /** Worker threads for us and cv2.setNumThreads for OpenCV. Default navigator.hardwareConcurrency. */
  threads?: number;
  /** Runs per measurement (median reported). Default 5. */
  runs?: number;
  /** Python with cv2; default: $OPENCV_PYTHON, then python3, then /usr/bin/python3. */
  python?: string;
}

export interface BenchImageRow {
  stage: string;
  oursMs: number;
  opencvMs: number | null;
  ratio: number | null;
  target: number | null;
  note: string;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1]!;
}

async function timeIt(runs: number, fn: () => Promise<unknown>): Promise<number> {
  await fn(); // warm-up (JIT, worker start)
  const t: number[] = [];
  for (let i = 0; i < runs; i++) {
    const s = performance.now();
    await fn();
    t.push(performance.now() - s);
  }
  return median(t);
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

const PY = `
import sys, time, json, cv2, numpy as np
threads, runs, d = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
cv2.setNumThreads(threads)
img = cv2.cvtColor(cv2.imread(d + '/square.png'), cv2.COLOR_BGR2RGB)
jpg = np.fromfile(d + '/photo.jpg', dtype=np.uint8)
def med(f):
    f(); t = []
    for _ in range(runs):
        s = time.perf_counter(); f(); t.append((time.perf_counter() - s) * 1000)
    return sorted(t)[len(t) // 2]
def lab_f32(x):
    lab = cv2.cvtColor(x.astype(np.float32) / 255, cv2.COLOR_RGB2Lab)
    lab[..., 0] = np.clip(lab[..., 0] * 1.2, 0, 100); lab[..., 1:] *= 1.1
    return np.rint(np.clip(cv2.cvtColor(lab, cv2.COLOR_Lab2RGB), 0, 1) * 255).astype(np.uint8)
def lab_u8(x):
    return cv2.cvtColor(cv2.cvtColor(x, cv2.COLOR_RGB2Lab), cv2.COLOR_Lab2RGB)
full = cv2.imdecode(jpg, cv2.IMREAD_COLOR)
def pipeline():
    a = cv2.imdecode(jpg, cv2.IMREAD_COLOR)
    a = cv2.resize(a, (1024, 768), interpolation=cv2.INTER_AREA)
    a = cv2.bilateralFilter(a, 9, 75, 75)
    return lab_f32(a)
out = {
  "bilateral": med(lambda: cv2.bilateralFilter(img, 9, 75, 75)),
  "lab_f32": med(lambda: lab_f32(img)),
  "lab_u8": med(lambda: lab_u8(img)),
  "resize": med(lambda: cv2.resize(full, (1024, 768), interpolation=cv2.INTER_AREA)),
  "decode": med(lambda: cv2.imdecode(jpg, cv2.IMREAD_COLOR)),
  "pipeline": med(pipeline),
  "version": cv2.__version__,
}
print(json.dumps(out))
`;

async function findPython(explicit?: string): Promise<string | null> {
  const candidates = [explicit, Deno.env.get("OPENCV_PYTHON"), "python3", "/usr/bin/python3"]
    .filter(
      (c): c is string => !!c,
    );
  for (const c of candidates) {
    try {
      const r = await new Deno.Command(c, {
        args: ["-c", "import cv2"],
        stdout: "null",
        stderr: "null",
      })
        .output();
      if (r.success) return c;
    } catch {
      // not there or not allowed
    }
  }
  return null;
}

export async function benchImage(
  opts: BenchImageOptions = {},
): Promise<{ markdown: string; rows: BenchImageRow[] }> {
  const threads = opts.threads ?? (navigator.hardwareConcurrency || 1);
  const runs = opts.runs ?? 5;
  const dir = await Deno.makeTempDir({ prefix: "bench-image-" });
  try {
    const square = syntheticPhoto(1024, 1024, 3);
    const photo = syntheticPhoto(4032, 3024, 7);
    const photoJpeg = await encodeJpeg(photo, 92);
    await Deno.writeFile(`${dir}/square.png`, await encodePng(square, 1));
    await Deno.writeFile(`${dir}/photo.jpg`, photoJpeg);

    using pool = new ImagePool(threads);
    const bp = { diameter: 9, sigmaColor: 75, sigmaSpace: 75 };
    const lp = { lBoost: 1.2, abBoost: 1.1 };
    const ours = {
      bilateral: await timeIt(runs, () => pool.bilateral(square, bp)),
      lab: await timeIt(runs, () => pool.lab(square, lp)),
      resize: await timeIt(runs, () => pool.resize(photo, 1024, 768)),
      pipeline: await timeIt(
        runs,
        () => preprocessImage(photoJpeg, defaultImageConfig(), { pool }),
      ),
      pipelineFull: await timeIt(
        runs,
        () => preprocessImage(photoJpeg, defaultImageConfig(), { pool, jpegDctScaling: false }),
      ),
    };
    const stageReport = (await preprocessImage(photoJpeg, defaultImageConfig(), { pool })).report;

    const python = await findPython(opts.python);
    let cv: Record<string, number> | null = null;
    let cvVersion = "n/a";
    if (python) {
      const r = await new Deno.Command(python, {
        args: ["-c", PY, String(threads), String(runs), dir],
        stdout: "piped",
        stderr: "piped",
      }).output();
      if (r.success) {
        const parsed = JSON.parse(new TextDecoder().decode(r.stdout));
        cvVersion = parsed.version;
        cv = parsed;
      } else {
        console.error(new TextDecoder().decode(r.stderr));
      }
    }
    const row = (
      stage: string,
      o: number,
      c: number | null | undefined,
      target: number | null,
      note: string,
    ) => ({
      stage,
      oursMs: o,
      opencvMs: c ?? null,
      ratio: c ? o / c : null,
      target,
      note,
    });
    const rows: BenchImageRow[] = [
      row(
        "bilateral d=9 sc=75 ss=75, 1024x1024",
        ours.bilateral,
        cv?.bilateral,
        5,
        "vs cv2.bilateralFilter",
      ),
      row(
        "LAB round trip (float path), 1024x1024",
        ours.lab,
        cv?.lab_f32,
        3,
        "vs cvtColor f32 + boost",
      ),
      row(
        "LAB round trip vs OpenCV 8-bit path",
        ours.lab,
        cv?.lab_u8,
        3,
        "vs cvtColor u8 (no boost)",
      ),
      row("resize 4032x3024 -> 1024x768 (area)", ours.resize, cv?.resize, 3, "vs INTER_AREA"),
      row(
        "whole pipeline, 4032x3024 JPEG (DCT-scaled decode)",
        ours.pipeline,
        cv?.pipeline,
        4,
        "vs imdecode+resize+bilateral+LAB",
      ),
      row(
        "whole pipeline, 4032x3024 JPEG (full decode)",
        ours.pipelineFull,
        cv?.pipeline,
        4,
        "same, our JPEG decoded at full size",
      ),
    ];
    const f = (v: number | null, d = 1) => (v === null ? "n/a" : v.toFixed(d));
    const lines = [
      "## Image pipeline",
      "",
      `Measured ${
        new Date().toISOString().slice(0, 10)
      } on this machine (${threads} worker thread(s) for us, ` +
      `cv2.setNumThreads(${threads}) for OpenCV ${cvVersion}); median of ${runs} after one warm-up. ` +
      "Inputs are deterministic synthetic photos (`syntheticPhoto()` in tools/bench/image.ts); the 12 MP JPEG " +
      `is ${(photoJpeg.length / 1e6).toFixed(2)} MB (q92, our encoder).`,
      "",
      "| stage | ours ms | OpenCV ms | ratio | target | met | note |",
      "|---|---:|---:|---:|---:|:-:|---|",
      ...rows.map((r) =>
        `| ${r.stage} | ${f(r.oursMs)} | ${f(r.opencvMs)} | ${f(r.ratio, 2)}x | <= ${r.target}x | ${
          r.ratio === null ? "?" : r.ratio <= r.target! ? "yes" : "no"
        } | ${r.note} |`
      ),
      "",
      `Per-stage split of one DCT-scaled pipeline run (ms): ${
        Object.entries(stageReport.stagesMs).map(([k, v]) => `${k} ${v.toFixed(1)}`).join(", ")
      }.`,
      "",
      "Commands: `deno task bench` (all benchmarks), or this section alone:",
      "`deno run --allow-read --allow-write --allow-run=python3,/usr/bin/python3 --allow-env tools/bench/image.ts`.",
      "OpenCV needs Debian's `python3-opencv` (`apt-get install python3-opencv`); set OPENCV_PYTHON to pick the",
      "interpreter. Without it the OpenCV column reads n/a.",
    ];
    return { markdown: lines.join("\n") + "\n", rows };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) {
  const { markdown } = await benchImage();
  console.log(markdown);
  const { writeBenchmarksSection } = await import("./sections.ts");
  await writeBenchmarksSection("image", markdown);
}
