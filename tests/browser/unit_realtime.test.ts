import assert from "node:assert/strict";
import { createLatestFrameScheduler, createTicker } from "../../static/js/realtime.js";

/** A send() whose calls the test settles by hand, tracking concurrency. */
function controlledSend() {
  const calls: {
    frame: number;
    signal: AbortSignal;
    resolve: () => void;
    reject: (e: unknown) => void;
  }[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const send = (frame: number, signal: AbortSignal) =>
    new Promise<void>((resolve, reject) => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      const done = () => inFlight--;
      calls.push({
        frame,
        signal,
        resolve: () => {
          done();
          resolve();
        },
        reject: (e) => {
          done();
          reject(e);
        },
      });
      signal.addEventListener("abort", () => {
        done();
        reject(new Error("aborted"));
      });
    });
  return {
    send,
    calls,
    get inFlight() {
      return inFlight;
    },
    get maxInFlight() {
      return maxInFlight;
    },
  };
}

const tick = () => new Promise((r) => setTimeout(r, 0));

Deno.test("scheduler: one request in flight, the newest waiting frame wins", async () => {
  const c = controlledSend();
  const dropped: number[] = [];
  const s = createLatestFrameScheduler<number>({ send: c.send, onDrop: (f) => dropped.push(f) });
  assert.equal(s.offer(0), "ignored"); // not started
  s.start();
  assert.equal(s.offer(1), "sent");
  assert.equal(s.offer(2), "queued");
  assert.equal(s.offer(3), "queued"); // supersedes 2
  assert.equal(s.offer(4), "queued"); // supersedes 3
  await tick();
  assert.equal(c.calls.length, 1);
  assert.deepEqual(dropped, [0, 2, 3]);
  c.calls[0]!.resolve();
  await tick();
  await tick();
  assert.deepEqual(c.calls.map((x) => x.frame), [1, 4]);
  assert.equal(s.hasPending, false);
  c.calls[1]!.resolve();
  await tick();
  await tick();
  assert.equal(s.busy, false);
  const st = s.stats;
  assert.equal(st.sent, 2);
  assert.equal(st.completed, 2);
  assert.equal(st.superseded, 2);
  assert.equal(st.maxInFlight, 1);
  assert.equal(c.maxInFlight, 1);
});

Deno.test("scheduler: stop aborts, drops the waiting frame; restart never overlaps the old request", async () => {
  const c = controlledSend();
  const s = createLatestFrameScheduler<number>({ send: c.send });
  s.start();
  s.offer(1);
  s.offer(2);
  await tick();
  s.stop();
  assert.equal(c.calls[0]!.signal.aborted, true);
  assert.equal(s.hasPending, false);
  // Restart at once, before the aborted request has settled: a new frame must wait.
  s.start();
  assert.equal(s.offer(3), "queued", "the aborted request has not settled yet");
  await tick();
  await tick();
  assert.equal(c.maxInFlight, 1);
  assert.deepEqual(c.calls.map((x) => x.frame), [1, 3]);
  assert.equal(s.stats.completed, 0);
  assert.equal(s.stats.failed, 0, "an abort is not a failure");
  c.calls[1]!.resolve();
  await tick();
  await tick();
  assert.equal(s.stats.completed, 1);
  // start/stop repeatedly: still never more than one.
  for (let i = 0; i < 5; i++) {
    s.start();
    s.offer(10 + i);
    s.offer(20 + i);
    s.stop();
  }
  await tick();
  await tick();
  assert.equal(c.maxInFlight, 1);
  assert.equal(s.running, false);
});

Deno.test("scheduler: a result from before a stop does not count after a restart", async () => {
  const c = controlledSend();
  const s = createLatestFrameScheduler<number>({ send: c.send });
  s.start();
  s.offer(1);
  await tick();
  s.stop();
  s.start();
  await tick();
  await tick();
  assert.equal(s.stats.completed, 0);
  assert.equal(s.stats.failed, 0);
});

Deno.test("scheduler: Retry-After pauses taking frames; too many failures stop it", async () => {
  let now = 1000;
  const c = controlledSend();
  const errors: number[] = [];
  let autoStopped = false;
  const s = createLatestFrameScheduler<number>({
    send: c.send,
    now: () => now,
    retryAfterMs: (e) => (e instanceof Error && e.message === "busy" ? 2000 : null),
    onError: (_e, n) => errors.push(n),
    onAutoStop: () => {
      autoStopped = true;
    },
    maxConsecutiveFailures: 3,
  });
  s.start();
  s.offer(1);
  s.offer(2);
  await tick();
  c.calls[0]!.reject(new Error("busy"));
  await tick();
  await tick();
  assert.equal(c.calls.length, 1, "the waiting frame is dropped while the server asks to wait");
  assert.equal(s.offer(3), "paused");
  assert.equal(s.pausedForMs, 2000);
  now += 2001;
  assert.equal(s.offer(4), "sent");
  await tick();
  c.calls[1]!.reject(new Error("x"));
  await tick();
  await tick();
  s.offer(5);
  await tick();
  c.calls[2]!.reject(new Error("y"));
  await tick();
  await tick();
  assert.deepEqual(errors, [1, 2, 3]);
  assert.equal(autoStopped, true);
  assert.equal(s.running, false);
  assert.equal(s.stats.skipped, 2);
});

Deno.test("scheduler: a success resets the failure count", async () => {
  const c = controlledSend();
  const counts: number[] = [];
  const s = createLatestFrameScheduler<number>({
    send: c.send,
    onError: (_e, n) => counts.push(n),
  });
  s.start();
  for (const outcome of ["fail", "fail", "ok", "fail"]) {
    s.offer(1);
    await tick();
    const call = c.calls.at(-1)!;
    if (outcome === "ok") call.resolve();
    else call.reject(new Error(outcome));
    await tick();
    await tick();
  }
  assert.deepEqual(counts, [1, 2, 1]);
  assert.equal(s.running, true);
});

Deno.test("ticker: one timer however often started; restarts on a new interval", () => {
  const timers = new Map<number, { fn: () => void; ms: number }>();
  let next = 1;
  let ticks = 0;
  const t = createTicker({
    onTick: () => ticks++,
    setInterval: (fn, ms) => {
      timers.set(next, { fn, ms });
      return next++;
    },
    clearInterval: (id) => timers.delete(id as number),
  });
  t.start(500);
  t.start(500);
  t.start(500);
  assert.equal(timers.size, 1);
  assert.equal(ticks, 1, "ticks at once on start, once");
  [...timers.values()][0]!.fn();
  assert.equal(ticks, 2);
  t.start(1000);
  assert.equal(timers.size, 1);
  assert.equal([...timers.values()][0]!.ms, 1000);
  assert.equal(ticks, 2, "changing the interval does not tick");
  t.stop();
  t.stop();
  assert.equal(timers.size, 0);
  assert.equal(t.running, false);
  t.start(250);
  assert.equal(timers.size, 1);
  assert.equal(ticks, 3);
  t.stop();
});
