/** decodeClip() with ffmpeg on generated clips: what SmolVLM2 is shown of a clip. */
import assert from "node:assert/strict";
import { decodeClip, FfmpegDecoder, parseVideoConfig, VideoError } from "../../src/video/mod.ts";
import { audioWithCover, cutClip, joinClips, makeClip, testDecoder } from "./clips.ts";

Deno.test("decodeClip() samples a clip cut with an edit list from the frames it shows", async () => {
  const service = { decoder: testDecoder(), config: parseVideoConfig() };
  // 40 frames at 10 fps cut at 0.55 s: 6 packets before the cut are decoded but never shown.
  const cut = await cutClip(await makeClip(4, { rate: 10 }), 0.55);
  const clip = await decodeClip(service, cut, "video/mp4", 32);
  assert.ok(Math.abs(clip.duration - 3.45) < 0.01, `duration ${clip.duration}`);
  assert.equal(clip.frames.length, 3);
  assert.deepEqual(clip.timestamps, [0, 1.6, 3.3]);
  for (const frame of clip.frames) assert.equal(frame.length, 32 * 32 * 3);
});

Deno.test("decodeClip() starts no decoder once its signal has fired", async () => {
  const dir = await Deno.makeTempDir({ prefix: "smolvlm-video-test-" });
  try {
    // A stand-in ffprobe that leaves a mark when it runs.
    const probe = `${dir}/ffprobe`;
    await Deno.writeTextFile(probe, `#!/bin/sh\ntouch '${dir}/ran'\nexec /usr/bin/ffprobe "$@"\n`);
    await Deno.chmod(probe, 0o755);
    const decoder = new FfmpegDecoder({ ffmpeg: testDecoder().paths.ffmpeg, ffprobe: probe });
    const service = { decoder, config: parseVideoConfig() };
    const mp4 = await makeClip(1);
    const signal = AbortSignal.abort("disconnect");
    await assert.rejects(decodeClip(service, mp4, "video/mp4", 32, signal), (e) => {
      assert.equal(e, "disconnect");
      return true;
    });
    await assert.rejects(Deno.stat(`${dir}/ran`), Deno.errors.NotFound);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("decodeClip() refuses frames over max_source_pixels, also when they come later", async () => {
  const service = {
    decoder: testDecoder(),
    config: parseVideoConfig({ max_source_pixels: 200 * 200 }),
  };
  const small = await makeClip(1, { container: "webm", size: "160x120" });
  const large = await makeClip(1, { container: "webm", size: "320x240" });
  const tooLarge = (e: unknown) => {
    assert.ok(e instanceof VideoError, String(e));
    assert.equal(e.code, "video_too_large");
    assert.equal(e.status, 413);
    assert.match(e.message, /frames are 320x240; at most 40000 pixels/);
    return true;
  };
  await assert.rejects(decodeClip(service, large, "video/webm", 32), tooLarge);
  // The probe sees the first frame's 160x120; the decoder meets 320x240 a second later.
  const grows = await joinClips([small, large]);
  await assert.rejects(decodeClip(service, grows, "video/webm", 32), tooLarge);
});

Deno.test("decodeClip() reads a webm past its first 32 kB", async () => {
  const service = { decoder: testDecoder(), config: parseVideoConfig() };
  // 50 kB of vp8: read through ffmpeg's cache: protocol its demuxer met garbage after 32 kB
  // ("0x00 at pos 33113 invalid as first byte of an EBML number") and lost frames.
  const webm = await makeClip(4, { container: "webm", rate: 30, deadline: "good" });
  assert.ok(webm.length > 40_000, `${webm.length} bytes`);
  const clip = await decodeClip(service, webm, "video/webm", 32);
  assert.deepEqual(clip.timestamps, [0, 39 / 30, 79 / 30, 119 / 30]);
  assert.equal(clip.frames.length, 4);
});

Deno.test("decodeClip() samples more than 100 frames when max_frames allows", async () => {
  const service = {
    decoder: testDecoder(),
    config: parseVideoConfig({ fps: 30, max_frames: 256 }),
  };
  const clip = await decodeClip(
    service,
    await makeClip(5, { rate: 30, size: "32x32" }),
    "video/mp4",
    16,
  );
  assert.equal(clip.frames.length, 150);
  assert.deepEqual(clip.timestamps, Array.from({ length: 150 }, (_, i) => i / 30));
});

Deno.test("decodeClip() times a webm that states no duration by its packets", async () => {
  const service = { decoder: testDecoder(), config: parseVideoConfig() };
  // 2 s at 30 fps then 4 s at 2 fps, written live: 68 frames over 6 s, nominally 30 fps.
  const webm = await joinClips([
    await makeClip(2, { container: "webm", rate: 30 }),
    await makeClip(4, { container: "webm", rate: 2 }),
  ], { live: true });
  const clip = await decodeClip(service, webm, "video/webm", 16);
  // From the first frame's start to the last one's (which lasts 1/30 s by the track's default).
  assert.ok(clip.duration > 5.5 && clip.duration <= 6, `duration ${clip.duration}`);
  assert.equal(clip.frames.length, 6);
  assert.equal(clip.timestamps.length, 6);
  assert.ok(clip.timestamps.at(-1)! > 5, `last at ${clip.timestamps.at(-1)}`);
});

Deno.test("decodeClip() takes a cover picture for no video stream", async () => {
  const service = { decoder: testDecoder(), config: parseVideoConfig() };
  await assert.rejects(
    decodeClip(service, await audioWithCover(3), "video/mp4", 16),
    (e) => {
      assert.ok(e instanceof VideoError, String(e));
      assert.equal(e.code, "invalid_video");
      assert.match(e.message, /no video stream/);
      return true;
    },
  );
});
