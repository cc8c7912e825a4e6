/**
 * `GET /v1/models`, `GET /v1/models/{id}` (OpenAI's format; the configured id and its aliases)
 * and `GET /v1/info` (model, tiling, build, uptime, queue and the public part of the config).
 *
 * @module
 */
import { Hono } from "hono";
import { allApiKeys, type ServiceConfig } from "../../config/service_config.ts";
import type { BackendReport } from "../../engine/mod.ts";
import { type AppContext, type AppEnv, round2 } from "../context.ts";
import { modelNotFound } from "../errors.ts";
import type { VideoService } from "../../video/mod.ts";

export function modelRoutes(ctx: AppContext): Hono<AppEnv> {
  const { config } = ctx;
  const modelObject = () => ({
    id: config.modelId,
    object: "model",
    created: Math.floor(ctx.startedAt / 1000),
    owned_by: "smolvlm",
  });
  return new Hono<AppEnv>()
    .get("/models", (c) => c.json({ object: "list", data: [modelObject()] }))
    .get("/models/:id{.+}", (c) => {
      const id = c.req.param("id");
      if (!ctx.modelIds.has(id)) throw modelNotFound(id);
      return c.json(modelObject());
    })
    .get("/info", (c) => c.json(info(ctx)));
}

function info(ctx: AppContext) {
  const { config, holder } = ctx;
  const s = holder.state;
  const engine = holder.engine ?? (s.status === "draining" ? s.engine : null);
  const info = engine?.info ?? null;
  const stats = engine?.stats() ?? null;
  return {
    status: s.status,
    lifecycle: {
      state: s.status,
      reason: s.status === "failed" ? s.reason : null,
      reloading: holder.reloading,
      reloads: holder.reloads,
      last_load_ms: holder.lastLoadMs === null ? null : Math.round(holder.lastLoadMs),
      last_reload_error: holder.lastReloadError
        ? {
          reason: holder.lastReloadError.reason,
          at: new Date(holder.lastReloadError.at).toISOString(),
        }
        : null,
    },
    model: {
      id: config.modelId,
      name: config.modelName,
      aliases: [...ctx.modelIds].filter((m) => m !== config.modelId),
      demo: config.demo,
      demo_note: config.demo
        ? "tiny synthetic model with RANDOM weights: output is gibberish"
        : null,
      path: info?.modelPath ?? config.modelPath,
      mmproj_path: info?.mmprojPath ?? config.mmprojPath,
      description: info?.modelDescription ?? null,
      parameter_count: info?.parameterCount ?? null,
      size_bytes: info?.modelSizeBytes ?? null,
      vision: info?.vision ?? null,
      context_size: info?.contextSize ?? config.contextSize,
      train_context_size: info?.trainContextSize ?? null,
      vocab_size: info?.vocabSize ?? null,
      embedding_size: info?.embeddingSize ?? null,
    },
    tiling: {
      max_image_size: info?.maxImageSize ?? config.maxImageSize,
      image_max_tokens: info?.imageMaxTokens ?? null,
      tile_size: info?.facts?.vision?.tileSize ?? null,
      tokens_per_tile: info?.facts?.vision?.tokensPerTile ?? null,
    },
    build: {
      version: ctx.build.version,
      runtime: `deno ${Deno.version.deno}`,
      v8: Deno.version.v8,
      typescript: Deno.version.typescript,
      os: Deno.build.os,
      arch: Deno.build.arch,
      backend: info ? (info.gpuLayers !== 0 ? "GPU" : "CPU") : null,
      gpu_layers: info?.gpuLayers ?? null,
      // Which device runs the text model and the vision encoder, and the CPU variant.
      backends: info?.backends ? backendsJson(info.backends) : null,
      threads: info?.threads ?? config.threads,
      parallel_sequences: info?.parallelSequences ?? null,
      system_info: info?.systemInfo ?? null,
    },
    video: videoJson(ctx.video),
    uptime_seconds: round2((ctx.clock.perf() - ctx.startedPerf) / 1000),
    started_at: new Date(ctx.startedAt).toISOString(),
    queue: {
      depth: stats?.queued ?? 0,
      running: stats?.running ?? 0,
      max_queue: stats?.maxQueue ?? config.maxQueue,
      in_flight_requests: ctx.tracker.size,
      completed: stats?.completed ?? 0,
      failed: stats?.failed ?? 0,
    },
    // Each slot's state and the KV positions it holds (a finished one keeps its prefix).
    slots: (stats?.slots ?? []).map((s) => ({
      sequence: s.sequence,
      state: s.state,
      kv_tokens: s.kvTokens,
    })),
    config: publicConfig(config),
    // The effective values (defaults merged with the config file): the page starts from them.
    image_processing_defaults: ctx.images.resolveConfig(null),
  };
}

function backendsJson(b: BackendReport) {
  return {
    text_model: {
      devices: b.text.devices,
      gpu_layers: b.text.gpuLayers,
      total_layers: b.text.totalLayers,
    },
    vision_encoder: b.vision ? { device: b.vision.device } : null,
    cpu: { variant: b.cpu.variant, features: b.cpu.features },
    flash_attention: b.flashAttention,
    reason: b.reason,
    devices: b.devices.map((d) => ({
      name: d.name,
      description: d.description,
      type: d.kind,
      backend: d.backend,
      memory_total_bytes: d.memoryTotalBytes,
      memory_free_bytes: d.memoryFreeBytes,
    })),
  };
}

/**
 * Whether `video_url` can be decoded and what bounds each decoder child: its memory cap and
 * whether the cap is enforced (not without prlimit), and its threads.
 */
function videoJson(video: VideoService) {
  const { decoder, config } = video;
  return {
    decoder: decoder ? "ffmpeg" : null,
    max_decoder_memory_mb: config.maxDecoderMemoryMb,
    memory_cap_enforced: decoder?.memoryCapped ?? false,
    decoder_threads: config.decoderThreads,
  };
}

/** The config as /v1/info shows it: never a key, only whether keys are set. */
function publicConfig(config: ServiceConfig): Record<string, unknown> {
  const keys = allApiKeys(config).length;
  return {
    model_name: config.modelName,
    model_id: config.modelId,
    host: config.host,
    port: config.port,
    timeout: config.timeoutMs / 1000,
    source: config.source,
    inference: {
      batch_size: config.batchSize,
      expected_response_time: config.expectedResponseTime,
      max_image_size: config.maxImageSize,
      context_size: config.contextSize,
      threads: config.threads,
      gpu_layers: config.gpuLayers,
      max_queue: config.maxQueue,
      max_tokens: config.defaultMaxTokens,
    },
    image_processing: config.imageProcessing,
    api_key: keys > 0 ? "(set)" : null,
    api_keys: keys,
    cors_allow_origins: config.corsOrigins,
    rate_limits: config.rateLimits,
    limits: config.limits,
    max_body_bytes: config.maxBodyBytes,
    shutdown_grace: config.shutdownGraceMs / 1000,
    reload_grace: config.reloadGraceMs / 1000,
    remote_images: {
      allow_hosts: config.remoteImages.allowHosts,
      max_bytes: config.remoteImages.maxBytes,
      timeout: config.remoteImages.timeoutMs / 1000,
    },
  };
}
