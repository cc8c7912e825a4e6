import assert from "node:assert/strict";
import { CircuitBreaker } from "../../src/edge/breaker.ts";

function halfOpen() {
  const clock = { t: 0 };
  const breaker = new CircuitBreaker({ failures: 1, cooldownMs: 100, now: () => clock.t });
  breaker.failure();
  assert.equal(breaker.state, "open");
  clock.t = 100;
  assert.equal(breaker.state, "half_open");
  return breaker;
}

Deno.test("CircuitBreaker lets one trial through when half-open; its success closes it", () => {
  const breaker = halfOpen();
  assert.ok(breaker.allows());
  breaker.begin();
  assert.ok(!breaker.allows(), "one trial at a time");
  breaker.success();
  assert.equal(breaker.state, "closed");
});

Deno.test("CircuitBreaker.release() ends a trial without a verdict: still half-open, next may try", () => {
  const breaker = halfOpen();
  breaker.begin();
  breaker.release(); // the trial's client left before the upstream answered
  assert.equal(breaker.state, "half_open");
  assert.ok(breaker.allows());
  breaker.begin();
  breaker.failure();
  assert.equal(breaker.state, "open");
});
