/**
 * A fake Engine for HTTP tests: streams canned deltas with a delay, honours AbortSignal within
 * one delta, runs `parallel` generations at once with a bounded queue (QueueFullError beyond).
 */
import { EngineClosedError, QueueFullError } from "../../src/engine/errors.ts";
import type {
  Engine,
  EngineInfo,
  EngineStats,
  FinishReason,
  GenerateRequest,
  Generation,
  GenerationResult,
  SlotStats,
  TextDelta,
} from "../../src/engine/types.ts";
import { imageTiling, type VisionFacts } from "../../src/engine/model_facts.ts";

/** SmolVLM-256M's projector facts, as model_facts.ts reads them from its mmproj. */
export const SMOLVLM_VISION: VisionFacts = {
  projectorType: "idefics3",
  tileSize: 512,
  patchSize: 16,
  mergeFactor: 4,
  tokensPerTile: 64,
  pixelsPerTokenSide: 64,
  preprocessSize: 2048,
  markers: {
    wrap: "<fake_token_around_image>",
    overview: "<global-img>",
    tile: "<row_{row}_col_{col}>",
  },
};

export interface FakeEngineOptions {
  deltas?: readonly string[];
  delayMs?: number;
  maxQueue?: number;
  parallel?: number;
  /** Make `result` reject with this error (after `failAfter` deltas). */
  fail?: Error;
  failAfter?: number;
  /** The projector's facts the engine reports; null: a text-only model. Default SMOLVLM_VISION. */
  vision?: VisionFacts | null;
  /** The slots stats() reports (none by default). */
  slots?: readonly SlotStats[];
}

export class FakeEngine implements Engine {
  readonly requests: GenerateRequest[] = [];
  readonly info: EngineInfo;
  readonly #opts: Required<Omit<FakeEngineOptions, "fail" | "vision" | "slots">> & {
    fail?: Error;
  };
  readonly #slots: readonly SlotStats[] | undefined;
  #running = 0;
  readonly #queue: Array<() => void> = [];
  #completed = 0;
  #failed = 0;
  #closed = false;
  #seq = 0;
  /** Generations started (left the queue), in order, with when. */
  readonly started: { id: string; at: number }[] = [];
  readonly aborted: string[] = [];
  /** Deltas handed to consumers of the generations' iterators. */
  yielded = 0;

  constructor(opts: FakeEngineOptions = {}) {
    this.#opts = {
      deltas: opts.deltas ?? ["Hello", ",", " world", "!"],
      delayMs: opts.delayMs ?? 5,
      maxQueue: opts.maxQueue ?? 8,
      parallel: opts.parallel ?? 1,
      fail: opts.fail,
      failAfter: opts.failAfter ?? 0,
    };
    const vision = opts.vision === undefined ? SMOLVLM_VISION : opts.vision;
    this.#slots = opts.slots;
    this.info = {
      modelPath: "/fake/model.gguf",
      mmprojPath: vision ? "/fake/mmproj.gguf" : null,
      modelDescription: "fake 1M",
      contextSize: 4096,
      trainContextSize: 8192,
      vocabSize: 49280,
      embeddingSize: 64,
      parameterCount: 1_000_000,
      modelSizeBytes: 2_000_000,
      vision: vision !== null,
      maxImageSize: 1024,
      imageMaxTokens: 256,
      tiling: vision ? imageTiling(vision, 256) : null,
      threads: 2,
      gpuLayers: 0,
      systemInfo: "FAKE = 1",
      parallelSequences: this.#opts.parallel,
      facts: { architecture: "llama", contextLength: 8192, chatTemplate: null, vision },
    };
  }

  stats(): EngineStats {
    return {
      running: this.#running,
      queued: this.#queue.length,
      maxQueue: this.#opts.maxQueue,
      completed: this.#completed,
      failed: this.#failed,
      slots: this.#slots,
    };
  }

  generate(request: GenerateRequest): Generation {
    if (this.#closed) throw new EngineClosedError();
    if (this.#running >= this.#opts.parallel && this.#queue.length >= this.#opts.maxQueue) {
      throw new QueueFullError(this.#opts.maxQueue, 2);
    }
    this.requests.push(request);
    const id = `fake-${++this.#seq}`;
    const buffered: TextDelta[] = [];
    let wake: (() => void) | null = null;
    let ended = false;
    const notify = () => {
      wake?.();
      wake = null;
    };
    const enqueuedAt = performance.now();
    const result = (async (): Promise<GenerationResult> => {
      if (this.#running >= this.#opts.parallel) {
        await new Promise<void>((r) => this.#queue.push(r));
      }
      this.#running++;
      this.started.push({ id, at: performance.now() });
      const startedAt = performance.now();
      // Like the real engine: the request's limit counts from when it holds a slot.
      const limit = request.timeoutMs === undefined ? request.signal : AbortSignal.any([
        ...(request.signal ? [request.signal] : []),
        AbortSignal.timeout(request.timeoutMs),
      ]);
      const timedOut = () => !request.signal?.aborted && limit?.aborted === true;
      let finish: FinishReason = "stop";
      const out: string[] = [];
      try {
        const max = request.maxTokens ?? 256;
        const deltas = this.#opts.deltas;
        let i = 0;
        for (; i < deltas.length && i < max; i++) {
          if (limit?.aborted || this.#closed) {
            finish = timedOut() ? "timeout" : "abort";
            break;
          }
          await abortableDelay(this.#opts.delayMs, limit);
          if (limit?.aborted || this.#closed) {
            finish = timedOut() ? "timeout" : "abort";
            break;
          }
          if (this.#opts.fail && i >= this.#opts.failAfter) throw this.#opts.fail;
          out.push(deltas[i]!);
          buffered.push({ text: deltas[i]! });
          notify();
        }
        if (finish === "stop" && i < deltas.length) finish = "length";
        if (this.#opts.fail && finish !== "abort" && finish !== "timeout") throw this.#opts.fail;
        if (finish === "abort" || finish === "timeout") this.aborted.push(id);
        this.#completed++;
        const now = performance.now();
        return {
          text: out.join(""),
          tokens: out.map((_, k) => k + 1),
          finishReason: finish,
          usage: { promptTokens: 10, imageTokens: 0, completionTokens: out.length },
          timings: {
            queueMs: startedAt - enqueuedAt,
            tokenizeMs: 0.5,
            encodeMs: 1,
            prefillMs: 1,
            decodeMs: now - startedAt,
            totalMs: now - enqueuedAt,
            imageEncoderPasses: 0,
            prefillTokensPerSecond: 1000,
            decodeTokensPerSecond: 100,
          },
        };
      } catch (e) {
        this.#failed++;
        throw e;
      } finally {
        this.#running--;
        this.#queue.shift()?.();
        ended = true;
        notify();
      }
    })();
    result.catch(() => {});
    const onYield = () => this.yielded++;
    return {
      id,
      result,
      async *[Symbol.asyncIterator]() {
        for (;;) {
          const next = buffered.shift();
          if (next) {
            onYield();
            yield next;
            continue;
          }
          if (ended) return;
          await new Promise<void>((r) => (wake = r));
        }
      },
    };
  }

  close(): Promise<void> {
    this.#closed = true;
    for (const w of this.#queue.splice(0)) w();
    return Promise.resolve();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

function abortableDelay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}
