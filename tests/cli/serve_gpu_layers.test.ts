/** `--gpu-layers` and `inference.gpu_layers`: absent means "all when a GPU is present". */
import assert from "node:assert/strict";
import { resolveServeConfig } from "../../src/cli/serve_args.ts";
import { ConfigError, parseServiceConfig } from "../../src/config/service_config.ts";
import { TINY } from "../_support/fixtures.ts";

const model = ["--model", TINY.model, "--mmproj", TINY.mmproj];

Deno.test("resolveServeConfig() leaves gpu layers to the load unless --gpu-layers is given", async () => {
  const auto = await resolveServeConfig(model);
  assert.ok(auto !== "help");
  assert.equal(auto.gpuLayers, null);
  const all = await resolveServeConfig([...model, "--gpu-layers", "-1"]);
  assert.ok(all !== "help");
  assert.equal(all.gpuLayers, -1);
  const none = await resolveServeConfig([...model, "--gpu-layers", "0"]);
  assert.ok(none !== "help");
  assert.equal(none.gpuLayers, 0);
  await assert.rejects(resolveServeConfig([...model, "--gpu-layers", "-2"]), /--gpu-layers/);
});

Deno.test("parseServiceConfig() reads inference.gpu_layers and refuses values below -1", () => {
  assert.equal(parseServiceConfig({ inference: { gpu_layers: 12 } }).gpuLayers, 12);
  assert.equal(parseServiceConfig({}).gpuLayers, null);
  assert.throws(() => parseServiceConfig({ inference: { gpu_layers: -5 } }), ConfigError);
});
