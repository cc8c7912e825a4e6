/**
 * What ggml can run on here: the registered backend devices (CPU, GPUs) and, for the CPU
 * backend, its compiled features and which variant a portable build picked.
 */
import { ggmlBackendScoreSymbols } from "./ggml_cpu_symbols.ts";
import { loadNativeLibraries, type NativeLibraries, readCString } from "./library.ts";

/** enum ggml_backend_dev_type (ggml-backend.h), in order. */
const DEVICE_KINDS = ["cpu", "gpu", "igpu", "accel", "meta"] as const;
export type DeviceKind = (typeof DEVICE_KINDS)[number] | "unknown";

export interface BackendDevice {
  /** ggml's device name: "CPU", "CUDA0", ... */
  readonly name: string;
  /** The hardware: the CPU model, or the GPU's name. */
  readonly description: string;
  readonly kind: DeviceKind;
  /** The backend (registry) it belongs to: "CPU", "CUDA", ... */
  readonly backend: string;
  readonly memoryTotalBytes: number;
  readonly memoryFreeBytes: number;
}

export interface CpuBackendInfo {
  /**
   * The libggml-cpu-<variant>.so a portable build loaded (e.g. "zen4", "haswell"); null for a
   * build with one CPU backend compiled for the build machine's features.
   */
  readonly variant: string | null;
  /** The instruction sets that backend was compiled for ("AVX2", "AVX512", ...). */
  readonly features: readonly string[];
}

/** Every device ggml has registered, in registry order (GPUs before the CPU). */
export async function listBackendDevices(): Promise<BackendDevice[]> {
  const { ggml, ggmlBase } = await loadNativeLibraries();
  const devices: BackendDevice[] = [];
  const count = Number(ggml.ggml_backend_dev_count());
  for (let i = 0; i < count; i++) {
    const dev = ggml.ggml_backend_dev_get(BigInt(i));
    if (dev === null) continue;
    const free = new BigUint64Array(1);
    const total = new BigUint64Array(1);
    ggmlBase.ggml_backend_dev_memory(dev, free, total);
    const reg = ggmlBase.ggml_backend_dev_backend_reg(dev);
    devices.push({
      name: readCString(ggmlBase.ggml_backend_dev_name(dev)) ?? `device${i}`,
      description: readCString(ggmlBase.ggml_backend_dev_description(dev)) ?? "",
      kind: DEVICE_KINDS[ggmlBase.ggml_backend_dev_type(dev)] ?? "unknown",
      backend: reg === null ? "" : readCString(ggmlBase.ggml_backend_reg_name(reg)) ?? "",
      memoryTotalBytes: Number(total[0]),
      memoryFreeBytes: Number(free[0]),
    });
  }
  return devices;
}

/** The most features a backend reports; its list ends with a NULL name well before this. */
const MAX_FEATURES = 256;
/** struct ggml_backend_feature { const char * name; const char * value; } */
const FEATURE_BYTES = 16;

function cpuFeatures(libs: NativeLibraries): string[] {
  const cpu = libs.cpu;
  const list = cpu?.getFeatures?.call(cpu.reg) ?? null;
  if (!cpu || list === null) return [];
  const view = new Deno.UnsafePointerView(list);
  const features: string[] = [];
  for (let i = 0; i < MAX_FEATURES; i++) {
    const name = readCString(view.getPointer(i * FEATURE_BYTES));
    if (name === null) break;
    const value = readCString(view.getPointer(i * FEATURE_BYTES + 8)) ?? "";
    // Boolean features read "1"; others (e.g. the llamafile or repack switches) keep their value.
    features.push(value === "1" ? name : `${name}=${value}`);
  }
  return features;
}

const VARIANT_FILE = /^libggml-cpu-(.+)\.(so|dylib|dll)$/;

/**
 * The variant ggml's loader picked: it loads every libggml-cpu-<variant> in the directory and
 * keeps the one whose ggml_backend_score() is highest (0: this CPU cannot run it). Asking the
 * same question gives its answer; the libraries are already mapped, so this is cheap.
 */
function pickedVariant(dir: string): string | null {
  let best: { name: string; score: number } | null = null;
  let entries: Deno.DirEntry[];
  try {
    entries = [...Deno.readDirSync(dir)];
  } catch {
    return null; // no read permission for the directory: the variant goes unreported
  }
  for (const entry of entries) {
    const match = VARIANT_FILE.exec(entry.name);
    if (!match || !entry.isFile) continue;
    let score = 0;
    try {
      const library = Deno.dlopen(`${dir}/${entry.name}`, ggmlBackendScoreSymbols);
      try {
        score = library.symbols.ggml_backend_score();
      } finally {
        library.close();
      }
    } catch {
      continue; // not loadable here: ggml skips it too
    }
    if (score > 0 && (best === null || score > best.score)) best = { name: match[1]!, score };
  }
  return best?.name ?? null;
}

let cpuInfo: CpuBackendInfo | null = null;

/** The CPU backend's variant and features (computed once per process). */
export async function cpuBackendInfo(): Promise<CpuBackendInfo> {
  if (cpuInfo) return cpuInfo;
  const libs = await loadNativeLibraries();
  cpuInfo = {
    variant: libs.dynamicBackends ? pickedVariant(libs.dir) : null,
    features: cpuFeatures(libs),
  };
  return cpuInfo;
}
