/** libggml-cpu's symbols: a persistent CPU threadpool (ggml-cpu.h). */
export const ggmlCpuSymbols = {
  ggml_threadpool_new: {
    parameters: ["buffer"], // struct ggml_threadpool_params * params
    result: "pointer", // struct ggml_threadpool *
  },
  ggml_threadpool_free: {
    parameters: ["pointer"], // struct ggml_threadpool * threadpool
    result: "void",
  },
} as const satisfies Deno.ForeignLibraryInterface;
