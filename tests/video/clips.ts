/** Test clips made with ffmpeg's lavfi test source, inside the test that needs them. */
import { FfmpegDecoder, locateDecoder } from "../../src/video/mod.ts";

/** The decoder the tests use; fails with the fix when ffmpeg is missing. */
export function testDecoder(): FfmpegDecoder {
  const paths = locateDecoder();
  if (!paths) {
    throw new Error(
      "ffmpeg and ffprobe are missing: run `sh tools/provision.sh` (or apt-get install ffmpeg)",
    );
  }
  return new FfmpegDecoder(paths);
}

/** The decoder with its memory cap enforced; fails with the fix when prlimit is missing. */
export function cappedDecoder(): FfmpegDecoder {
  const decoder = testDecoder();
  if (!decoder.memoryCapped) {
    throw new Error("prlimit is missing: apt-get install util-linux (or set PRLIMIT_PATH)");
  }
  return decoder;
}

/**
 * Runs ffmpeg in a fresh temp dir: `prepare(dir)` writes its inputs and returns its arguments
 * after `-v error`; the file it writes to `dir/output` is returned.
 */
async function ffmpegOutput(
  output: string,
  prepare: (dir: string) => Promise<string[]> | string[],
): Promise<Uint8Array> {
  const dir = await Deno.makeTempDir({ prefix: "smolvlm-video-test-" });
  try {
    const args = await prepare(dir);
    const { success, stderr } = await new Deno.Command(testDecoder().paths.ffmpeg, {
      args: ["-v", "error", ...args, `${dir}/${output}`],
      stdout: "null",
      stderr: "piped",
    }).output();
    if (!success) throw new Error(`ffmpeg failed: ${new TextDecoder().decode(stderr)}`);
    return await Deno.readFile(`${dir}/${output}`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/**
 * A `seconds` long testsrc clip (`rate` fps, `size` like 160x120) as mp4 (h264) or webm (vp8,
 * encoded with libvpx's `deadline`, realtime unless told); plain grey with `source: "color"`,
 * which encodes a huge frame quickly.
 */
export function makeClip(
  seconds: number,
  opts: {
    container?: "mp4" | "webm";
    rate?: number;
    size?: string;
    deadline?: "realtime" | "good";
    source?: "testsrc" | "color";
  } = {},
): Promise<Uint8Array> {
  const container = opts.container ?? "mp4";
  const codec = container === "mp4"
    ? ["-c:v", "libx264", "-pix_fmt", "yuv420p", "-preset", "ultrafast"]
    : ["-c:v", "libvpx", "-deadline", opts.deadline ?? "realtime", "-b:v", "200k"];
  return ffmpegOutput(`clip.${container}`, () => [
    "-y",
    "-f",
    "lavfi",
    "-i",
    `${opts.source === "color" ? "color=c=gray:" : "testsrc="}size=${opts.size ?? "160x120"}:rate=${
      opts.rate ?? 10
    }`,
    "-t",
    String(seconds),
    ...codec,
  ]);
}

export function dataUrl(mime: string, bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return `data:${mime};base64,${btoa(s)}`;
}

/**
 * `bytes` (an mp4) cut at `startSeconds` without re-encoding: ffmpeg keeps the packets from the
 * keyframe before the cut and writes an edit list that hides those before it, as phones do.
 */
export function cutClip(bytes: Uint8Array, startSeconds: number): Promise<Uint8Array> {
  return ffmpegOutput("out.mp4", async (dir) => {
    await Deno.writeFile(`${dir}/in.mp4`, bytes);
    return ["-ss", String(startSeconds), "-i", `${dir}/in.mp4`, "-c", "copy"];
  });
}

/**
 * Webm clips played one after the other without re-encoding (one stream; its size and frame
 * rate may change), optionally written `live` like a browser's MediaRecorder: no duration, no
 * cues.
 */
export function joinClips(
  clips: readonly Uint8Array[],
  opts: { live?: boolean } = {},
): Promise<Uint8Array> {
  return ffmpegOutput("out.webm", async (dir) => {
    const list = [];
    for (const [i, clip] of clips.entries()) {
      await Deno.writeFile(`${dir}/${i}.webm`, clip);
      list.push(`file '${dir}/${i}.webm'`);
    }
    await Deno.writeTextFile(`${dir}/list.txt`, list.join("\n") + "\n");
    return [
      "-f",
      "concat",
      "-safe",
      "0",
      "-i",
      `${dir}/list.txt`,
      "-c",
      "copy",
      ...(opts.live ? ["-live", "1"] : []),
    ];
  });
}

/** An m4a-like mp4: `seconds` of a tone with a cover picture (a one-frame "video" stream). */
export function audioWithCover(seconds: number): Promise<Uint8Array> {
  return ffmpegOutput("out.mp4", () => [
    "-f",
    "lavfi",
    "-i",
    `sine=d=${seconds}`,
    "-f",
    "lavfi",
    "-i",
    "color=c=red:size=64x64:d=1",
    "-map",
    "0",
    "-map",
    "1",
    "-frames:v",
    "1",
    "-c:a",
    "aac",
    "-c:v",
    "png",
    "-disposition:v",
    "attached_pic",
  ]);
}
