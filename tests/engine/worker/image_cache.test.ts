import assert from "node:assert/strict";
import { EmbeddingCache } from "../../../src/engine/worker/image_cache.ts";

const floats = (n: number, fill = 0) => new Float32Array(n).fill(fill);

Deno.test("EmbeddingCache.get() counts hits and misses and returns what was stored", () => {
  const cache = new EmbeddingCache(1024);
  assert.equal(cache.get("a"), undefined);
  cache.set("a", floats(4, 7));
  assert.deepEqual([...cache.get("a")!], [7, 7, 7, 7]);
  assert.deepEqual(cache.stats(), {
    hits: 1,
    misses: 1,
    entries: 1,
    bytes: 16,
    capacityBytes: 1024,
  });
});

Deno.test("EmbeddingCache.set() evicts the least recently used entries past the byte bound", () => {
  const cache = new EmbeddingCache(3 * 40);
  cache.set("a", floats(10));
  cache.set("b", floats(10));
  cache.set("c", floats(10));
  cache.get("a"); // a is now the most recently used
  cache.set("d", floats(10)); // evicts b
  assert.equal(cache.get("b"), undefined);
  assert.ok(cache.get("a") && cache.get("c") && cache.get("d"));
  assert.equal(cache.stats().bytes, 120);
});

Deno.test("EmbeddingCache.set() keeps nothing larger than the whole bound, and replaces a key", () => {
  const cache = new EmbeddingCache(40);
  cache.set("big", floats(11));
  assert.equal(cache.stats().entries, 0);
  cache.set("k", floats(5));
  cache.set("k", floats(10));
  assert.deepEqual([cache.stats().entries, cache.stats().bytes], [1, 40]);
});
