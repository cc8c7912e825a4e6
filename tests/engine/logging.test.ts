/**
 * The engine's debug records (category smolvlm.engine): each step of a model load with its
 * time, at start and on reload, and each generation a newer request of its session supersedes.
 */
import assert from "node:assert/strict";
import type { LogRecord } from "@logtape/logtape";
import { loadEngine } from "../../src/engine/mod.ts";
import { captureLogs, rendered } from "../_support/logs.ts";
import { TINY } from "../_support/fixtures.ts";

const PHASES = [
  "native_libraries",
  "gguf_check",
  "devices",
  "text_model",
  "context",
  "projector",
  "warmup",
];

function phases(records: readonly LogRecord[]): unknown[] {
  return records.filter((r) => r.rawMessage === "model load: {phase} took {ms} ms")
    .map((r) => r.properties.phase);
}

Deno.test("loadEngine() records each load step; generate() records who superseded whom", async () => {
  const records = await captureLogs("debug", async () => {
    await using engine = await loadEngine({
      modelPath: TINY.model,
      mmprojPath: TINY.mmproj,
      contextSize: 2048,
      nativeLog: "silent",
    });
    const frame = (arrivedAt: number) =>
      engine.generate({
        messages: [{ role: "user", content: "What now?" }],
        maxTokens: 200,
        sessionId: "camera-1",
        arrivedAt,
        sampling: { temperature: 0 },
      });
    const first = frame(1);
    const second = frame(3);
    const late = frame(2); // arrived before the second, reached the engine after it
    assert.equal((await first.result).finishReason, "superseded");
    assert.equal((await late.result).finishReason, "superseded");
    await second.result;
    await engine.reload!({ graceMs: 0 });
  });
  const engineRecords = records.filter((r) => r.category.join(".") === "smolvlm.engine");
  assert.ok(engineRecords.every((r) => r.level === "debug"));
  const starts = engineRecords.filter((r) => String(r.rawMessage).includes("{what}"))
    .map((r) => r.properties.what);
  assert.deepEqual(starts, ["loading", "reloading"]);
  assert.deepEqual(phases(records), [...PHASES, ...PHASES.slice(1)]);
  for (const r of records.filter((r) => r.properties.phase !== undefined)) {
    assert.ok((r.properties.ms as number) >= 0);
  }
  const superseded = engineRecords.filter((r) => String(r.rawMessage).includes("superseded"))
    .map(rendered);
  assert.deepEqual(superseded, [
    "generation gen-1 superseded by gen-2 (session camera-1)",
    "generation gen-3 superseded on arrival: a later request of session camera-1 reached the " +
    "engine first",
  ]);
});

Deno.test("loadEngine() records nothing at info level", async () => {
  const records = await captureLogs("info", async () => {
    await using _engine = await loadEngine({
      modelPath: TINY.model,
      mmprojPath: TINY.mmproj,
      contextSize: 2048,
      nativeLog: "silent",
    });
  });
  assert.deepEqual(records, []);
});
