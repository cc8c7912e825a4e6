import assert from "node:assert/strict";
import { ConfigError, parseServiceConfig } from "../../src/config/service_config.ts";

Deno.test("parseServiceConfig() reads the video section's sampling and limits", () => {
  const config = parseServiceConfig({ video: { max_duration: 20, fps: 2, max_frames: 16 } });
  assert.equal(config.video.maxDurationSeconds, 20);
  assert.equal(config.video.fps, 2);
  assert.equal(config.video.maxFrames, 16);
  assert.equal(parseServiceConfig({}).video.maxFrames, 64, "SmolVLM2's processor default");
});

Deno.test("parseServiceConfig() names the video key, the value and what was expected", () => {
  assert.throws(
    () => parseServiceConfig({ video: { max_duration: -3 } }),
    (e: unknown) =>
      e instanceof ConfigError && e.key === "video.max_duration" && /-3/.test(e.message),
  );
  assert.throws(
    () => parseServiceConfig({ video: { frames_per_second: 2 } }),
    (e: unknown) => e instanceof ConfigError && /video/.test(e.message),
  );
});
