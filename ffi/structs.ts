/**
 * The llama.h / mtmd.h structs this project passes by value or reads from native memory,
 * declared field by field in C order. Offsets are computed (ffi/layout.ts) and verified
 * against the C compiler by tests/ffi/layout.test.ts.
 */
import { defineStruct } from "./layout.ts";

export const llamaModelParams = defineStruct("llama_model_params", [
  ["devices", "pointer"], // ggml_backend_dev_t *
  ["tensor_buft_overrides", "pointer"], // const struct llama_model_tensor_buft_override *
  ["n_gpu_layers", "i32"],
  ["split_mode", "i32"], // enum llama_split_mode
  ["load_mode", "i32"], // enum llama_load_mode
  ["lazy_mode", "i32"], // enum llama_lazy_mode
  ["main_gpu", "i32"],
  ["tensor_split", "pointer"], // const float *
  ["progress_callback", "function"], // llama_progress_callback
  ["progress_callback_user_data", "pointer"],
  ["kv_overrides", "pointer"], // const struct llama_model_kv_override *
  ["vocab_only", "bool"],
  ["check_tensors", "bool"],
  ["use_extra_bufts", "bool"],
  ["no_host", "bool"],
  ["no_alloc", "bool"],
  ["load_mtp", "bool"],
]);

export const llamaContextParams = defineStruct("llama_context_params", [
  ["n_ctx", "u32"],
  ["n_batch", "u32"],
  ["n_ubatch", "u32"],
  ["n_seq_max", "u32"],
  ["n_rs_seq", "u32"],
  ["n_outputs_max", "u32"],
  ["n_outputs_max_per_seq", "u32"],
  ["n_threads", "i32"],
  ["n_threads_batch", "i32"],
  ["ctx_type", "i32"], // enum llama_context_type
  ["rope_scaling_type", "i32"], // enum llama_rope_scaling_type
  ["pooling_type", "i32"], // enum llama_pooling_type
  ["attention_type", "i32"], // enum llama_attention_type
  ["flash_attn_type", "i32"], // enum llama_flash_attn_type
  ["rope_freq_base", "f32"],
  ["rope_freq_scale", "f32"],
  ["yarn_ext_factor", "f32"],
  ["yarn_attn_factor", "f32"],
  ["yarn_beta_fast", "f32"],
  ["yarn_beta_slow", "f32"],
  ["yarn_orig_ctx", "u32"],
  ["defrag_thold", "f32"],
  ["cb_eval", "function"], // ggml_backend_sched_eval_callback
  ["cb_eval_user_data", "pointer"],
  ["type_k", "i32"], // enum ggml_type
  ["type_v", "i32"], // enum ggml_type
  ["abort_callback", "function"], // ggml_abort_callback
  ["abort_callback_data", "pointer"],
  ["embeddings", "bool"],
  ["offload_kqv", "bool"],
  ["no_perf", "bool"],
  ["op_offload", "bool"],
  ["swa_full", "bool"],
  ["kv_unified", "bool"],
  ["samplers", "pointer"], // struct llama_sampler_seq_config *
  ["n_samplers", "usize"],
  ["ctx_other", "pointer"], // struct llama_context *
]);

export const llamaBatch = defineStruct("llama_batch", [
  ["n_tokens", "i32"],
  ["token", "pointer"], // llama_token *
  ["embd", "pointer"], // float *
  ["pos", "pointer"], // llama_pos *
  ["n_seq_id", "pointer"], // int32_t *
  ["seq_id", "pointer"], // llama_seq_id **
  ["logits", "pointer"], // int8_t *
]);

export const llamaSamplerChainParams = defineStruct("llama_sampler_chain_params", [
  ["no_perf", "bool"],
]);

/** Passed as an array through a pointer; its layout still has to match. */
export const llamaChatMessage = defineStruct("llama_chat_message", [
  ["role", "pointer"], // const char *
  ["content", "pointer"], // const char *
]);

export const mtmdContextParams = defineStruct("mtmd_context_params", [
  ["use_gpu", "bool"],
  ["device", "pointer"], // ggml_backend_dev_t
  ["print_timings", "bool"],
  ["n_threads", "i32"],
  ["image_marker", "pointer"], // const char * (deprecated)
  ["media_marker", "pointer"], // const char *
  ["flash_attn_type", "i32"], // enum llama_flash_attn_type
  ["warmup", "bool"],
  ["image_min_tokens", "i32"],
  ["image_max_tokens", "i32"],
  ["cb_eval", "function"], // ggml_backend_sched_eval_callback
  ["cb_eval_user_data", "pointer"],
  ["batch_max_tokens", "i32"], // max output tokens per encode batch (soft limit)
  ["progress_callback", "function"], // mtmd_progress_callback
  ["progress_callback_user_data", "pointer"],
]);

/** Passed through a pointer to mtmd_tokenize. */
export const mtmdInputText = defineStruct("mtmd_input_text", [
  ["text", "pointer"], // const char *
  ["text_len", "usize"],
  ["add_special", "bool"],
  ["parse_special", "bool"],
]);

/** ggml.h; GGML_MAX_N_THREADS is 512 at the pinned commit. */
export const ggmlThreadpoolParams = defineStruct("ggml_threadpool_params", [
  ["cpumask", "bool", 512], // bool cpumask[GGML_MAX_N_THREADS]
  ["n_threads", "i32"],
  ["prio", "i32"], // enum ggml_sched_priority
  ["poll", "u32"], // 0 no polling .. 100 aggressive busy-wait
  ["strict_cpu", "bool"],
  ["paused", "bool"],
]);

/** Every struct the layout test checks against the C compiler. */
export const ALL_STRUCTS = [
  llamaModelParams,
  llamaContextParams,
  llamaBatch,
  llamaSamplerChainParams,
  llamaChatMessage,
  mtmdContextParams,
  mtmdInputText,
  ggmlThreadpoolParams,
] as const;
