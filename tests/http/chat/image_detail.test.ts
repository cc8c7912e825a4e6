/**
 * One encoder pass per image: `image_url.detail` "low" (or a realtime session's default) sends
 * the picture as SmolVLM's single unsplit image, 64 tokens; "high" tiles it. Real engine (tiny
 * synthetic SmolVLM), in-process app.
 */
import assert from "node:assert/strict";
import { defaultServiceConfig, type ServiceConfig } from "../../../src/config/service_config.ts";
import { loadEngine } from "../../../src/engine/mod.ts";
import { createApp } from "../../../src/http/app.ts";
import { isSingleTile } from "../../../src/http/chat/images.ts";
import { EngineHolder } from "../../../src/http/engine_state.ts";
import { createImageProcessor } from "../../../src/http/image_adapter.ts";
import { encodePng } from "../../../src/image/codecs.ts";
import { TINY } from "../../_support/fixtures.ts";
import { textured } from "../../image/helpers.ts";

// deno-lint-ignore no-explicit-any
type Json = any;

Deno.test("isSingleTile(): low always, high never, auto for a session when the config says low", () => {
  assert.equal(isSingleTile("low", undefined, "high"), true);
  assert.equal(isSingleTile("high", "cam-1", "low"), false);
  assert.equal(isSingleTile("auto", undefined, "low"), false);
  assert.equal(isSingleTile("auto", "cam-1", "low"), true);
  assert.equal(isSingleTile("auto", "cam-1", "high"), false);
});

Deno.test("POST /v1/chat/completions encodes a low-detail or session image in one pass of 64 tokens", async () => {
  await using engine = await loadEngine({
    modelPath: TINY.model,
    mmprojPath: TINY.mmproj,
    contextSize: 4096,
    nativeLog: "silent",
  });
  const appFor = (over: Partial<ServiceConfig> = {}) => {
    const config = { ...defaultServiceConfig(), logDir: "", ...over };
    const images = createImageProcessor({ defaults: config.imageProcessing });
    return createApp({ engine: EngineHolder.ready(engine), config, images });
  };
  const png = await encodePng(textured(1024, 768, 3));
  const url = `data:image/png;base64,${(png as unknown as { toBase64(): string }).toBase64()}`;
  async function ask(
    app: ReturnType<typeof appFor>,
    imageUrl: Record<string, unknown>,
    session?: string,
  ) {
    const res = await app.request("/v1/chat/completions", {
      method: "POST",
      headers: {
        "content-type": "application/json",
        ...(session ? { "x-session-id": session } : {}),
      },
      body: JSON.stringify({
        messages: [{
          role: "user",
          content: [{ type: "image_url", image_url: imageUrl }, { type: "text", text: "What?" }],
        }],
        max_tokens: 4,
        temperature: 0,
      }),
    });
    const body = await res.json() as Json;
    assert.equal(res.status, 200, JSON.stringify(body));
    return body;
  }
  const app = appFor();
  const low = await ask(app, { url, detail: "low" });
  assert.equal(low.usage.prompt_tokens_details.image_tokens, 64);
  assert.equal(low.timings.image_encoder_passes + low.timings.image_cache_hits, 1);
  assert.equal(low.image_reports[0].processed.width, 512);
  assert.equal(low.image_reports[0].processed.height, 512);

  const high = await ask(app, { url, detail: "high" }, "cam-1");
  assert.ok(high.usage.prompt_tokens_details.image_tokens > 64 * 2, "tiles plus an overview");

  const session = await ask(app, { url }, "cam-1");
  assert.equal(session.usage.prompt_tokens_details.image_tokens, 64);
  const plain = await ask(app, { url });
  assert.equal(
    plain.usage.prompt_tokens_details.image_tokens,
    high.usage.prompt_tokens_details.image_tokens,
  );
  const tiled = await ask(appFor({ sessionImageDetail: "high" }), { url }, "cam-2");
  assert.equal(
    tiled.usage.prompt_tokens_details.image_tokens,
    high.usage.prompt_tokens_details.image_tokens,
  );
});
