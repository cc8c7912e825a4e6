/**
 * The CPU backend's functions, found through the backend registry: in a portable build they are
 * in the libggml-cpu-<variant>.so that ggml chose at load, so no fixed library name holds them.
 */
import { ggmlCpuFunctions } from "./ggml_cpu_symbols.ts";

type Fn<K extends keyof typeof ggmlCpuFunctions> = Deno.UnsafeFnPointer<
  (typeof ggmlCpuFunctions)[K]
>;

export interface CpuBackendFunctions {
  /** The CPU backend's registry entry (ggml_backend_reg_t). */
  readonly reg: Deno.PointerObject;
  readonly threadpoolNew: Fn<"ggml_threadpool_new">;
  readonly threadpoolFree: Fn<"ggml_threadpool_free">;
  /** Null when the backend exports no feature list. */
  readonly getFeatures: Fn<"ggml_backend_get_features"> | null;
}

/** The two registry calls this lookup needs (libggml, libggml-base). */
export interface RegistryLookup {
  regByName(name: Uint8Array<ArrayBuffer>): Deno.PointerValue;
  procAddress(reg: Deno.PointerObject, name: Uint8Array<ArrayBuffer>): Deno.PointerValue;
}

const encoder = new TextEncoder();
function cName(text: string): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(text.length + 1);
  encoder.encodeInto(text, bytes);
  return bytes;
}

/** Looks the CPU backend's functions up; null when no CPU backend is registered. */
export function findCpuBackend(registry: RegistryLookup): CpuBackendFunctions | null {
  const reg = registry.regByName(cName("CPU"));
  if (reg === null) return null;
  const fn = <K extends keyof typeof ggmlCpuFunctions>(name: K): Fn<K> | null => {
    const pointer = registry.procAddress(reg, cName(name));
    if (pointer === null) return null;
    // The registry hands out untyped addresses; the definition above gives this one its type.
    return new Deno.UnsafeFnPointer(pointer as Deno.PointerObject<never>, ggmlCpuFunctions[name]);
  };
  const threadpoolNew = fn("ggml_threadpool_new");
  const threadpoolFree = fn("ggml_threadpool_free");
  if (threadpoolNew === null || threadpoolFree === null) return null;
  return { reg, threadpoolNew, threadpoolFree, getFeatures: fn("ggml_backend_get_features") };
}
