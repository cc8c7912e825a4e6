/**
 * Video through POST /v1/chat/completions with the real engine (tiny synthetic SmolVLM) and
 * ffmpeg: a generated clip as `video_url`, the same frames as `video_frames`, and the clips that
 * must be refused with a clear 4xx.
 */
import assert from "node:assert/strict";
import { defaultServiceConfig } from "../../src/config/service_config.ts";
import { loadEngine } from "../../src/engine/mod.ts";
import { createApp } from "../../src/http/app.ts";
import { EngineHolder } from "../../src/http/engine_state.ts";
import { createImageProcessor } from "../../src/http/image_adapter.ts";
import { encodePng } from "../../src/image/codecs.ts";
import {
  decodeClip,
  FfmpegDecoder,
  parseVideoConfig,
  type VideoService,
} from "../../src/video/mod.ts";
import { TINY } from "../_support/fixtures.ts";
import { cappedDecoder, dataUrl, makeClip } from "./clips.ts";

// deno-lint-ignore no-explicit-any
type Json = any;

Deno.test("video parts of a chat request", async (t) => {
  const decoder = cappedDecoder();
  await using engine = await loadEngine({
    modelPath: TINY.model,
    mmprojPath: TINY.mmproj,
    contextSize: 4096,
    nativeLog: "silent",
  });
  // Frames are squared to the model's own tile side, as the API does.
  const tileSize = engine.info.facts.vision?.tileSize;
  assert.ok(tileSize, "the tiny fixture's projector reports its tile side");
  const config = { ...defaultServiceConfig(), logDir: "" };
  const images = createImageProcessor({ defaults: config.imageProcessing });
  const appWith = (video: VideoService) =>
    createApp({ engine: EngineHolder.ready(engine), config, images, video });
  const withFfmpeg = appWith({ decoder, config: parseVideoConfig({ max_duration: 30 }) });

  async function ask(app: ReturnType<typeof appWith>, part: unknown) {
    const res = await app.request("/v1/chat/completions", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        messages: [{ role: "user", content: [part, { type: "text", text: "What happens?" }] }],
        max_tokens: 6,
        temperature: 0,
      }),
    });
    return { status: res.status, body: await res.json() as Json };
  }

  const mp4 = await makeClip(4);
  let viaUrl: Json;

  await t.step("a 4 s mp4 as video_url: four frames of 64 image tokens each", async () => {
    const { status, body } = await ask(withFfmpeg, {
      type: "video_url",
      video_url: { url: dataUrl("video/mp4", mp4) },
    });
    assert.equal(status, 200, JSON.stringify(body));
    assert.equal(body.usage.prompt_tokens_details.image_tokens, 4 * 64);
    assert.ok(body.usage.prompt_tokens > 4 * 64 + 40, "the video prompt's text counts too");
    assert.equal(body.image_reports?.length ?? 4, 4);
    viaUrl = body;
  });

  await t.step("the same frames as video_frames give the same prompt tokens", async () => {
    const clip = await decodeClip(
      { decoder, config: parseVideoConfig() },
      mp4,
      "video/mp4",
      tileSize,
    );
    const frames = await Promise.all(clip.frames.map(async (rgb, i) => ({
      url: dataUrl(
        "image/png",
        await encodePng({ width: tileSize, height: tileSize, data: rgb }),
      ),
      timestamp: clip.timestamps[i]!,
    })));
    const { status, body } = await ask(withFfmpeg, {
      type: "video_frames",
      video_frames: { frames, duration: clip.duration },
    });
    assert.equal(status, 200, JSON.stringify(body));
    assert.equal(body.usage.prompt_tokens, viaUrl.usage.prompt_tokens);
    assert.equal(body.usage.prompt_tokens_details.image_tokens, 4 * 64);
    // Same pixels, same prompt: greedy decoding gives the same answer.
    assert.equal(body.choices[0].message.content, viaUrl.choices[0].message.content);
  });

  await t.step("a webm clip is accepted too", async () => {
    const webm = await makeClip(2, { container: "webm" });
    const { status, body } = await ask(withFfmpeg, {
      type: "video_url",
      video_url: dataUrl("video/webm", webm),
    });
    assert.equal(status, 200, JSON.stringify(body));
    assert.equal(body.usage.prompt_tokens_details.image_tokens, 2 * 64);
  });

  const refusals: [string, Uint8Array, string, number, string, RegExp][] = [
    [
      "a truncated mp4",
      mp4.slice(0, Math.floor(mp4.length / 3)),
      "video/mp4",
      400,
      "invalid_video",
      /truncated|corrupt|could not be read|moov/,
    ],
    [
      "an AVI (unsupported container)",
      riff(),
      "video/x-msvideo",
      415,
      "unsupported_video_format",
      /only mp4 and webm/,
    ],
  ];
  for (const [what, bytes, mime, status, code, message] of refusals) {
    await t.step(`${what} is a ${status} ${code}`, async () => {
      const res = await ask(withFfmpeg, { type: "video_url", video_url: dataUrl(mime, bytes) });
      assert.equal(res.status, status, JSON.stringify(res.body));
      assert.equal(res.body.error.code, code);
      assert.match(res.body.error.message, message);
      assert.equal(res.body.error.param, "messages[0].content[0].video_url");
    });
  }

  await t.step("a clip longer than the server's limit is a 400 video_too_long", async () => {
    const long = await makeClip(40, { rate: 2, size: "32x32" });
    const res = await ask(withFfmpeg, { type: "video_url", video_url: dataUrl("video/mp4", long) });
    assert.equal(res.status, 400, JSON.stringify(res.body));
    assert.equal(res.body.error.code, "video_too_long");
    assert.match(res.body.error.message, /lasts 40\.0 s; at most 30 s/);
  });

  await t.step(
    "a clip over the decoder's memory cap is a 422 video_decode_out_of_memory; the next one decodes",
    async () => {
      const capped = appWith({ decoder, config: parseVideoConfig({ max_decoder_memory_mb: 20 }) });
      const part = { type: "video_url", video_url: dataUrl("video/mp4", mp4) };
      const refused = await ask(capped, part);
      assert.equal(refused.status, 422, JSON.stringify(refused.body));
      assert.deepEqual(Object.keys(refused.body.error).sort(), [
        "code",
        "message",
        "param",
        "type",
      ]);
      assert.equal(refused.body.error.code, "video_decode_out_of_memory");
      assert.equal(refused.body.error.param, "messages[0].content[0].video_url");
      assert.match(refused.body.error.message, /more than the 20 MB of memory/);
      const next = await ask(withFfmpeg, part);
      assert.equal(next.status, 200, JSON.stringify(next.body));
      assert.equal(next.body.usage.prompt_tokens_details.image_tokens, 4 * 64);
    },
  );

  await t.step("/v1/info says whether each decoder child's memory cap is enforced", async () => {
    const video = async (app: ReturnType<typeof appWith>) =>
      (await (await app.request("/v1/info")).json() as Json).video;
    assert.deepEqual(await video(withFfmpeg), {
      decoder: "ffmpeg",
      max_decoder_memory_mb: 1024,
      memory_cap_enforced: true,
      decoder_threads: 2,
    });
    // Without prlimit the decoder runs uncapped, and /v1/info says so.
    const { ffmpeg, ffprobe } = decoder.paths;
    const uncapped = new FfmpegDecoder({ ffmpeg, ffprobe, prlimit: null });
    const info = await video(appWith({ decoder: uncapped, config: parseVideoConfig() }));
    assert.equal(info.memory_cap_enforced, false);
    const none = await video(appWith({ decoder: null, config: parseVideoConfig() }));
    assert.equal(none.decoder, null);
    assert.equal(none.memory_cap_enforced, false);
  });

  await t.step("without ffmpeg video_url is refused clearly and frames still work", async () => {
    const bare = appWith({ decoder: null, config: parseVideoConfig() });
    const refused = await ask(bare, { type: "video_url", video_url: dataUrl("video/mp4", mp4) });
    assert.equal(refused.status, 400);
    assert.equal(refused.body.error.code, "video_decoding_unavailable");
    assert.match(refused.body.error.message, /no video decoder.*video_frames/);
    const frame = dataUrl(
      "image/png",
      await encodePng({ width: 64, height: 64, data: new Uint8Array(64 * 64 * 3).fill(90) }),
    );
    const ok = await ask(bare, {
      type: "video_frames",
      video_frames: {
        frames: [{ url: frame, timestamp: 0 }, { url: frame, timestamp: 1 }],
        duration: 2,
      },
    });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.equal(ok.body.usage.prompt_tokens_details.image_tokens, 2 * 64);
  });

  await t.step(
    "video_frames whose timestamps go backwards are a 400 naming the field",
    async () => {
      const frame = "data:image/png;base64,AAAA";
      const res = await ask(withFfmpeg, {
        type: "video_frames",
        video_frames: {
          frames: [{ url: frame, timestamp: 2 }, { url: frame, timestamp: 1 }],
          duration: 3,
        },
      });
      assert.equal(res.status, 400);
      assert.match(res.body.error.message, /timestamps must not decrease/);
    },
  );
});

/** The first bytes of an AVI file: RIFF....AVI LIST. */
function riff(): Uint8Array {
  const bytes = new Uint8Array(64);
  bytes.set(new TextEncoder().encode("RIFF\x38\x00\x00\x00AVI LIST"));
  return bytes;
}
