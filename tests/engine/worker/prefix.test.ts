import assert from "node:assert/strict";
import { type CachedItem, commonPrefix } from "../../../src/engine/worker/prefix.ts";

const text = (...tokens: number[]): CachedItem[] =>
  tokens.map((token) => ({ kind: "text", token }));
const image = (key: string, positions = 64): CachedItem => ({ kind: "image", key, positions });

Deno.test("commonPrefix() counts matching items and the positions they fill", () => {
  const cached = [...text(1, 2), image("cat#0"), ...text(3, 4, 5)];
  const prompt = [...text(1, 2), image("cat#0"), ...text(3, 9, 9)];
  assert.deepEqual(commonPrefix(cached, prompt), { items: 4, positions: 2 + 64 + 1 });
});

Deno.test("commonPrefix() stops at an image with a different content key", () => {
  const cached = [...text(1), image("cat#0"), ...text(2)];
  const prompt = [...text(1), image("dog#0"), ...text(2)];
  assert.deepEqual(commonPrefix(cached, prompt), { items: 1, positions: 1 });
});

Deno.test("commonPrefix() always leaves the prompt's last item to evaluate", () => {
  const same = [...text(1), image("cat#0"), ...text(2, 3)];
  assert.deepEqual(commonPrefix(same, same), { items: 3, positions: 1 + 64 + 1 });
  assert.deepEqual(commonPrefix([...same, ...text(7, 8)], same).items, 3);
});

Deno.test("commonPrefix() of an empty slot is empty", () => {
  assert.deepEqual(commonPrefix([], text(1, 2)), { items: 0, positions: 0 });
});
