import assert from "node:assert/strict";
import { Utf8Stream } from "../../src/engine/utf8.ts";
import { StopMatcher } from "../../src/engine/stop_strings.ts";
import { DeltaStream } from "../../src/engine/delta_stream.ts";

Deno.test("Utf8Stream.push() holds back a character split across token pieces", () => {
  const bytes = new TextEncoder().encode("a€😀b"); // 1 + 3 + 4 + 1 bytes
  const stream = new Utf8Stream();
  const out: string[] = [];
  for (const cut of [[0, 2], [2, 3], [3, 6], [6, 8], [8, 9]]) {
    out.push(stream.push(bytes.subarray(cut[0], cut[1])));
  }
  out.push(stream.end());
  assert.deepEqual(out, ["a", "", "€", "😀", "b", ""]);
  for (const piece of out) assert.ok(!piece.includes("\uFFFD"));
});

Deno.test("Utf8Stream.end() turns a dangling partial character into U+FFFD", () => {
  const stream = new Utf8Stream();
  assert.equal(stream.push(new Uint8Array([0x41, 0xe2, 0x82])), "A");
  assert.equal(stream.end(), "\uFFFD");
});

Deno.test("StopMatcher.push() never emits a stop string split across pieces", () => {
  const m = new StopMatcher(["STOP", "\n\n"]);
  assert.equal(m.push("hello S"), "hello ");
  assert.equal(m.push("T"), "");
  assert.equal(m.push("OP and more"), "");
  assert.equal(m.stopped, true);
  assert.equal(m.flush(), "");
});

Deno.test("StopMatcher.push() releases held text that turned out not to be a stop", () => {
  const m = new StopMatcher(["STOP"]);
  assert.equal(m.push("ST"), "");
  assert.equal(m.push("ART"), "START");
  assert.equal(m.push("x S"), "x ");
  assert.equal(m.flush(), "S");
  assert.equal(m.stopped, false);
});

Deno.test("StopMatcher picks the earliest of several stops", () => {
  const m = new StopMatcher(["bb", "a"]);
  assert.equal(m.push("xxbbya"), "xx");
});

Deno.test("DeltaStream iterates pushed deltas, then ends; result resolves", async () => {
  const s = new DeltaStream("t");
  s.push("a");
  setTimeout(() => {
    s.push("b");
    s.finish({} as never);
  }, 5);
  const got: string[] = [];
  for await (const d of s) got.push(d.text);
  assert.deepEqual(got, ["a", "b"]);
  await s.result;
});

Deno.test("DeltaStream.fail() rejects result and the iterator without an unhandled rejection", async () => {
  const s = new DeltaStream("t");
  s.fail(new Error("boom"));
  await assert.rejects(async () => {
    for await (const _ of s) { /* nothing */ }
  }, /boom/);
  await assert.rejects(s.result, /boom/);
});
