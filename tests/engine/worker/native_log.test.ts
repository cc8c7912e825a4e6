import assert from "node:assert/strict";
import { NativeLog } from "../../../src/engine/worker/native_log.ts";

Deno.test("NativeLog.reason() quotes the first error line since the last clear", () => {
  const log = new NativeLog("silent");
  log.write("info", "loading\n");
  log.write("error", "llama_model_load: error loading model: CLIP cannot be used ");
  log.write("cont", "as main model\n");
  log.write("error", "llama_model_load_from_file_impl: failed to load model\n");
  assert.equal(
    log.reason(),
    " (llama.cpp: llama_model_load: error loading model: CLIP cannot be used as main model)",
  );
  assert.equal(log.lastError, "llama_model_load_from_file_impl: failed to load model");
  log.clearLastError();
  assert.equal(log.reason(), "");
  log.write("warn", "only a warning\n");
  assert.equal(log.firstError, null);
});
