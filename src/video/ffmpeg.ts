/**
 * Video decoding with ffmpeg run as a subprocess (Debian's ffmpeg: a well-kept decoder for every
 * mp4 and webm codec a browser or phone writes). No shell: the binary's absolute path and an
 * argument list. The clip goes in on stdin (an mp4 through ffmpeg's `cache:` protocol, a seekable
 * view of the pipe, so one whose index sits at the end still opens) with the demuxer fixed by our
 * own sniffing and only the `cache` and `pipe` protocols allowed. Frames come out as raw RGB at the
 * tile size, stretched to a square like SmolVLM2's video processor does.
 *
 * Each child is bounded: its address space by the kernel (util-linux `prlimit --as`, which sets
 * RLIMIT_AS and then execs the binary, so the cap holds from its first instruction; a crafted
 * clip whose decoder allocates before `-max_pixels` is checked fails inside the cap instead of
 * taking the host's memory), its threads by `-threads`/`-filter_threads`, its time by the
 * caller's signal, which SIGKILLs it.
 *
 * The server is granted `--allow-run` for exactly these binaries (src/cli/permissions.ts).
 *
 * @module
 */
import type { VideoConfig } from "./config.ts";
import { VideoError } from "./errors.ts";
import type { VideoMetadata } from "./sampling.ts";

export type VideoContainer = "mp4" | "webm";

/** ffmpeg's demuxer for each container we accept. */
const DEMUXER: Readonly<Record<VideoContainer, string>> = { mp4: "mp4", webm: "matroska" };

/** The container from the first bytes: ISO BMFF (`ftyp` box) or EBML (webm/matroska). */
export function sniffContainer(bytes: Uint8Array): VideoContainer | null {
  if (bytes.length >= 12 && ascii(bytes, 4, 4) === "ftyp") return "mp4";
  if (
    bytes.length >= 4 && bytes[0] === 0x1a && bytes[1] === 0x45 && bytes[2] === 0xdf &&
    bytes[3] === 0xa3
  ) return "webm";
  return null;
}

function ascii(bytes: Uint8Array, at: number, n: number): string {
  return String.fromCharCode(...bytes.subarray(at, at + n));
}

export interface DecoderPaths {
  readonly ffmpeg: string;
  readonly ffprobe: string;
  /** util-linux prlimit, which caps each child's memory; null or absent: no cap (reported). */
  readonly prlimit?: string | null;
}

/** What one ffmpeg/ffprobe child may take (the video config's ceilings). */
export interface DecoderLimits {
  /** Largest frame (width x height) a decoder may allocate. */
  readonly maxPixels: number;
  /** Address space, MiB; enforced only with prlimit. */
  readonly memoryMb: number;
  /** Decoder and filter threads. */
  readonly threads: number;
}

/**
 * Where the clip is read from. An mp4 may keep its index after the frames, so it is read through
 * ffmpeg's `cache:` protocol (a seekable view of the pipe). A webm is made to be read in one pass,
 * and the cache misreads one written live (no duration or cues, as a browser's MediaRecorder
 * writes it: ffmpeg then meets garbage midway and drops frames): the bare pipe.
 */
const SOURCE: Readonly<Record<VideoContainer, readonly string[]>> = {
  mp4: ["-protocol_whitelist", "cache,pipe", "-i", "cache:pipe:0"],
  webm: ["-protocol_whitelist", "pipe", "-i", "pipe:0"],
};

/**
 * The input options: the clip from stdin, and a decoder that refuses frames over `maxPixels`
 * (the probe reads the first frame's size only: a stream may grow later, or the first frame
 * itself may be one a stream info decode should never allocate) and decodes on `threads`.
 */
function input(container: VideoContainer, limits: DecoderLimits): string[] {
  return [
    "-threads",
    String(limits.threads),
    "-max_pixels",
    String(limits.maxPixels),
    "-f",
    DEMUXER[container],
    ...SOURCE[container],
  ];
}

/** Decodes clips with the given binaries. */
export class FfmpegDecoder {
  constructor(readonly paths: DecoderPaths) {}

  /** Whether the children's memory cap is enforced (prlimit is there to set it). */
  get memoryCapped(): boolean {
    return !!this.paths.prlimit;
  }

  /**
   * Duration, frame rate, frame count and size of the first video stream (`V`: never a cover
   * picture, which an audio file carries as a one-frame video stream).
   */
  async probe(
    bytes: Uint8Array,
    container: VideoContainer,
    limits: DecoderLimits,
    signal: AbortSignal,
  ): Promise<ProbedClip> {
    const out = await this.#ffprobe(bytes, container, limits, signal, [
      "-count_packets",
      "-show_entries",
      "stream=width,height,avg_frame_rate,r_frame_rate,nb_read_packets,duration:format=duration",
      "-of",
      "json",
    ]);
    let parsed: ProbeJson;
    try {
      parsed = JSON.parse(new TextDecoder().decode(out.stdout)) as ProbeJson;
    } catch {
      throw this.#refusal("ffprobe's report could not be read", out.stderr, limits);
    }
    const stream = parsed.streams?.[0];
    if (!stream) throw this.#refusal("the clip has no video stream", out.stderr, limits);
    const width = Number(stream.width), height = Number(stream.height);
    const totalFrames = Number(stream.nb_read_packets);
    const fps = rate(stream.avg_frame_rate) || rate(stream.r_frame_rate);
    let duration = Number(stream.duration ?? parsed.format?.duration);
    const durationStated = Number.isFinite(duration) && duration > 0;
    if (!durationStated) duration = fps > 0 ? totalFrames / fps : NaN;
    if (
      !(width > 0 && height > 0 && totalFrames > 0 && fps > 0 && Number.isFinite(duration))
    ) {
      throw this.#refusal(
        "the clip's video stream has no frames, size or frame rate",
        out.stderr,
        limits,
      );
    }
    return { width, height, totalFrames, fps, duration, durationStated };
  }

  /**
   * The first video stream's packets as ffmpeg shows them: how many, less those flagged discard
   * (`D`), which an mp4's edit list hides (a clip cut without re-encoding, a phone's recording):
   * `probe`'s count includes them, and frame indices count shown frames only; and the seconds
   * they span (NaN without timestamps), the duration of a clip whose container states none.
   * Lists one line per packet, so call it once `probe`'s count is known to be within limits.
   */
  async packets(
    bytes: Uint8Array,
    container: VideoContainer,
    limits: DecoderLimits,
    signal: AbortSignal,
  ): Promise<{ shown: number; span: number }> {
    const out = await this.#ffprobe(bytes, container, limits, signal, [
      "-show_entries",
      "packet=pts_time,duration_time,flags",
      "-of",
      "csv=p=0",
    ]);
    let shown = 0, first = Infinity, end = -Infinity;
    for (const line of new TextDecoder().decode(out.stdout).split("\n")) {
      const [pts, length, flags] = line.trim().split(",");
      if (flags === undefined || flags.includes("D")) continue;
      shown++;
      const at = Number(pts), lasts = Number(length);
      if (!Number.isFinite(at)) continue;
      first = Math.min(first, at);
      end = Math.max(end, at + (Number.isFinite(lasts) && lasts > 0 ? lasts : 0));
    }
    if (shown === 0) {
      throw this.#refusal("the clip's video stream has no frames to show", out.stderr, limits);
    }
    return { shown, span: end > first ? end - first : NaN };
  }

  /** ffprobe over the clip's first video stream, showing `show`; a failed run is refused. */
  async #ffprobe(
    bytes: Uint8Array,
    container: VideoContainer,
    limits: DecoderLimits,
    signal: AbortSignal,
    show: readonly string[],
  ): Promise<RunResult> {
    const args = ["-v", "error", ...input(container, limits), "-select_streams", "V:0", ...show];
    const out = await this.#run(this.paths.ffprobe, args, bytes, limits, signal);
    throwIfTooLarge(out.stderr, limits.maxPixels);
    if (out.code !== 0) throw this.#refusal("the clip is truncated or corrupt", out.stderr, limits);
    return out;
  }

  /** The frames at `indices` (increasing) as `side` x `side` RGB, in order. */
  async frames(
    bytes: Uint8Array,
    container: VideoContainer,
    indices: readonly number[],
    side: number,
    limits: DecoderLimits,
    signal: AbortSignal,
  ): Promise<Uint8Array[]> {
    const select = anyOf(indices.map((i) => `eq(n\\,${i})`));
    const args = [
      "-v",
      "error",
      "-filter_threads",
      String(limits.threads),
      ...input(container, limits),
      "-map",
      "0:V:0",
      "-vf",
      `select='${select}',scale=${side}:${side}:flags=bicubic`,
      "-fps_mode",
      "passthrough",
      // The raw frames need no encoder threads (its default would start one per core).
      "-threads",
      "1",
      "-f",
      "rawvideo",
      "-pix_fmt",
      "rgb24",
      "pipe:1",
    ];
    const out = await this.#run(this.paths.ffmpeg, args, bytes, limits, signal);
    throwIfTooLarge(out.stderr, limits.maxPixels);
    const frameBytes = side * side * 3;
    const count = Math.floor(out.stdout.length / frameBytes);
    if (out.code !== 0 || count !== indices.length || out.stdout.length % frameBytes !== 0) {
      throw this.#refusal(
        `the clip is truncated or corrupt: ${count} of ${indices.length} sampled frames decoded`,
        out.stderr,
        limits,
      );
    }
    return Array.from(
      { length: count },
      (_, i) => out.stdout.slice(i * frameBytes, (i + 1) * frameBytes),
    );
  }

  /**
   * The error for a run that did not give what was asked: the memory cap when the child met it
   * (its allocations fail however the clip is built, so that comes first), prlimit's own refusal,
   * else the clip is at fault (`message`, with ffmpeg's last line).
   */
  #refusal(message: string, stderr: string, limits: DecoderLimits): VideoError {
    if (this.memoryCapped && OUT_OF_MEMORY.test(stderr)) {
      return new VideoError(
        "video_decode_out_of_memory",
        `decoding the clip needs more than the ${limits.memoryMb} MB of memory this server ` +
          "allows its video decoder",
      );
    }
    const refused = /^prlimit: .*/m.exec(stderr);
    if (refused) {
      return new VideoError(
        "video_decoding_unavailable",
        `this server cannot start its video decoder under its memory cap (${refused[0]})`,
      );
    }
    return invalid(message, stderr);
  }

  /**
   * `bin args` with `input` on stdin, under prlimit's memory cap when there is one. The signal
   * SIGKILLs it (a timeout then is a 422): Deno's own `signal` option sends SIGTERM, which
   * ffmpeg takes as a request to stop after the work in hand, however long that takes.
   */
  async #run(
    bin: string,
    args: string[],
    input: Uint8Array,
    limits: DecoderLimits,
    signal: AbortSignal,
  ): Promise<RunResult> {
    // Deno starts a child even for a signal that has already fired, and then never kills it.
    if (signal.aborted) throw timeoutError(signal);
    const prlimit = this.paths.prlimit;
    const [command, argv] = prlimit
      // Both soft and hard: the child cannot raise it again. No core file from a crash either.
      ? [prlimit, [`--as=${limits.memoryMb * 1024 * 1024}`, "--core=0", "--", bin, ...args]]
      : [bin, args];
    let child: Deno.ChildProcess;
    try {
      child = new Deno.Command(command, {
        args: argv,
        stdin: "piped",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
    } catch (e) {
      throw new VideoError(
        "video_decoding_unavailable",
        `this server cannot run its video decoder (${(e as Error).message.split("\n")[0]})`,
        { cause: e },
      );
    }
    const kill = () => {
      try {
        child.kill("SIGKILL");
      } catch {
        // Already gone.
      }
    };
    signal.addEventListener("abort", kill, { once: true });
    try {
      const writer = child.stdin.getWriter();
      // ffmpeg may stop reading early (a bad header): a broken pipe is its answer, not ours.
      const fed = writer.write(input).then(() => writer.close()).catch(() => {});
      const output = await child.output();
      await fed;
      if (signal.aborted) throw timeoutError(signal);
      return {
        code: output.code,
        stdout: output.stdout,
        stderr: new TextDecoder().decode(output.stderr),
      };
    } finally {
      signal.removeEventListener("abort", kill);
    }
  }
}

/**
 * What a child that met its address-space cap prints: an allocation that failed (ENOMEM, a
 * frame buffer), a thread whose stack could not be mapped (EAGAIN), a library the loader could
 * not map. Near the cap some failures print nothing of the kind (a decoder that could not open,
 * a slice header it could not store): those read as a corrupt clip, still a 400.
 */
const OUT_OF_MEMORY = new RegExp(
  [
    "Cannot allocate memory",
    "out of memory",
    "bad_alloc",
    "get_buffer\\(\\) failed",
    "Resource temporarily unavailable",
    "failed to map segment",
  ].join("|"),
  "i",
);

/**
 * `terms` summed as a balanced tree of parenthesised groups: ffmpeg's expression parser refuses
 * (as "Cannot allocate memory") a flat sum of more than 100 terms.
 */
function anyOf(terms: readonly string[]): string {
  if (terms.length <= 32) return terms.join("+");
  const half = Math.ceil(terms.length / 2);
  return `(${anyOf(terms.slice(0, half))})+(${anyOf(terms.slice(half))})`;
}

/** What `probe` reads of a clip. */
export interface ProbedClip extends VideoMetadata {
  readonly width: number;
  readonly height: number;
  /**
   * Whether the container states the duration. A webm written live (a browser's MediaRecorder)
   * does not: `duration` is then the packets over the nominal frame rate, wrong for a variable
   * one, and `packets` has the real span.
   */
  readonly durationStated: boolean;
}

interface ProbeJson {
  streams?: {
    width?: number;
    height?: number;
    avg_frame_rate?: string;
    r_frame_rate?: string;
    nb_read_packets?: string;
    duration?: string;
  }[];
  format?: { duration?: string };
}

function rate(text: string | undefined): number {
  const m = /^(\d+)\/(\d+)$/.exec(text ?? "");
  if (!m) return 0;
  const den = Number(m[2]);
  return den > 0 ? Number(m[1]) / den : 0;
}

/** The decoder met a frame over `-max_pixels` (libavutil's message names its size). */
function throwIfTooLarge(stderr: string, maxPixels: number): void {
  const m = /Picture size (\d+)x(\d+) exceeds specified max pixel count/.exec(stderr);
  if (!m) return;
  throw new VideoError(
    "video_too_large",
    `the clip's frames are ${m[1]}x${m[2]}; at most ${maxPixels} pixels on this server`,
  );
}

function invalid(message: string, stderr: string): VideoError {
  const detail = lastLine(stderr);
  return new VideoError("invalid_video", detail ? `${message} (${detail})` : message);
}

/** ffmpeg's last meaningful line, without its `[demuxer @ 0x…]` prefix. */
function lastLine(stderr: string): string {
  const lines = stderr.split("\n").map((l) => l.replace(/^\[[^\]]*\]\s*/, "").trim())
    .filter((l) => l && !l.startsWith("Inner protocol failed to seekback") && !/repeated/.test(l));
  return (lines.at(-1) ?? "").slice(0, 200);
}

interface RunResult {
  readonly code: number;
  readonly stdout: Uint8Array;
  readonly stderr: string;
}

function timeoutError(signal: AbortSignal): unknown {
  const reason = signal.reason;
  if (reason instanceof DOMException && reason.name === "TimeoutError") {
    return new VideoError("video_decode_timeout", "decoding the clip took too long");
  }
  return reason;
}

/** How a limit of the config applies to a probed clip; throws the matching VideoError. */
export function checkProbed(
  meta: VideoMetadata & { readonly width: number; readonly height: number },
  config: VideoConfig,
): void {
  if (meta.duration > config.maxDurationSeconds) {
    throw new VideoError(
      "video_too_long",
      `the clip lasts ${
        meta.duration.toFixed(1)
      } s; at most ${config.maxDurationSeconds} s on this server`,
    );
  }
  if (meta.width * meta.height > config.maxSourcePixels) {
    throw new VideoError(
      "video_too_large",
      `the clip's frames are ${meta.width}x${meta.height}; at most ${config.maxSourcePixels} pixels on this server`,
    );
  }
  if (meta.totalFrames > config.maxSourceFrames) {
    throw new VideoError(
      "video_too_long",
      `the clip has ${meta.totalFrames} frames; at most ${config.maxSourceFrames} on this server`,
    );
  }
}
