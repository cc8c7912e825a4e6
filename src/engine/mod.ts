/** The engine's public surface: everything above src/engine imports from here. */
export { loadEngine } from "./engine.ts";
export { type EngineOptions } from "./options.ts";
export {
  type ImageTiling,
  imageTiling,
  imageTokenBudget,
  type ModelFacts,
  modelFacts,
  readModelFacts,
} from "./model_facts.ts";
export { SAMPLING_DEFAULTS } from "./sampling.ts";
export * from "./errors.ts";
export type * from "./types.ts";
