/**
 * The in-process engine: loads the model and projector, owns every native object, and runs
 * generations through the scheduler. `loadEngine` is the only way to get one.
 */
import {
  CpuThreadPool,
  LlamaContext,
  LlamaModel,
  type NativeLogLevel,
  setNativeLogHandler,
  systemInfo,
  TokenBatch,
} from "../../ffi/llama.ts";
import { defaultMediaMarker, VisionContext } from "../../ffi/mtmd.ts";
import { DeltaStream } from "./delta_stream.ts";
import { EngineClosedError, EngineError, ModelLoadError } from "./errors.ts";
import { generate, type NativeSession } from "./generate.ts";
import { type EngineOptions, resolveEngineOptions } from "./options.ts";
import { Scheduler } from "./scheduler.ts";
import type {
  Engine,
  EngineInfo,
  EngineStats,
  GenerateRequest,
  Generation,
  GenerationResult,
} from "./types.ts";

const GGUF_MAGIC = 0x46554747; // "GGUF" little-endian

/** Checks the file before llama.cpp sees it, so the common mistakes get a precise message. */
async function checkGguf(path: string, what: "model" | "mmproj"): Promise<void> {
  const code = what === "model" ? "model_load_failed" : "mmproj_load_failed";
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true });
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new ModelLoadError(code, `${what} file not found: ${path}`);
    }
    if (error instanceof Deno.errors.NotCapable || error instanceof Deno.errors.PermissionDenied) {
      throw new ModelLoadError(code, `no read permission for the ${what} file ${path}`);
    }
    throw new ModelLoadError(code, `cannot open the ${what} file ${path}: ${error}`);
  }
  using _file = file;
  const header = new Uint8Array(4);
  const n = await file.read(header);
  if (n !== 4 || new DataView(header.buffer).getUint32(0, true) !== GGUF_MAGIC) {
    throw new ModelLoadError(code, `${path} is not a GGUF file`);
  }
}

function logHandler(mode: "silent" | "errors" | "verbose") {
  if (mode === "verbose") return null; // llama.cpp's own stderr logger
  let last: NativeLogLevel = "info";
  return (level: NativeLogLevel, text: string) => {
    // "cont" continues the previous line at the previous line's level.
    const effective = level === "cont" ? last : level;
    last = effective;
    if (mode === "errors" && (effective === "warn" || effective === "error")) {
      Deno.stderr.writeSync(new TextEncoder().encode(`llama.cpp: ${text}`));
    }
  };
}

class NativeEngine implements Engine {
  readonly info: EngineInfo;
  readonly #session: NativeSession;
  readonly #scheduler: Scheduler;
  readonly #aborts = new Set<AbortController>();
  #failed = 0;
  #nextId = 0;
  #closing: Promise<void> | null = null;

  constructor(session: NativeSession, info: EngineInfo) {
    this.#session = session;
    this.info = info;
    this.#scheduler = new Scheduler(session.options.parallelSequences, session.options.maxQueue);
  }

  generate(request: GenerateRequest): Generation {
    if (this.#closing) throw new EngineClosedError();
    const id = `gen-${++this.#nextId}`;
    const stream = new DeltaStream(id);
    // One controller per generation: fed by the caller's signal and by close().
    const controller = new AbortController();
    const onCallerAbort = () => controller.abort(request.signal?.reason);
    if (request.signal?.aborted) controller.abort(request.signal.reason);
    request.signal?.addEventListener("abort", onCallerAbort, { once: true });
    const cleanup = () => {
      request.signal?.removeEventListener("abort", onCallerAbort);
      this.#aborts.delete(controller);
    };
    this.#aborts.add(controller);
    const scoped: GenerateRequest = { ...request, signal: controller.signal };
    try {
      this.#scheduler.submit({
        id,
        signal: controller.signal,
        run: async (sequence, queueMs) => {
          try {
            await generate(this.#session, scoped, sequence, stream, queueMs);
          } catch (error) {
            this.#failed++;
            stream.fail(
              error instanceof EngineError ? error : new EngineError(
                "decode_failed",
                `generation failed: ${error instanceof Error ? error.message : error}`,
                { cause: error },
              ),
            );
          } finally {
            cleanup();
          }
        },
        cancel: (reason) => {
          cleanup();
          if (reason === "closed") stream.fail(new EngineClosedError());
          else stream.finish(abortedResult());
        },
      });
    } catch (error) {
      cleanup();
      throw error;
    }
    return stream;
  }

  stats(): EngineStats {
    return {
      running: this.#scheduler.running,
      queued: this.#scheduler.queued,
      maxQueue: this.#scheduler.maxQueue,
      completed: this.#scheduler.completed,
      failed: this.#failed,
    };
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      const closing = this.#scheduler.close();
      for (const controller of this.#aborts) controller.abort(new EngineClosedError());
      await closing;
      const { batches, vision, context, threadPool, model } = this.#session;
      batches.forEach((b) => b.close());
      vision?.close();
      context.close();
      threadPool?.close();
      model.close();
      await setNativeLogHandler(null);
    })();
    return this.#closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

function abortedResult(): GenerationResult {
  return {
    text: "",
    tokens: [],
    finishReason: "abort",
    usage: { promptTokens: 0, imageTokens: 0, completionTokens: 0 },
    timings: {
      queueMs: 0,
      tokenizeMs: 0,
      encodeMs: 0,
      prefillMs: 0,
      decodeMs: 0,
      totalMs: 0,
      imageEncoderPasses: 0,
      prefillTokensPerSecond: 0,
      decodeTokensPerSecond: 0,
    },
  };
}

/**
 * Loads the text model (and the mmproj when given), creates the context, and returns a ready
 * engine. Throws ModelLoadError with a one-line reason when a file is missing or rejected.
 */
export async function loadEngine(options: EngineOptions): Promise<Engine> {
  const resolved = resolveEngineOptions(options);
  await checkGguf(resolved.modelPath, "model");
  if (resolved.mmprojPath) await checkGguf(resolved.mmprojPath, "mmproj");
  await setNativeLogHandler(logHandler(resolved.nativeLog));

  const model = await LlamaModel.load(resolved.modelPath, {
    gpuLayers: resolved.gpuLayers,
    useExtraBuffers: resolved.useExtraBuffers,
  });
  if (model === null) {
    throw new ModelLoadError(
      "model_load_failed",
      `llama.cpp could not load ${resolved.modelPath} (corrupt, truncated or unsupported GGUF)`,
    );
  }
  const owned: Disposable[] = [model];
  try {
    const threadPool = await CpuThreadPool.create(resolved.threads);
    if (threadPool) owned.push(threadPool);
    const context = await LlamaContext.create(model, {
      threadPool,
      contextSize: resolved.contextSize,
      batchSize: resolved.batchSize,
      sequences: resolved.parallelSequences,
      threads: resolved.threads,
      flashAttention: resolved.flashAttention,
    });
    if (context === null) {
      throw new ModelLoadError(
        "model_load_failed",
        `llama.cpp could not create a ${resolved.contextSize}-token context`,
      );
    }
    owned.push(context);
    let vision: VisionContext | null = null;
    if (resolved.mmprojPath) {
      vision = await VisionContext.load(resolved.mmprojPath, model, {
        threads: resolved.threads,
        imageMaxTokens: resolved.imageMaxTokens,
        warmup: resolved.warmup,
        useGpu: resolved.gpuLayers !== 0,
        flashAttention: resolved.flashAttention,
      });
      if (vision === null) {
        throw new ModelLoadError(
          "mmproj_load_failed",
          `mtmd could not load ${resolved.mmprojPath} as a projector for this model ` +
            `(not an mmproj, or its embedding size does not match the text model)`,
        );
      }
      owned.push(vision);
      if (!vision.supportsVision) {
        throw new ModelLoadError(
          "mmproj_load_failed",
          `${resolved.mmprojPath} has no vision tower`,
        );
      }
    }
    const batches: TokenBatch[] = [];
    for (let i = 0; i < resolved.parallelSequences; i++) {
      const batch = await TokenBatch.create(context.batchSize);
      owned.push(batch);
      batches.push(batch);
    }
    if (resolved.warmup) {
      // One throwaway decode, as llama.cpp's tools do at load: the first request should not pay
      // for faulting in the mmapped weights and allocating the compute graph.
      const batch = batches[0]!;
      batch.add(Math.max(0, model.vocab.bos), 0, 0, true);
      await context.decode(batch);
      batch.clear();
      context.clearMemory();
    }
    const session: NativeSession = {
      threadPool,
      model,
      context,
      vision,
      batches,
      marker: await defaultMediaMarker(),
      template: model.chatTemplate(),
      options: resolved,
    };
    const info: EngineInfo = {
      modelPath: resolved.modelPath,
      mmprojPath: resolved.mmprojPath,
      modelDescription: model.description(),
      contextSize: context.contextSize,
      trainContextSize: model.trainContextSize,
      vocabSize: model.vocab.size,
      embeddingSize: model.embeddingSize,
      parameterCount: model.parameterCount,
      modelSizeBytes: model.sizeBytes,
      vision: vision !== null,
      maxImageSize: resolved.maxImageSize,
      imageMaxTokens: resolved.imageMaxTokens,
      threads: resolved.threads,
      gpuLayers: resolved.gpuLayers,
      systemInfo: await systemInfo(),
      parallelSequences: resolved.parallelSequences,
    };
    return new NativeEngine(session, info);
  } catch (error) {
    for (const resource of owned.reverse()) resource[Symbol.dispose]();
    throw error;
  }
}
