/**
 * Image-embedding cache: the vision encoder's output per image tile, keyed by a content hash of
 * the pixels and the tile's place in the image, bounded in bytes, least recently used evicted.
 * A Map keeps insertion order, so re-inserting on a hit makes the first key the LRU one.
 */
import type { ImageCacheStats } from "../types.ts";

export class EmbeddingCache {
  readonly capacityBytes: number;
  readonly #entries = new Map<string, Float32Array<ArrayBuffer>>();
  #bytes = 0;
  #hits = 0;
  #misses = 0;

  constructor(capacityBytes: number) {
    this.capacityBytes = Math.max(0, capacityBytes);
  }

  /** The embeddings for `key`, counted as a hit, or undefined (a miss). */
  get(key: string): Float32Array<ArrayBuffer> | undefined {
    const value = this.#entries.get(key);
    if (value === undefined) {
      this.#misses++;
      return undefined;
    }
    this.#hits++;
    this.#entries.delete(key);
    this.#entries.set(key, value);
    return value;
  }

  /** Stores `value`, evicting the least recently used entries; too-large values are not kept. */
  set(key: string, value: Float32Array<ArrayBuffer>): void {
    const previous = this.#entries.get(key);
    if (previous) {
      this.#entries.delete(key);
      this.#bytes -= previous.byteLength;
    }
    if (value.byteLength > this.capacityBytes) return;
    this.#entries.set(key, value);
    this.#bytes += value.byteLength;
    for (const [oldest, embeddings] of this.#entries) {
      if (this.#bytes <= this.capacityBytes) break;
      this.#entries.delete(oldest);
      this.#bytes -= embeddings.byteLength;
    }
  }

  stats(): ImageCacheStats {
    return {
      hits: this.#hits,
      misses: this.#misses,
      entries: this.#entries.size,
      bytes: this.#bytes,
      capacityBytes: this.capacityBytes,
    };
  }
}
