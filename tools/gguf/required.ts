/**
 * The tools' strict side of the GGUF reader's accessors: src/models/gguf.ts returns null for an
 * absent or mistyped key (the service decides what a missing fact means); a fixture tool that
 * needs a key fails with the file and key named.
 *
 * @module
 */

import type { GgufHeader } from "../../src/models/gguf.ts";

/** `get(h, key)`, or an error naming the file and the key when it is absent or mistyped. */
export function required<T>(
  h: GgufHeader,
  key: string,
  get: (h: GgufHeader, key: string) => T | null,
): T {
  const v = get(h, key);
  if (v === null) throw new Error(`${h.path}: metadata ${key} is missing or of another type`);
  return v;
}
