/** imagescript's decoders (GIF, JPEG fallback, PNG), compiled. */
export declare const imagescriptWasm: {
  readonly gif: WebAssembly.Module;
  readonly jpeg: WebAssembly.Module;
  readonly png: WebAssembly.Module;
};
/** libwebp's decoder from @cwasm/webp, compiled. */
export declare const webpWasm: WebAssembly.Module;
