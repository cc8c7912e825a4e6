/** The pool's choice (least outstanding, sessions, exclusions) and the circuit breaker. */
import assert from "node:assert/strict";
import { CircuitBreaker } from "../../src/edge/breaker.ts";
import { UpstreamPool } from "../../src/edge/upstreams.ts";

function pool(urls: string[], clock = { t: 0 }) {
  const p = new UpstreamPool(urls, {
    healthIntervalMs: 1000,
    breakerFailures: 2,
    breakerCooldownMs: 1000,
    sessionTtlMs: 5000,
    now: () => clock.t,
  });
  for (const u of p.upstreams) u.healthy = true;
  return p;
}

Deno.test("choose() picks the upstream with the fewest outstanding requests", () => {
  const p = pool(["http://a", "http://b", "http://c"]);
  p.upstreams[0]!.outstanding = 3;
  p.upstreams[1]!.outstanding = 1;
  p.upstreams[2]!.outstanding = 2;
  assert.equal(p.choose(null)?.url, "http://b");
});

Deno.test("choose() spreads ties across idle upstreams", () => {
  const p = pool(["http://a", "http://b"]);
  const seen = new Set([p.choose(null)?.url, p.choose(null)?.url]);
  assert.deepEqual([...seen].sort(), ["http://a", "http://b"]);
});

Deno.test("choose() skips upstreams marked down and excluded ones", () => {
  const p = pool(["http://a", "http://b", "http://c"]);
  p.upstreams[0]!.healthy = false;
  assert.equal(p.choose(null, new Set([p.upstreams[1]!]))?.url, "http://c");
  assert.equal(p.choose(null, new Set([p.upstreams[1]!, p.upstreams[2]!])), null);
});

Deno.test("choose() keeps a session on its upstream while it is usable, then moves it", () => {
  const clock = { t: 0 };
  const p = pool(["http://a", "http://b"], clock);
  const first = p.choose("s1")!;
  first.outstanding = 10; // busier, but the session's cache lives there
  assert.equal(p.choose("s1"), first);
  first.healthy = false;
  const moved = p.choose("s1")!;
  assert.notEqual(moved, first);
  first.healthy = true;
  assert.equal(p.choose("s1"), moved, "the session stays where it moved to");
  assert.deepEqual(p.sessionCounts(), { [first.url]: 0, [moved.url]: 1 });
  clock.t = 6000;
  p.choose(null);
  assert.deepEqual(p.sessionCounts(), { [first.url]: 0, [moved.url]: 0 }, "idle session expires");
});

Deno.test("CircuitBreaker opens after N failures, half-opens after the cooldown, one trial", () => {
  const clock = { t: 0 };
  const b = new CircuitBreaker({ failures: 2, cooldownMs: 1000, now: () => clock.t });
  b.failure();
  assert.equal(b.state, "closed");
  b.failure();
  assert.equal(b.state, "open");
  assert.equal(b.allows(), false);
  clock.t = 1000;
  assert.equal(b.state, "half_open");
  assert.equal(b.allows(), true);
  b.begin();
  assert.equal(b.allows(), false, "only one trial at a time");
  b.failure();
  assert.equal(b.state, "open", "a failed trial opens it again");
  assert.equal(b.opens, 2);
  clock.t = 2000;
  b.begin();
  b.success();
  assert.equal(b.state, "closed");
});

Deno.test("choose() skips an upstream whose breaker is open", () => {
  const p = pool(["http://a", "http://b"]);
  p.upstreams[0]!.breaker.failure();
  p.upstreams[0]!.breaker.failure();
  for (let i = 0; i < 4; i++) assert.equal(p.choose(null)?.url, "http://b");
  assert.equal(p.upstreams[0]!.status, "down");
});
