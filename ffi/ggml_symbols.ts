/** libggml's symbols: only backend loading, for portable builds with dynamic CPU variants. */
export const ggmlSymbols = {
  ggml_backend_load_all_from_path: {
    parameters: ["buffer"], // const char * dir_path
    result: "void",
  },
} as const satisfies Deno.ForeignLibraryInterface;
