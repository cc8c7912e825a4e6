/** libggml-base's symbols: threadpool parameters (ggml.h), device and registry accessors. */
export const ggmlBaseSymbols = {
  ggml_threadpool_params_init: {
    parameters: [
      "buffer", // struct ggml_threadpool_params * p
      "i32", // int n_threads
    ],
    result: "void",
  },
  ggml_backend_dev_name: {
    parameters: ["pointer"], // ggml_backend_dev_t device
    result: "pointer", // const char *
  },
  ggml_backend_dev_description: {
    parameters: ["pointer"], // ggml_backend_dev_t device
    result: "pointer", // const char *
  },
  ggml_backend_dev_type: {
    parameters: ["pointer"], // ggml_backend_dev_t device
    result: "i32", // enum ggml_backend_dev_type
  },
  ggml_backend_dev_memory: {
    parameters: [
      "pointer", // ggml_backend_dev_t device
      "buffer", // size_t * free
      "buffer", // size_t * total
    ],
    result: "void",
  },
  ggml_backend_dev_backend_reg: {
    parameters: ["pointer"], // ggml_backend_dev_t device
    result: "pointer", // ggml_backend_reg_t
  },
  ggml_backend_reg_name: {
    parameters: ["pointer"], // ggml_backend_reg_t reg
    result: "pointer", // const char *
  },
  ggml_backend_reg_get_proc_address: {
    parameters: [
      "pointer", // ggml_backend_reg_t reg
      "buffer", // const char * name
    ],
    result: "pointer", // void *
  },
} as const satisfies Deno.ForeignLibraryInterface;
