/** libggml-base's symbols: threadpool parameters (ggml.h). */
export const ggmlBaseSymbols = {
  ggml_threadpool_params_init: {
    parameters: [
      "buffer", // struct ggml_threadpool_params * p
      "i32", // int n_threads
    ],
    result: "void",
  },
} as const satisfies Deno.ForeignLibraryInterface;
