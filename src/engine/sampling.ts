/** Sampling defaults and how a request's sampling options become a sampler chain's settings. */
import type { SamplerOptions } from "../../ffi/llama.ts";
import type { SamplingOptions } from "./types.ts";

export const SAMPLING_DEFAULTS = {
  temperature: 0.2,
  topK: 40,
  topP: 0.95,
  minP: 0.05,
  repeatPenalty: 1,
  frequencyPenalty: 0,
  presencePenalty: 0,
  penaltyLastN: 64,
} as const;

export function resolveSampling(sampling: SamplingOptions = {}): SamplerOptions {
  return {
    temperature: sampling.temperature ?? SAMPLING_DEFAULTS.temperature,
    topK: sampling.topK ?? SAMPLING_DEFAULTS.topK,
    topP: sampling.topP ?? SAMPLING_DEFAULTS.topP,
    minP: sampling.minP ?? SAMPLING_DEFAULTS.minP,
    seed: sampling.seed ?? Math.floor(Math.random() * 0xffff_ffff),
    repeatPenalty: sampling.repeatPenalty ?? SAMPLING_DEFAULTS.repeatPenalty,
    frequencyPenalty: sampling.frequencyPenalty ?? SAMPLING_DEFAULTS.frequencyPenalty,
    presencePenalty: sampling.presencePenalty ?? SAMPLING_DEFAULTS.presencePenalty,
    penaltyLastN: sampling.penaltyLastN ?? SAMPLING_DEFAULTS.penaltyLastN,
    grammar: sampling.grammar,
  };
}
