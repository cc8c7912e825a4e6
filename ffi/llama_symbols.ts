/** libllama's symbols used by this project (include/llama.h at the pinned commit). */
import {
  llamaBatch,
  llamaContextParams,
  llamaModelParams,
  llamaSamplerChainParams,
} from "./structs.ts";

export const llamaSymbols = {
  llama_backend_init: { parameters: [], result: "void" },
  llama_backend_free: { parameters: [], result: "void" },
  llama_print_system_info: { parameters: [], result: "pointer" },
  llama_supports_gpu_offload: { parameters: [], result: "bool" },
  llama_log_set: {
    parameters: [
      "function", // ggml_log_callback log_callback
      "pointer", // void * user_data
    ],
    result: "void",
  },

  llama_model_default_params: { parameters: [], result: llamaModelParams.ffiType },
  llama_context_default_params: { parameters: [], result: llamaContextParams.ffiType },
  llama_sampler_chain_default_params: {
    parameters: [],
    result: llamaSamplerChainParams.ffiType,
  },

  llama_model_load_from_file: {
    parameters: [
      "buffer", // const char * path_model
      llamaModelParams.ffiType, // struct llama_model_params params
    ],
    result: "pointer", // struct llama_model *
  },
  llama_model_free: {
    parameters: ["pointer"], // struct llama_model * model
    result: "void",
  },
  llama_init_from_model: {
    parameters: [
      "pointer", // struct llama_model * model
      llamaContextParams.ffiType, // struct llama_context_params params
    ],
    result: "pointer", // struct llama_context *
  },
  llama_free: {
    parameters: ["pointer"], // struct llama_context * ctx
    result: "void",
  },

  llama_attach_threadpool: {
    parameters: [
      "pointer", // struct llama_context * ctx
      "pointer", // ggml_threadpool_t threadpool
      "pointer", // ggml_threadpool_t threadpool_batch (NULL: same as threadpool)
    ],
    result: "void",
  },
  llama_detach_threadpool: {
    parameters: ["pointer"], // struct llama_context * ctx
    result: "void",
  },

  llama_n_ctx: { parameters: ["pointer"], result: "u32" }, // const struct llama_context * ctx
  llama_n_batch: { parameters: ["pointer"], result: "u32" }, // const struct llama_context * ctx
  llama_n_seq_max: { parameters: ["pointer"], result: "u32" }, // const struct llama_context * ctx
  llama_get_memory: { parameters: ["pointer"], result: "pointer" }, // const struct llama_context *
  llama_model_get_vocab: { parameters: ["pointer"], result: "pointer" }, // const struct llama_model *
  llama_model_n_ctx_train: { parameters: ["pointer"], result: "i32" }, // const struct llama_model *
  llama_model_n_embd: { parameters: ["pointer"], result: "i32" }, // const struct llama_model *
  llama_model_n_layer: { parameters: ["pointer"], result: "i32" }, // const struct llama_model *
  llama_model_size: { parameters: ["pointer"], result: "u64" }, // const struct llama_model *
  llama_model_n_params: { parameters: ["pointer"], result: "u64" }, // const struct llama_model *
  llama_model_desc: {
    parameters: [
      "pointer", // const struct llama_model * model
      "buffer", // char * buf
      "usize", // size_t buf_size
    ],
    result: "i32",
  },
  llama_model_chat_template: {
    parameters: [
      "pointer", // const struct llama_model * model
      "pointer", // const char * name (NULL = default)
    ],
    result: "pointer", // const char *
  },

  llama_vocab_n_tokens: { parameters: ["pointer"], result: "i32" }, // const struct llama_vocab *
  llama_vocab_bos: { parameters: ["pointer"], result: "i32" }, // const struct llama_vocab *
  llama_vocab_is_eog: {
    parameters: [
      "pointer", // const struct llama_vocab * vocab
      "i32", // llama_token token
    ],
    result: "bool",
  },
  llama_tokenize: {
    parameters: [
      "pointer", // const struct llama_vocab * vocab
      "buffer", // const char * text
      "i32", // int32_t text_len
      "buffer", // llama_token * tokens
      "i32", // int32_t n_tokens_max
      "bool", // bool add_special
      "bool", // bool parse_special
    ],
    result: "i32",
  },
  llama_token_to_piece: {
    parameters: [
      "pointer", // const struct llama_vocab * vocab
      "i32", // llama_token token
      "buffer", // char * buf
      "i32", // int32_t length
      "i32", // int32_t lstrip
      "bool", // bool special
    ],
    result: "i32",
  },
  llama_chat_apply_template: {
    parameters: [
      "pointer", // const char * tmpl
      "buffer", // const struct llama_chat_message * chat
      "usize", // size_t n_msg
      "bool", // bool add_ass
      "buffer", // char * buf
      "i32", // int32_t length
    ],
    result: "i32",
  },

  llama_memory_clear: {
    parameters: [
      "pointer", // llama_memory_t mem
      "bool", // bool data
    ],
    result: "void",
  },
  llama_memory_seq_rm: {
    parameters: [
      "pointer", // llama_memory_t mem
      "i32", // llama_seq_id seq_id
      "i32", // llama_pos p0
      "i32", // llama_pos p1
    ],
    result: "bool",
  },

  llama_memory_seq_pos_max: {
    parameters: [
      "pointer", // llama_memory_t mem
      "i32", // llama_seq_id seq_id
    ],
    result: "i32", // llama_pos, -1 when the sequence holds no cells
  },

  llama_batch_init: {
    parameters: [
      "i32", // int32_t n_tokens
      "i32", // int32_t embd
      "i32", // int32_t n_seq_max
    ],
    result: llamaBatch.ffiType,
  },
  llama_batch_free: {
    parameters: [llamaBatch.ffiType], // struct llama_batch batch
    result: "void",
  },
  llama_decode: {
    parameters: [
      "pointer", // struct llama_context * ctx
      llamaBatch.ffiType, // struct llama_batch batch
    ],
    result: "i32",
  },

  llama_sampler_chain_init: {
    parameters: [llamaSamplerChainParams.ffiType], // struct llama_sampler_chain_params params
    result: "pointer", // struct llama_sampler *
  },
  llama_sampler_chain_add: {
    parameters: [
      "pointer", // struct llama_sampler * chain
      "pointer", // struct llama_sampler * smpl (ownership moves to the chain)
    ],
    result: "void",
  },
  llama_sampler_init_greedy: { parameters: [], result: "pointer" },
  llama_sampler_init_dist: { parameters: ["u32"], result: "pointer" }, // uint32_t seed
  llama_sampler_init_top_k: { parameters: ["i32"], result: "pointer" }, // int32_t k
  llama_sampler_init_top_p: {
    parameters: [
      "f32", // float p
      "usize", // size_t min_keep
    ],
    result: "pointer",
  },
  llama_sampler_init_min_p: {
    parameters: [
      "f32", // float p
      "usize", // size_t min_keep
    ],
    result: "pointer",
  },
  llama_sampler_init_temp: { parameters: ["f32"], result: "pointer" }, // float t
  llama_sampler_init_penalties: {
    parameters: [
      "i32", // int32_t n_vocab (ignored by recent versions, kept for ABI)
      "i32", // int32_t penalty_last_n
      "f32", // float penalty_repeat
      "f32", // float penalty_freq
      "f32", // float penalty_present
    ],
    result: "pointer",
  },
  llama_sampler_init_grammar: {
    parameters: [
      "pointer", // const struct llama_vocab * vocab
      "buffer", // const char * grammar_str
      "buffer", // const char * grammar_root
    ],
    result: "pointer", // NULL when the grammar does not parse
  },
  llama_sampler_sample: {
    parameters: [
      "pointer", // struct llama_sampler * smpl
      "pointer", // struct llama_context * ctx
      "i32", // int32_t idx
    ],
    result: "i32", // llama_token
  },
  llama_sampler_free: {
    parameters: ["pointer"], // struct llama_sampler * smpl
    result: "void",
  },
} as const satisfies Deno.ForeignLibraryInterface;
