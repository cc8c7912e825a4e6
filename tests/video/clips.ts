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

/**
 * A `seconds` long testsrc clip (`rate` fps, `size` like 160x120) as mp4 (h264) or webm (vp8,
 * encoded with libvpx's `deadline`, realtime unless told).
 */
export async function makeClip(
  seconds: number,
  opts: {
    container?: "mp4" | "webm";
    rate?: number;
    size?: string;
    deadline?: "realtime" | "good";
  } = {},
): Promise<Uint8Array> {
  const container = opts.container ?? "mp4";
  const dir = await Deno.makeTempDir({ prefix: "smolvlm-video-test-" });
  const out = `${dir}/clip.${container}`;
  try {
    const codec = container === "mp4"
      ? ["-c:v", "libx264", "-pix_fmt", "yuv420p", "-preset", "ultrafast"]
      : ["-c:v", "libvpx", "-deadline", opts.deadline ?? "realtime", "-b:v", "200k"];
    const { success, stderr } = await new Deno.Command(testDecoder().paths.ffmpeg, {
      args: [
        "-v",
        "error",
        "-y",
        "-f",
        "lavfi",
        "-i",
        `testsrc=size=${opts.size ?? "160x120"}:rate=${opts.rate ?? 10}`,
        "-t",
        String(seconds),
        ...codec,
        out,
      ],
      stdout: "null",
      stderr: "piped",
    }).output();
    if (!success) throw new Error(`ffmpeg failed: ${new TextDecoder().decode(stderr)}`);
    return await Deno.readFile(out);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
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
export async function cutClip(bytes: Uint8Array, startSeconds: number): Promise<Uint8Array> {
  const dir = await Deno.makeTempDir({ prefix: "smolvlm-video-test-" });
  try {
    await Deno.writeFile(`${dir}/in.mp4`, bytes);
    const { success, stderr } = await new Deno.Command(testDecoder().paths.ffmpeg, {
      args: [
        "-v",
        "error",
        "-ss",
        String(startSeconds),
        "-i",
        `${dir}/in.mp4`,
        "-c",
        "copy",
        `${dir}/out.mp4`,
      ],
      stdout: "null",
      stderr: "piped",
    }).output();
    if (!success) throw new Error(`ffmpeg failed: ${new TextDecoder().decode(stderr)}`);
    return await Deno.readFile(`${dir}/out.mp4`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/**
 * Webm clips played one after the other without re-encoding (one stream; its size and frame
 * rate may change), optionally written `live` like a browser's MediaRecorder: no duration, no
 * cues.
 */
export async function joinClips(
  clips: readonly Uint8Array[],
  opts: { live?: boolean } = {},
): Promise<Uint8Array> {
  const dir = await Deno.makeTempDir({ prefix: "smolvlm-video-test-" });
  try {
    const list = [];
    for (const [i, clip] of clips.entries()) {
      await Deno.writeFile(`${dir}/${i}.webm`, clip);
      list.push(`file '${dir}/${i}.webm'`);
    }
    await Deno.writeTextFile(`${dir}/list.txt`, list.join("\n") + "\n");
    const { success, stderr } = await new Deno.Command(testDecoder().paths.ffmpeg, {
      args: [
        "-v",
        "error",
        "-f",
        "concat",
        "-safe",
        "0",
        "-i",
        `${dir}/list.txt`,
        "-c",
        "copy",
        ...(opts.live ? ["-live", "1"] : []),
        `${dir}/out.webm`,
      ],
      stdout: "null",
      stderr: "piped",
    }).output();
    if (!success) throw new Error(`ffmpeg failed: ${new TextDecoder().decode(stderr)}`);
    return await Deno.readFile(`${dir}/out.webm`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** An m4a-like mp4: `seconds` of a tone with a cover picture (a one-frame "video" stream). */
export async function audioWithCover(seconds: number): Promise<Uint8Array> {
  const dir = await Deno.makeTempDir({ prefix: "smolvlm-video-test-" });
  try {
    const { success, stderr } = await new Deno.Command(testDecoder().paths.ffmpeg, {
      args: [
        "-v",
        "error",
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
        `${dir}/out.mp4`,
      ],
      stdout: "null",
      stderr: "piped",
    }).output();
    if (!success) throw new Error(`ffmpeg failed: ${new TextDecoder().decode(stderr)}`);
    return await Deno.readFile(`${dir}/out.mp4`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
