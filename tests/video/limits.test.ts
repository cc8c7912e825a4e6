/**
 * decodeClip() under the bounds of each ffmpeg/ffprobe child: the memory cap (RLIMIT_AS through
 * prlimit), the thread count and the deadline, which kills the child.
 */
import assert from "node:assert/strict";
import {
  decodeClip,
  FfmpegDecoder,
  parseVideoConfig,
  type VideoConfig,
  VideoError,
} from "../../src/video/mod.ts";
import { cappedDecoder, makeClip } from "./clips.ts";

function outOfMemory(mb: number) {
  return (e: unknown) => {
    assert.ok(e instanceof VideoError, String(e));
    assert.equal(e.code, "video_decode_out_of_memory", e.message);
    assert.equal(e.status, 422);
    assert.match(e.message, new RegExp(`more than the ${mb} MB of memory`));
    return true;
  };
}

/** Whether `clip` decodes; any refusal is false (near its cap a decoder may fail either way). */
async function decodes(decoder: FfmpegDecoder, config: VideoConfig, clip: Uint8Array) {
  try {
    await decodeClip({ decoder, config }, clip, "video/mp4", 32);
    return true;
  } catch (e) {
    if (e instanceof VideoError) return false;
    throw e;
  }
}

async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "smolvlm-video-test-" });
  try {
    return await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("decodeClip() refuses a clip the decoder cannot read within its memory cap, then decodes the next", async () => {
  const decoder = cappedDecoder();
  const clip = await makeClip(2, { size: "640x480" });
  const tiny = parseVideoConfig({ max_decoder_memory_mb: 20 });
  await assert.rejects(
    decodeClip({ decoder, config: tiny }, clip, "video/mp4", 32),
    outOfMemory(20),
  );
  // The same decoder under the default cap: nothing of the refused run is left behind.
  const decoded = await decodeClip({ decoder, config: parseVideoConfig() }, clip, "video/mp4", 32);
  assert.equal(decoded.frames.length, 2);
});

Deno.test("decodeClip() refuses frames that need more than a cap a small clip decodes under", async () => {
  const decoder = cappedDecoder();
  const small = await makeClip(0.2, { rate: 5, size: "160x120" });
  // One 8192x8192 frame: a decoder allocates its pictures (100 MB each) before any
  // max_source_pixels check could help, so it is let through that check here.
  const large = await makeClip(0.2, { rate: 5, size: "8192x8192", source: "color" });
  const pixels = 8192 * 8192;
  // The least memory (to 16 MB) the small clip decodes in: the binaries themselves take most.
  let lo = 16, hi = 1024;
  while (hi - lo > 16) {
    const mid = Math.round((lo + hi) / 2);
    const config = parseVideoConfig({ max_decoder_memory_mb: mid, max_source_pixels: pixels });
    if (await decodes(decoder, config, small)) hi = mid;
    else lo = mid;
  }
  const cap = hi + 64;
  const config = parseVideoConfig({ max_decoder_memory_mb: cap, max_source_pixels: pixels });
  assert.ok(await decodes(decoder, config, small), `the small clip decodes under ${cap} MB`);
  await assert.rejects(
    decodeClip({ decoder, config }, large, "video/mp4", 32),
    outOfMemory(cap),
  );
});

Deno.test("decodeClip() without prlimit decodes uncapped and says the cap is not enforced", async () => {
  const { ffmpeg, ffprobe } = cappedDecoder().paths;
  const decoder = new FfmpegDecoder({ ffmpeg, ffprobe, prlimit: null });
  assert.equal(decoder.memoryCapped, false);
  const config = parseVideoConfig({ max_decoder_memory_mb: 20 });
  const clip = await decodeClip({ decoder, config }, await makeClip(1), "video/mp4", 32);
  assert.equal(clip.frames.length, 1);
});

Deno.test("decodeClip() runs ffmpeg on decoder_threads threads, not one per core", async () => {
  await withTempDir(async (dir) => {
    const real = cappedDecoder().paths;
    // A stand-in ffmpeg that runs the real one and records the most threads it had at once.
    const ffmpeg = `${dir}/ffmpeg`;
    await Deno.writeTextFile(
      ffmpeg,
      `#!/bin/sh
exec 3<&0
'${real.ffmpeg}' "$@" <&3 3<&- &
pid=$!
max=0
while kill -0 $pid 2>/dev/null; do
  n=$(awk '/^Threads:/ { print $2 }' /proc/$pid/status 2>/dev/null)
  [ -n "$n" ] && [ "$n" -gt "$max" ] && max=$n
  sleep 0.01
done
wait $pid
status=$?
echo $max > '${dir}/threads'
exit $status
`,
    );
    await Deno.chmod(ffmpeg, 0o755);
    const decoder = new FfmpegDecoder({ ...real, ffmpeg });
    // 120 frames of 640x480, all decoded to reach the last: long enough to be watched.
    const clip = await makeClip(4, { rate: 30, size: "640x480" });
    const config = parseVideoConfig({ decoder_threads: 1 });
    await decodeClip({ decoder, config }, clip, "video/mp4", 32);
    const threads = Number(await Deno.readTextFile(`${dir}/threads`));
    // ffmpeg's defaults start decoder, filter and encoder threads per core (10 on 2 cores).
    assert.ok(threads >= 1 && threads <= 3, `${threads} threads`);
  });
});

Deno.test("decodeClip() kills a decoder that ignores SIGTERM at the deadline", async () => {
  await withTempDir(async (dir) => {
    const real = cappedDecoder().paths;
    // A stand-in ffprobe that ignores SIGTERM (as ffmpeg defers it) and would run for 30 s.
    const ffprobe = `${dir}/ffprobe`;
    await Deno.writeTextFile(
      ffprobe,
      `#!/bin/sh\necho $$ > '${dir}/pid'\ntrap '' TERM\nexec sleep 30\n`,
    );
    await Deno.chmod(ffprobe, 0o755);
    const decoder = new FfmpegDecoder({ ...real, ffprobe });
    const config = parseVideoConfig({ decode_timeout: 0.5 });
    const t0 = performance.now();
    await assert.rejects(
      decodeClip({ decoder, config }, await makeClip(1), "video/mp4", 32),
      (e) => e instanceof VideoError && e.code === "video_decode_timeout",
    );
    const seconds = (performance.now() - t0) / 1000;
    assert.ok(seconds < 5, `answered after ${seconds.toFixed(1)} s`);
    const pid = (await Deno.readTextFile(`${dir}/pid`)).trim();
    // `ps` (Deno reads /proc only under --allow-all): no such process, not even a zombie.
    const ps = await new Deno.Command("ps", { args: ["-p", pid, "-o", "stat="], stdout: "piped" })
      .output();
    assert.equal(ps.code, 1, `process ${pid}: ${new TextDecoder().decode(ps.stdout)}`);
  });
});
