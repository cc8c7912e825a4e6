import assert from "node:assert/strict";
import { DEFAULT_VIDEO_QUESTION, sampleTimes, videoRequest } from "../../static/js/video.js";

const CLIP = { frames: [{ url: "data:image/jpeg;base64,AA==", timestamp: 0 }], duration: 1 };

function questionOf(body: ReturnType<typeof videoRequest>): unknown {
  return body.messages[0]!.content[1];
}

Deno.test("videoRequest() sends the frames and the question, trimmed", () => {
  const body = videoRequest(CLIP, "  What moves?  ", 64);
  assert.deepEqual(body.messages[0]!.content[0], {
    type: "video_frames",
    video_frames: { frames: [{ url: CLIP.frames[0]!.url, timestamp: 0 }], duration: 1 },
  });
  assert.deepEqual(questionOf(body), { type: "text", text: "What moves?" });
  assert.equal(body.max_tokens, 64);
  assert.equal(body.stream, true);
});

Deno.test("videoRequest() asks the default question when the question is blank", () => {
  for (const blank of ["", "   ", "\n\t"]) {
    assert.deepEqual(questionOf(videoRequest(CLIP, blank, 64)), {
      type: "text",
      text: DEFAULT_VIDEO_QUESTION,
    });
  }
});

Deno.test("sampleTimes() takes 1 frame per second, at most 64, skipping 1 s at each end of a long clip", () => {
  assert.deepEqual(sampleTimes(0.4), [0]);
  assert.equal(sampleTimes(10).length, 10);
  assert.equal(sampleTimes(10)[0], 0);
  const long = sampleTimes(600);
  assert.equal(long.length, 64);
  assert.equal(long[0], 1);
  assert.equal(long.at(-1), 599);
});
