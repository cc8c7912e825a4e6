/**
 * Owns the context's sequences (slots) and the queue of jobs waiting for one. Today each job
 * runs alone on its slot; the shape (slots handed out per job, a bounded FIFO, a single place
 * that decides what runs) is where continuous batching of several sequences will plug in.
 */
import { EngineClosedError, QueueFullError } from "./errors.ts";

export interface Job {
  readonly id: string;
  /** Aborted jobs still waiting are dropped from the queue and told so. */
  readonly signal?: AbortSignal;
  /** Runs the job on a sequence; must not reject (the job reports its own outcome). */
  run(sequence: number, queuedMs: number): Promise<void>;
  /** The job will never run: aborted while queued, or the scheduler closed. */
  cancel(reason: "abort" | "closed"): void;
}

interface Waiting {
  readonly job: Job;
  readonly enqueuedAt: number;
  readonly onAbort: () => void;
}

export class Scheduler {
  readonly #freeSequences: number[];
  readonly #waiting: Waiting[] = [];
  readonly #running = new Set<Promise<void>>();
  readonly maxQueue: number;
  #closed = false;
  #completed = 0;
  /** Moving average of job durations, for Retry-After hints. */
  #averageJobMs = 10_000;

  constructor(sequences: number, maxQueue: number) {
    this.#freeSequences = Array.from({ length: sequences }, (_, i) => i);
    this.maxQueue = maxQueue;
  }

  get running(): number {
    return this.#running.size;
  }

  get queued(): number {
    return this.#waiting.length;
  }

  get completed(): number {
    return this.#completed;
  }

  /** Starts the job now if a sequence is free, else queues it; throws when it cannot. */
  submit(job: Job): void {
    if (this.#closed) throw new EngineClosedError();
    if (this.#freeSequences.length === 0 && this.#waiting.length >= this.maxQueue) {
      throw new QueueFullError(this.maxQueue, this.#retryAfterSeconds());
    }
    const onAbort = () => {
      const i = this.#waiting.findIndex((w) => w.job === job);
      if (i !== -1) {
        this.#waiting.splice(i, 1);
        job.cancel("abort");
      }
    };
    job.signal?.addEventListener("abort", onAbort, { once: true });
    this.#waiting.push({ job, enqueuedAt: performance.now(), onAbort });
    this.#dispatch();
  }

  #dispatch(): void {
    while (this.#freeSequences.length > 0 && this.#waiting.length > 0) {
      const { job, enqueuedAt, onAbort } = this.#waiting.shift()!;
      job.signal?.removeEventListener("abort", onAbort);
      const sequence = this.#freeSequences.shift()!;
      const started = performance.now();
      const running: Promise<void> = job.run(sequence, started - enqueuedAt).finally(() => {
        this.#running.delete(running);
        this.#freeSequences.push(sequence);
        this.#completed++;
        this.#averageJobMs = 0.8 * this.#averageJobMs + 0.2 * (performance.now() - started);
        if (!this.#closed) this.#dispatch();
      });
      this.#running.add(running);
    }
  }

  #retryAfterSeconds(): number {
    const slots = Math.max(1, this.#running.size);
    const waitMs = this.#averageJobMs * (1 + this.#waiting.length / slots);
    return Math.max(1, Math.ceil(waitMs / 1000));
  }

  /** Stops accepting, cancels queued jobs and waits for running ones (which the caller aborts). */
  async close(): Promise<void> {
    this.#closed = true;
    for (const { job, onAbort } of this.#waiting.splice(0)) {
      job.signal?.removeEventListener("abort", onAbort);
      job.cancel("closed");
    }
    await Promise.all(this.#running);
  }
}
