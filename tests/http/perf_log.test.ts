/** The periodic performance line: requests, error rate, tokens/s and p50/p95 of an interval. */
import assert from "node:assert/strict";
import type { Logger } from "@logtape/logtape";
import { logPerf, PerfWindow, startPerfLog } from "../../src/http/perf_log.ts";

Deno.test("PerfWindow.take() summarises one interval, then starts the next from zero", () => {
  let now = 0;
  const w = new PerfWindow(() => now);
  for (let i = 1; i <= 100; i++) w.request(i === 100 ? 500 : i % 10 === 0 ? 429 : 200, i / 1000);
  w.generation(30);
  w.generation(20);
  now = 10_000;
  const s = w.take();
  assert.equal(s.seconds, 10);
  assert.equal(s.requests, 100);
  assert.equal(s.errors, 1, "status >= 500");
  assert.equal(s.rejected, 9, "the 429s");
  assert.equal(s.errorRate, 0.01);
  assert.equal(s.completionTokens, 50);
  assert.equal(s.tokensPerSecond, 5);
  assert.equal(s.p50Ms, 50);
  assert.equal(s.p95Ms, 95);
  now = 12_000;
  const next = w.take();
  assert.deepEqual(
    [next.seconds, next.requests, next.errorRate, next.tokensPerSecond, next.p50Ms],
    [2, 0, 0, 0, null],
  );
});

function recordingLogger() {
  const lines: { level: string; message: string; props: Record<string, unknown> }[] = [];
  const at = (level: string) => (message: string, props?: Record<string, unknown>) =>
    void lines.push({ level, message, props: props ?? {} });
  return { lines, log: { info: at("info"), warn: at("warning") } as unknown as Logger };
}

Deno.test("logPerf() writes one line through the logger; a warning when requests failed", () => {
  const { lines, log } = recordingLogger();
  const w = new PerfWindow();
  w.request(200, 0.2);
  logPerf(log, w.take());
  w.request(503, 0.1);
  logPerf(log, w.take());
  assert.deepEqual(lines.map((l) => l.level), ["info", "warning"]);
  assert.match(lines[0]!.message, /requests.*error.*tokens\/s.*p50.*p95/);
  assert.equal(lines[0]!.props.requests, 1);
  assert.equal(lines[1]!.props.errorRate, 1);
});

Deno.test("startPerfLog() logs every interval and stops; interval 0 never logs", async () => {
  const { lines, log } = recordingLogger();
  const w = new PerfWindow();
  const stop = startPerfLog(w, 20, log);
  w.request(200, 0.01);
  await new Promise((r) => setTimeout(r, 110));
  stop();
  const n = lines.length;
  assert.ok(n >= 2, `${n} lines in 110 ms at 20 ms`);
  assert.equal(lines[0]!.props.requests, 1);
  await new Promise((r) => setTimeout(r, 60));
  assert.equal(lines.length, n, "no line after stop");
  const off = recordingLogger();
  startPerfLog(new PerfWindow(), 0, off.log)();
  await new Promise((r) => setTimeout(r, 30));
  assert.equal(off.lines.length, 0);
});
