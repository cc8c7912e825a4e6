/**
 * Where the model runs: the text model's layers and the vision encoder go to the GPU when ggml
 * has a GPU device, unless the user asked otherwise (`gpuLayers`). Pure: the worker passes the
 * devices ggml registered; tests pass made-up ones.
 */

import type { BackendDevice, CpuBackendInfo, DeviceKind } from "../../ffi/backends.ts";

export type { BackendDevice, CpuBackendInfo, DeviceKind };
export type FlashAttention = "auto" | "on" | "off";

export interface PlacementRequest {
  /** Layers to offload: null = all when a GPU is present, 0 = none, -1 = all, N = the first N. */
  readonly gpuLayers: number | null;
  /** Null = decide from where the model runs (see decidePlacement). */
  readonly flashAttention: FlashAttention | null;
  readonly parallel: number;
  readonly vision: boolean;
}

export interface Placement {
  /** llama_model_params.n_gpu_layers: 0 none, -1 all, N the first N (plus output when > all). */
  readonly gpuLayers: number;
  /** The GPU devices llama.cpp spreads offloaded layers over; empty when nothing is offloaded. */
  readonly textDevices: readonly string[];
  /** mtmd's use_gpu: the encoder then runs on the first GPU (clip's own choice). */
  readonly visionOnGpu: boolean;
  /** The device the vision encoder runs on; null without a projector. */
  readonly visionDevice: string | null;
  readonly flashAttention: FlashAttention;
  /**
   * The vision encoder's flash attention. It encodes one image at a time, so batching cannot
   * change its output; on CPU flash attention makes a 512 px tile's pass ~25-35% faster
   * (measured on the 500m projector), while for the text model's short decode batches it is
   * slower. llama.cpp's tools set one value for both.
   */
  readonly visionFlashAttention: FlashAttention;
  /** Why, in a few words (for the startup log and /v1/info). */
  readonly reason: string;
}

const isGpu = (kind: DeviceKind) => kind === "gpu";
const isIntegratedGpu = (kind: DeviceKind) => kind === "igpu";

/**
 * The offload decision. llama.cpp (and clip) use discrete GPUs, or the first integrated GPU
 * when there is none, so "a GPU is present" means the same here.
 */
export function decidePlacement(
  devices: readonly Pick<BackendDevice, "name" | "kind">[],
  request: PlacementRequest,
): Placement {
  const discrete = devices.filter((d) => isGpu(d.kind)).map((d) => d.name);
  const integrated = devices.filter((d) => isIntegratedGpu(d.kind)).map((d) => d.name);
  const gpus = discrete.length > 0 ? discrete : integrated.slice(0, 1);
  const cpuName = devices.find((d) => d.kind === "cpu")?.name ?? "CPU";
  let gpuLayers: number;
  let reason: string;
  if (gpus.length === 0) {
    gpuLayers = 0;
    reason = request.gpuLayers !== null && request.gpuLayers !== 0
      ? `no GPU device: gpu_layers=${request.gpuLayers} has nothing to offload to`
      : "no GPU device";
  } else if (request.gpuLayers === null) {
    gpuLayers = -1;
    reason = "GPU present: all layers and the vision encoder offloaded by default";
  } else {
    gpuLayers = request.gpuLayers;
    reason = `gpu_layers=${request.gpuLayers} requested`;
  }
  const offloaded = gpuLayers !== 0;
  const visionOnGpu = request.vision && offloaded;
  // The CPU flash-attention kernel's arithmetic depends on how many query rows share a batch:
  // with parallel slots a request's tokens would depend on what else was batched with it.
  const batchInvariant = !offloaded && request.parallel > 1;
  return {
    gpuLayers,
    textDevices: offloaded ? gpus : [],
    visionOnGpu,
    visionDevice: request.vision ? (visionOnGpu ? gpus[0]! : cpuName) : null,
    flashAttention: request.flashAttention ?? (batchInvariant ? "off" : "auto"),
    visionFlashAttention: request.flashAttention ?? "auto",
    reason,
  };
}

/** What /v1/info and the startup log say about which backend runs what. */
export interface BackendReport {
  readonly devices: readonly BackendDevice[];
  readonly cpu: CpuBackendInfo;
  readonly text: {
    /** "CPU", or the GPU(s) holding offloaded layers, e.g. ["CUDA0"]. */
    readonly devices: readonly string[];
    /** Layers on a GPU, of `totalLayers` (llama.cpp counts the output layer as one more). */
    readonly gpuLayers: number;
    readonly totalLayers: number;
  };
  readonly vision: { readonly device: string } | null;
  readonly flashAttention: FlashAttention;
  readonly reason: string;
}

/** The report for a loaded model with `blockCount` repeating layers. */
export function backendReport(
  devices: readonly BackendDevice[],
  cpu: CpuBackendInfo,
  placement: Placement,
  blockCount: number,
): BackendReport {
  const totalLayers = blockCount + 1;
  const gpuLayers = placement.gpuLayers < 0
    ? totalLayers
    : Math.min(placement.gpuLayers, totalLayers);
  const cpuName = devices.find((d) => d.kind === "cpu")?.name ?? "CPU";
  const textDevices = gpuLayers === 0
    ? [cpuName]
    : gpuLayers < totalLayers
    ? [...placement.textDevices, cpuName]
    : placement.textDevices;
  return {
    devices,
    cpu,
    text: { devices: textDevices, gpuLayers, totalLayers },
    vision: placement.visionDevice === null ? null : { device: placement.visionDevice },
    flashAttention: placement.flashAttention,
    reason: placement.reason,
  };
}

/** One line for the startup log: "text model 25/25 layers on CUDA0; vision encoder on CUDA0; …" */
export function describeBackends(report: BackendReport): string {
  const device = (name: string) => {
    const d = report.devices.find((x) => x.name === name);
    return d && d.description && d.description !== name ? `${name} (${d.description})` : name;
  };
  const cpu = report.cpu.variant
    ? `CPU variant ${report.cpu.variant}`
    : "CPU backend built for this host";
  const features = report.cpu.features.filter((f) => !f.includes("="));
  return [
    `text model on ${report.text.devices.map(device).join(" + ")} ` +
    `(${report.text.gpuLayers}/${report.text.totalLayers} layers on GPU)`,
    `vision encoder on ${report.vision ? device(report.vision.device) : "(none: text only)"}`,
    `${cpu}${features.length ? ` [${features.join(" ")}]` : ""}`,
    report.reason,
  ].join("; ");
}
