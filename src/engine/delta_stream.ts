/**
 * A single-consumer async queue of text deltas that ends with a result or an error. Deltas
 * buffer when nobody iterates; `result` alone is enough to consume a generation.
 */
import type { Generation, GenerationResult, TextDelta } from "./types.ts";

export class DeltaStream implements Generation {
  readonly id: string;
  readonly result: Promise<GenerationResult>;
  readonly #queue: TextDelta[] = [];
  #waiter: (() => void) | null = null;
  #done = false;
  #error: unknown = null;
  #resolve!: (result: GenerationResult) => void;
  #reject!: (error: unknown) => void;

  constructor(id: string) {
    this.id = id;
    this.result = new Promise<GenerationResult>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    // Failures surface through iteration too; a caller who only iterates must not crash the
    // process with an unhandled rejection.
    this.result.catch(() => {});
  }

  push(text: string): void {
    if (this.#done || text.length === 0) return;
    this.#queue.push({ text });
    this.#wake();
  }

  finish(result: GenerationResult): void {
    if (this.#done) return;
    this.#done = true;
    this.#resolve(result);
    this.#wake();
  }

  fail(error: unknown): void {
    if (this.#done) return;
    this.#done = true;
    this.#error = error;
    this.#reject(error);
    this.#wake();
  }

  #wake(): void {
    const waiter = this.#waiter;
    this.#waiter = null;
    waiter?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<TextDelta> {
    while (true) {
      const next = this.#queue.shift();
      if (next) {
        yield next;
        continue;
      }
      if (this.#done) {
        if (this.#error !== null) throw this.#error;
        return;
      }
      await new Promise<void>((resolve) => this.#waiter = resolve);
    }
  }
}
