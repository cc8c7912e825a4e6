import assert from "node:assert/strict";
import { describeOrigin, resolveConfig } from "../../src/config/resolve.ts";
import { ConfigError, parseServiceConfig } from "../../src/config/service_config.ts";
import { parseServeArgs } from "../../src/cli/serve_args.ts";

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

Deno.test("parseServiceConfig() bounds each video decoder: 1024 MB and 2 threads unless set", () => {
  const defaults = parseServiceConfig({}).video;
  assert.equal(defaults.maxDecoderMemoryMb, 1024);
  assert.equal(defaults.decoderThreads, 2);
  const set = parseServiceConfig({ video: { max_decoder_memory_mb: 512, decoder_threads: 1 } });
  assert.equal(set.video.maxDecoderMemoryMb, 512);
  assert.equal(set.video.decoderThreads, 1);
  const refused: [string, unknown][] = [
    ["max_decoder_memory_mb", 0],
    ["max_decoder_memory_mb", -1],
    ["max_decoder_memory_mb", 1.5],
    ["max_decoder_memory_mb", "1G"],
    ["decoder_threads", 0],
    ["decoder_threads", 65],
  ];
  for (const [key, value] of refused) {
    assert.throws(
      () => parseServiceConfig({ video: { [key]: value } }),
      (e: unknown) => e instanceof ConfigError && e.key === `video.${key}`,
      `${key}: ${JSON.stringify(value)}`,
    );
  }
});

Deno.test("resolveConfig() takes the decoder memory cap from --max-decoder-memory-mb or the env", async () => {
  const inputs = (args: string[], env: Record<string, string> = {}) => ({
    flags: parseServeArgs(args),
    env: (name: string) => env[name],
  });
  const env = { SMOLVLM_MAX_DECODER_MEMORY_MB: "256" };
  const fromEnv = await resolveConfig(inputs([], env));
  assert.equal(fromEnv.config.video.maxDecoderMemoryMb, 256);
  assert.equal(
    describeOrigin(fromEnv.origins.get("video.max_decoder_memory_mb")!),
    "env SMOLVLM_MAX_DECODER_MEMORY_MB",
  );
  const flag = await resolveConfig(inputs(["--max-decoder-memory-mb", "2048"], env));
  assert.equal(flag.config.video.maxDecoderMemoryMb, 2048);
  await assert.rejects(
    resolveConfig(inputs(["--max-decoder-memory-mb", "lots"])),
    (e: unknown) =>
      e instanceof ConfigError && e.key === "video.max_decoder_memory_mb" && /lots/.test(e.message),
  );
});
