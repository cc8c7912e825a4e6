/**
 * Loads every native object the engine uses (model, context, threadpool, mtmd, batch) inside the
 * engine worker, and frees them in reverse order. Load failures become ModelLoadError with
 * llama.cpp's own last error line as the reason.
 */
import {
  CpuThreadPool,
  LlamaContext,
  LlamaModel,
  systemInfo,
  TokenBatch,
} from "../../../ffi/llama.ts";
import { cpuBackendInfo, listBackendDevices } from "../../../ffi/backends.ts";
import { defaultMediaMarker, VisionContext } from "../../../ffi/mtmd.ts";
import { ModelLoadError } from "../errors.ts";
import { imageTiling, imageTokenBudget, type ModelFacts, modelFacts } from "../model_facts.ts";
import { checkModelPair, GgufCheckError } from "../../models/gguf.ts";
import type { ResolvedEngineOptions } from "../options.ts";
import type { LoadPhase } from "../protocol.ts";
import { backendReport, decidePlacement } from "../placement.ts";
import type { EngineInfo } from "../types.ts";
import type { NativeLog } from "./native_log.ts";

export interface NativeSession extends Disposable {
  readonly model: LlamaModel;
  readonly context: LlamaContext;
  readonly vision: VisionContext | null;
  /** The one token batch every step fills (n_batch tokens). */
  readonly batch: TokenBatch;
  readonly marker: string;
  readonly template: string | null;
  readonly facts: ModelFacts;
  readonly options: ResolvedEngineOptions;
  readonly info: EngineInfo;
}

/** Called as each step of a load ends: where a slow or stuck load spends its time. */
export type OnLoadPhase = (phase: LoadPhase, ms: number) => void;

/** Runs `onPhase` with the time since the previous mark (or the start). */
function phaseClock(onPhase: OnLoadPhase): (phase: LoadPhase) => void {
  let last = performance.now();
  return (phase) => {
    const now = performance.now();
    onPhase(phase, now - last);
    last = now;
  };
}

export async function openNativeSession(
  options: ResolvedEngineOptions,
  log: NativeLog,
  onPhase: OnLoadPhase = () => {},
): Promise<NativeSession> {
  const done = phaseClock(onPhase);
  // The GGUF check runs before llama.cpp sees either file, on every load (start and reload):
  // a corrupt, truncated or swapped file is a ModelLoadError, never a native crash.
  let facts: ModelFacts;
  try {
    facts = modelFacts(await checkModelPair(options.modelPath, options.mmprojPath));
  } catch (e) {
    if (!(e instanceof GgufCheckError)) throw e;
    const code = e.path === options.mmprojPath ? "mmproj_load_failed" : "model_load_failed";
    throw new ModelLoadError(code, e.message);
  }
  done("gguf_check");
  const imageMaxTokens = options.imageMaxTokens ??
    (facts.vision ? imageTokenBudget(options.maxImageSize, facts.vision) : 1);
  log.clearLastError();
  const devices = await listBackendDevices();
  const placement = decidePlacement(devices, {
    gpuLayers: options.gpuLayers,
    flashAttention: options.flashAttention,
    parallel: options.parallel,
    vision: options.mmprojPath !== null,
  });
  done("devices");
  const model = LlamaModel.load(options.modelPath, {
    gpuLayers: placement.gpuLayers,
    useExtraBuffers: options.useExtraBuffers,
  });
  const loaded = await model;
  if (loaded === null) {
    throw new ModelLoadError(
      "model_load_failed",
      `llama.cpp could not load ${options.modelPath} (corrupt, truncated or unsupported GGUF)` +
        log.reason(),
    );
  }
  done("text_model");
  const owned: Disposable[] = [loaded];
  try {
    const threadPool = await CpuThreadPool.create(options.threads);
    if (threadPool) owned.push(threadPool);
    const context = await LlamaContext.create(loaded, {
      threadPool,
      contextSize: options.contextSize,
      batchSize: options.batchSize,
      sequences: options.parallel,
      unifiedKv: true,
      threads: options.threads,
      flashAttention: placement.flashAttention,
    });
    if (context === null) {
      throw new ModelLoadError(
        "model_load_failed",
        `llama.cpp could not create a ${options.contextSize}-token context` + log.reason(),
      );
    }
    owned.push(context);
    done("context");
    let vision: VisionContext | null = null;
    if (options.mmprojPath) {
      log.clearLastError();
      vision = await VisionContext.load(options.mmprojPath, loaded, {
        threads: options.threads,
        imageMaxTokens,
        warmup: options.warmup,
        useGpu: placement.visionOnGpu,
        flashAttention: placement.visionFlashAttention,
      });
      if (vision === null) {
        throw new ModelLoadError(
          "mmproj_load_failed",
          `mtmd could not load ${options.mmprojPath} as a projector for this model ` +
            `(not an mmproj, or its embedding size does not match the text model)` + log.reason(),
        );
      }
      owned.push(vision);
      if (!vision.supportsVision) {
        throw new ModelLoadError("mmproj_load_failed", `${options.mmprojPath} has no vision tower`);
      }
      done("projector");
    }
    const batch = await TokenBatch.create(context.batchSize);
    owned.push(batch);
    if (options.warmup) {
      // One throwaway decode, as llama.cpp's tools do at load: the first request should not pay
      // for faulting in the mmapped weights and allocating the compute graph.
      batch.add(Math.max(0, loaded.vocab.bos), 0, 0, true);
      context.decode(batch);
      batch.clear();
      context.clearMemory();
      done("warmup");
    }
    const info: EngineInfo = {
      modelPath: options.modelPath,
      mmprojPath: options.mmprojPath,
      modelDescription: loaded.description(),
      contextSize: context.contextSize,
      trainContextSize: loaded.trainContextSize,
      vocabSize: loaded.vocab.size,
      embeddingSize: loaded.embeddingSize,
      parameterCount: loaded.parameterCount,
      modelSizeBytes: loaded.sizeBytes,
      vision: vision !== null,
      maxImageSize: options.maxImageSize,
      imageMaxTokens,
      tiling: facts.vision && vision ? imageTiling(facts.vision, imageMaxTokens) : null,
      threads: options.threads,
      gpuLayers: placement.gpuLayers,
      backends: backendReport(devices, await cpuBackendInfo(), placement, loaded.layerCount),
      systemInfo: await systemInfo(),
      parallelSequences: options.parallel,
      imageCacheBytes: options.imageCacheBytes,
      facts,
    };
    return {
      model: loaded,
      context,
      vision,
      batch,
      marker: await defaultMediaMarker(),
      template: facts.chatTemplate,
      facts,
      options: { ...options, imageMaxTokens },
      info,
      [Symbol.dispose]() {
        for (const resource of owned.toReversed()) resource[Symbol.dispose]();
      },
    };
  } catch (error) {
    for (const resource of owned.reverse()) resource[Symbol.dispose]();
    throw error;
  }
}
