/** decodeClip() with ffmpeg on generated clips: what SmolVLM2 is shown of a clip. */
import assert from "node:assert/strict";
import { decodeClip, parseVideoConfig } from "../../src/video/mod.ts";
import { cutClip, makeClip, testDecoder } from "./clips.ts";

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
