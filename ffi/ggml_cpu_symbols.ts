/**
 * The CPU backend's functions. They live in libggml-cpu (or, in a portable build, in whichever
 * libggml-cpu-<variant>.so was loaded), so they are looked up through the CPU backend's
 * registry entry (ggml_backend_reg_get_proc_address) instead of being linked by name: one path
 * for both kinds of build.
 */
export const ggmlCpuFunctions = {
  ggml_threadpool_new: {
    parameters: ["buffer"], // struct ggml_threadpool_params * params
    result: "pointer", // struct ggml_threadpool *
  },
  ggml_threadpool_free: {
    parameters: ["pointer"], // struct ggml_threadpool * threadpool
    result: "void",
  },
  /** Returns { const char * name; const char * value; }[] ending with a NULL name. */
  ggml_backend_get_features: {
    parameters: ["pointer"], // ggml_backend_reg_t reg
    result: "pointer", // struct ggml_backend_feature *
  },
} as const satisfies Record<string, Deno.UnsafeCallbackDefinition>;

/** What every dynamic backend library exports: 0 when this machine cannot run it, else a rank. */
export const ggmlBackendScoreSymbols = {
  ggml_backend_score: { parameters: [], result: "i32" },
} as const satisfies Deno.ForeignLibraryInterface;
