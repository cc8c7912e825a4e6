/**
 * Where ffmpeg is. The launcher looks for it (it may read any path): FFMPEG_PATH, else the
 * first `ffmpeg` on PATH, with `ffprobe` beside it. It then grants the server `--allow-run` for
 * exactly those two files and hands the path over in FFMPEG_PATH; the server only trusts a path
 * it was granted to run, so a server without ffmpeg refuses `video_url` and still takes frames.
 *
 * @module
 */
import type { DecoderPaths } from "./ffmpeg.ts";
import { FfmpegDecoder } from "./ffmpeg.ts";

function isExecutable(path: string): boolean {
  try {
    const s = Deno.statSync(path);
    return s.isFile && ((s.mode ?? 0o111) & 0o111) !== 0;
  } catch {
    return false;
  }
}

function beside(ffmpeg: string): DecoderPaths {
  const dir = ffmpeg.slice(0, ffmpeg.lastIndexOf("/"));
  return { ffmpeg, ffprobe: `${dir}/ffprobe` };
}

/** The decoder binaries (absolute paths), or null when there is no usable ffmpeg. */
export function locateDecoder(
  env: { get(name: string): string | undefined } = Deno.env,
): DecoderPaths | null {
  const explicit = env.get("FFMPEG_PATH");
  const candidates = explicit
    ? [explicit]
    : (env.get("PATH") ?? "").split(":").filter((d) => d.startsWith("/")).map((d) => `${d}/ffmpeg`);
  for (const c of candidates) {
    if (!c.startsWith("/")) continue;
    const paths = beside(c);
    if (isExecutable(paths.ffmpeg) && isExecutable(paths.ffprobe)) return paths;
  }
  return null;
}

/** The server's decoder: FFMPEG_PATH when both binaries may be run, else null. */
export function decoderFromEnv(): FfmpegDecoder | null {
  let path: string | undefined;
  try {
    path = Deno.env.get("FFMPEG_PATH");
  } catch {
    return null; // no env permission: no decoder was handed over
  }
  if (!path?.startsWith("/")) return null;
  const paths = beside(path);
  const granted = (command: string) =>
    Deno.permissions.querySync({ name: "run", command }).state === "granted";
  return granted(paths.ffmpeg) && granted(paths.ffprobe) ? new FfmpegDecoder(paths) : null;
}
