/**
 * libggml's symbols: the backend registry. In a GGML_BACKEND_DL (portable) build the registry
 * starts empty and the backends (one libggml-cpu-<variant>.so per ISA level, libggml-cuda.so)
 * are loaded from a directory at run time; otherwise the linked-in backends are registered.
 */
export const ggmlSymbols = {
  ggml_backend_load_all_from_path: {
    parameters: ["buffer"], // const char * dir_path
    result: "void",
  },
  ggml_backend_reg_count: { parameters: [], result: "usize" },
  ggml_backend_reg_by_name: {
    parameters: ["buffer"], // const char * name
    result: "pointer", // ggml_backend_reg_t
  },
  ggml_backend_dev_count: { parameters: [], result: "usize" },
  ggml_backend_dev_get: {
    parameters: ["usize"], // size_t index
    result: "pointer", // ggml_backend_dev_t
  },
} as const satisfies Deno.ForeignLibraryInterface;
