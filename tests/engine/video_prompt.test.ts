/**
 * SmolVLM2's video prompt, byte for byte, and its token layout through the real engine.
 *
 * Provenance of the expected strings: Hugging Face transformers (read from its source, not run):
 * `models/smolvlm/processing_smolvlm.py` — DEFAULT_CHAT_TEMPLATE (`User` then `': '` unless the
 * first part is an image; a video part renders `<video>`), `process_video` (replaces `<video>`
 * with DEFAULT_VIDEO_INTRO.format(frame_count=num2words(N), video_duration=str(timedelta(
 * seconds=int(duration)))) + per frame FRAME_TIMESTAMP_MESSAGE + `_prompt_single_image`, then
 * DEFAULT_MEDIA_OUTTRO) — and `models/smolvlm/video_processing_smolvlm.py` for the three
 * constants. `image_seq_len` is 64 for SmolVLM2-256M/500M (512 px tiles, 16 px patches, scale
 * factor 4). The Jinja template itself was not rendered here (no Jinja engine in the repo); the
 * expected text is written out from it by hand.
 */
import assert from "node:assert/strict";
import { loadEngine, type VideoClip } from "../../src/engine/mod.ts";
import { renderPrompt } from "../../src/engine/prompt.ts";
import {
  clockDuration,
  frameTimestamp,
  numberInWords,
  videoPromptText,
} from "../../src/engine/video_prompt.ts";
import { LlamaModel } from "../../ffi/llama.ts";
import { defaultMediaMarker } from "../../ffi/mtmd.ts";
import { syntheticImage, TINY } from "../_support/fixtures.ts";

const IMAGE_TOKENS = "<image>".repeat(64);
const FRAME = (mmss: string) =>
  `\nFrame from ${mmss}:<fake_token_around_image><global-img>${IMAGE_TOKENS}<fake_token_around_image>`;

/** processor(text=apply_chat_template([{user: [video, text]}], add_generation_prompt=True)). */
const EXPECTED_HF = "<|im_start|>User: You are provided the following series of three frames " +
  "from a 0:00:10 [H:MM:SS] video.\n" +
  FRAME("00:00") + FRAME("00:04") + FRAME("00:09") +
  "\n\nWhat happens in the video?<end_of_utterance>\nAssistant:";

const CLIP: VideoClip = {
  frames: [0, 4.5, 9.9].map((timestamp, i) => ({
    image: syntheticImage(512, 512, i),
    timestamp,
  })),
  duration: 10.6,
};

const MESSAGES = [{
  role: "user" as const,
  content: [
    { type: "video" as const, video: CLIP },
    { type: "text" as const, text: "What happens in the video?" },
  ],
}];

Deno.test("numberInWords() writes num2words' English cardinals", () => {
  const cases: [number, string][] = [
    [1, "one"],
    [13, "thirteen"],
    [20, "twenty"],
    [21, "twenty-one"],
    [64, "sixty-four"],
    [100, "one hundred"],
    [256, "two hundred and fifty-six"],
  ];
  for (const [n, words] of cases) assert.equal(numberInWords(n), words);
  assert.throws(() => numberInWords(1000), RangeError);
});

Deno.test("clockDuration() and frameTimestamp() write timedelta's H:MM:SS and the MM:SS stamps", () => {
  assert.equal(clockDuration(10.99), "0:00:10");
  assert.equal(clockDuration(3725), "1:02:05");
  assert.equal(clockDuration(90000), "1 day, 1:00:00");
  assert.equal(frameTimestamp(0), "00:00");
  assert.equal(frameTimestamp(75.9), "01:15");
  assert.equal(frameTimestamp(6001), "100:01");
});

Deno.test("renderPrompt() writes a video's user turn exactly as SmolVLM2's template and processor do", async () => {
  const marker = await defaultMediaMarker();
  const rendered = await renderPrompt(MESSAGES, null, marker);
  assert.deepEqual(rendered.isFrame, [true, true, true]);
  assert.equal(rendered.images.length, 3);
  assert.equal(rendered.text.replaceAll(marker, IMAGE_TOKENS), EXPECTED_HF);
  // The same text whatever the slot: the marker only stands where the image tokens go.
  const start = "<|im_start|>User: ".length, end = EXPECTED_HF.indexOf("What happens");
  assert.equal(videoPromptText(CLIP, IMAGE_TOKENS), EXPECTED_HF.slice(start, end));
});

Deno.test("a video through the engine is N image chunks of 64 tokens and the template's text tokens", async () => {
  const model = await LlamaModel.load(TINY.model);
  assert.ok(model, `cannot load ${TINY.model} (run ./run fixtures --preset all)`);
  // The whole expected sequence: text tokens plus one position per <image>.
  const expectedPositions = model.vocab.tokenize(EXPECTED_HF, true, true).length;
  model.close();

  await using engine = await loadEngine({
    modelPath: TINY.model,
    mmprojPath: TINY.mmproj,
    contextSize: 2048,
    nativeLog: "silent",
  });
  const request = { messages: MESSAGES, maxTokens: 4, sampling: { temperature: 0 } };
  const first = await engine.generate(request).result;
  assert.equal(first.usage.imageTokens, 3 * 64);
  assert.equal(first.timings.imageEncoderPasses, 3, "one encoder pass per frame, never tiled");
  assert.equal(first.usage.promptTokens, expectedPositions);

  // Asked again with another question: every frame comes from the embedding cache or KV.
  const again = await engine.generate({
    ...request,
    messages: [{
      role: "user",
      content: [{ type: "video", video: CLIP }, { type: "text", text: "Again?" }],
    }],
  }).result;
  assert.equal(again.timings.imageEncoderPasses, 0);
  assert.equal(again.usage.imageTokens, 3 * 64);
});
