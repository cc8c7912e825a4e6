/** The engine's public surface: everything above src/engine imports from here. */
export { loadEngine } from "./engine.ts";
export { type EngineOptions, imageTokenBudget } from "./options.ts";
export { SAMPLING_DEFAULTS } from "./sampling.ts";
export * from "./errors.ts";
export type * from "./types.ts";
