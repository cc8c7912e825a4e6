/** libmtmd's symbols used by this project (tools/mtmd/mtmd.h and mtmd-helper.h). */
import { mtmdContextParams } from "./structs.ts";

export const mtmdSymbols = {
  mtmd_default_marker: { parameters: [], result: "pointer" }, // const char *
  mtmd_context_params_default: { parameters: [], result: mtmdContextParams.ffiType },
  mtmd_init_from_file: {
    parameters: [
      "buffer", // const char * mmproj_fname
      "pointer", // const struct llama_model * text_model
      mtmdContextParams.ffiType, // const struct mtmd_context_params ctx_params
    ],
    result: "pointer", // mtmd_context * (NULL on failure)
  },
  mtmd_free: { parameters: ["pointer"], result: "void" }, // mtmd_context * ctx
  mtmd_support_vision: { parameters: ["pointer"], result: "bool" }, // const mtmd_context * ctx
  mtmd_log_set: {
    parameters: [
      "function", // ggml_log_callback log_callback
      "pointer", // void * user_data
    ],
    result: "void",
  },
  mtmd_helper_log_set: {
    parameters: [
      "function", // ggml_log_callback log_callback
      "pointer", // void * user_data
    ],
    result: "void",
  },

  mtmd_bitmap_init: {
    parameters: [
      "u32", // uint32_t nx
      "u32", // uint32_t ny
      "buffer", // const unsigned char * data (RGB, copied)
    ],
    result: "pointer", // mtmd_bitmap *
  },
  mtmd_bitmap_set_id: {
    parameters: [
      "pointer", // mtmd_bitmap * bitmap
      "buffer", // const char * id (copied)
    ],
    result: "void",
  },
  mtmd_bitmap_free: { parameters: ["pointer"], result: "void" }, // mtmd_bitmap * bitmap

  mtmd_input_chunks_init: { parameters: [], result: "pointer" }, // mtmd_input_chunks *
  mtmd_input_chunks_free: { parameters: ["pointer"], result: "void" }, // mtmd_input_chunks *
  mtmd_input_chunks_size: { parameters: ["pointer"], result: "usize" }, // const mtmd_input_chunks *
  mtmd_input_chunks_get: {
    parameters: [
      "pointer", // const mtmd_input_chunks * chunks
      "usize", // size_t idx
    ],
    result: "pointer", // const mtmd_input_chunk *
  },
  mtmd_input_chunk_get_type: { parameters: ["pointer"], result: "i32" }, // const mtmd_input_chunk *
  mtmd_input_chunk_get_n_tokens: { parameters: ["pointer"], result: "usize" },
  mtmd_input_chunk_get_n_pos: { parameters: ["pointer"], result: "i32" },
  mtmd_input_chunk_get_id: { parameters: ["pointer"], result: "pointer" }, // const char * (NULL for text)
  mtmd_input_chunk_get_tokens_text: {
    parameters: [
      "pointer", // const mtmd_input_chunk * chunk
      "buffer", // size_t * n_tokens_output
    ],
    result: "pointer", // const llama_token *
  },
  mtmd_encode_chunk: {
    parameters: [
      "pointer", // mtmd_context * ctx
      "pointer", // const mtmd_input_chunk * chunk
    ],
    result: "i32", // 0 ok
  },
  mtmd_get_output_embd: { parameters: ["pointer"], result: "pointer" }, // float * (mtmd_context *)
  mtmd_helper_get_n_pos: { parameters: ["pointer"], result: "i32" }, // const mtmd_input_chunks *

  mtmd_tokenize: {
    parameters: [
      "pointer", // const mtmd_context * ctx
      "pointer", // mtmd_input_chunks * output
      "buffer", // const mtmd_input_text * text
      "buffer", // const mtmd_bitmap * const * bitmaps
      "usize", // size_t n_bitmaps
    ],
    result: "i32", // 0 ok, 1 marker/bitmap count mismatch, 2 preprocessing error
  },

  mtmd_batch_init: { parameters: ["pointer"], result: "pointer" }, // mtmd_context * ctx
  mtmd_batch_free: { parameters: ["pointer"], result: "void" }, // mtmd_batch * batch
  mtmd_batch_add_chunk: {
    parameters: [
      "pointer", // mtmd_batch * batch
      "pointer", // const mtmd_input_chunk * chunk
    ],
    result: "i32", // 0 added, 2 batch full, 3 not batchable with the others
  },
  mtmd_batch_encode: {
    parameters: ["pointer"], // mtmd_batch * batch
    result: "i32",
  },
  mtmd_batch_get_output_embd: {
    parameters: [
      "pointer", // mtmd_batch * batch
      "pointer", // const mtmd_input_chunk * chunk
    ],
    result: "pointer", // float *
  },

  mtmd_helper_eval_chunk_single: {
    parameters: [
      "pointer", // mtmd_context * ctx
      "pointer", // struct llama_context * lctx
      "pointer", // const mtmd_input_chunk * chunk
      "i32", // llama_pos n_past
      "i32", // llama_seq_id seq_id
      "i32", // int32_t n_batch
      "bool", // bool logits_last
      "buffer", // llama_pos * new_n_past
    ],
    result: "i32",
  },
  mtmd_helper_decode_image_chunk: {
    parameters: [
      "pointer", // mtmd_context * ctx
      "pointer", // struct llama_context * lctx
      "pointer", // const mtmd_input_chunk * chunk
      "buffer", // float * encoded_embd
      "i32", // llama_pos n_past
      "i32", // llama_seq_id seq_id
      "i32", // int32_t n_batch
      "buffer", // llama_pos * new_n_past
      "function", // mtmd_helper_post_decode_callback callback
      "pointer", // void * user_data
    ],
    result: "i32",
  },
} as const satisfies Deno.ForeignLibraryInterface;

/** enum mtmd_input_chunk_type */
export const MTMD_INPUT_CHUNK_TYPE_TEXT = 0;
