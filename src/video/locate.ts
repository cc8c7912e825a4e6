/**
 * Where ffmpeg is. The launcher looks for it (it may read any path): FFMPEG_PATH, else the
 * first `ffmpeg` on PATH, with `ffprobe` beside it; and util-linux `prlimit`, which caps each
 * child's memory (PRLIMIT_PATH, else the first on PATH). It then grants the server `--allow-run`
 * for exactly those files and hands the paths over in FFMPEG_PATH and PRLIMIT_PATH; the server
 * only trusts a path it was granted to run, so a server without ffmpeg refuses `video_url` and
 * still takes frames, and one without prlimit decodes without the memory cap and says so.
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

/** Where to look for `name`: `explicit` alone when it is set, else in each PATH directory. */
function onPath(name: string, explicit: string | undefined, path: string | undefined): string[] {
  return explicit
    ? [explicit]
    : (path ?? "").split(":").filter((d) => d.startsWith("/")).map((d) => `${d}/${name}`);
}

type Env = { get(name: string): string | undefined };

/**
 * The decoder binaries (absolute paths), or null when there is no usable ffmpeg; `prlimit` is
 * null when there is none (the decoder then runs without its memory cap).
 */
export function locateDecoder(env: Env = Deno.env): DecoderPaths | null {
  for (const c of onPath("ffmpeg", env.get("FFMPEG_PATH"), env.get("PATH"))) {
    if (!c.startsWith("/")) continue;
    const paths = beside(c);
    if (isExecutable(paths.ffmpeg) && isExecutable(paths.ffprobe)) {
      const prlimit = onPath("prlimit", env.get("PRLIMIT_PATH"), env.get("PATH"))
        .find((p) => p.startsWith("/") && isExecutable(p));
      return { ...paths, prlimit: prlimit ?? null };
    }
  }
  return null;
}

/**
 * The server's decoder: FFMPEG_PATH when both binaries may be run, else null; capped by
 * PRLIMIT_PATH when that may be run too.
 */
export function decoderFromEnv(): FfmpegDecoder | null {
  const handed = (name: string) => {
    try {
      const path = Deno.env.get(name);
      return path?.startsWith("/") ? path : null;
    } catch {
      return null; // no env permission: nothing was handed over
    }
  };
  const path = handed("FFMPEG_PATH");
  if (!path) return null;
  const paths = beside(path);
  const granted = (command: string) =>
    Deno.permissions.querySync({ name: "run", command }).state === "granted";
  if (!granted(paths.ffmpeg) || !granted(paths.ffprobe)) return null;
  const prlimit = handed("PRLIMIT_PATH");
  return new FfmpegDecoder({ ...paths, prlimit: prlimit && granted(prlimit) ? prlimit : null });
}
