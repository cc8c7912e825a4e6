/**
 * Image pipeline public API (runs in-process and on the FFI-free edge).
 */
export { decodeImage, type DecodeOptions, encodeJpeg, encodePng, type RgbImage } from "./codecs.ts";
export {
  type ColorBalanceConfig,
  DEFAULT_IMAGE_CONFIG,
  defaultImageConfig,
  type ImageConfig,
  type LimitsConfig,
  type NoiseReductionConfig,
  parseImageConfigFile,
  parseImageProcessingConfig,
  parseImageRequestOverride,
} from "./config.ts";
export {
  DataUrlError,
  ImageBusyError,
  ImageConfigError,
  ImageDecodeError,
  ImageDimensionsError,
  ImageError,
  type ImageErrorCode,
  type ImageErrorStatus,
  ImageTimeoutError,
  ImageTooLargeError,
  ImageTypeMismatchError,
  UnsupportedImageTypeError,
} from "./errors.ts";
export {
  type ImageInput,
  plainTiling,
  preprocessImage,
  type PreprocessOptions,
  type PreprocessReport,
  type PreprocessResult,
  type TileGrid,
  tileGrid,
  type TilingRule,
} from "./pipeline.ts";
export {
  detectFormat,
  type ImageFormat,
  type ImageProbe,
  parseDataUrl,
  probeImage,
} from "./validate.ts";
export { closeSharedImagePool, getSharedImagePool, ImagePool } from "./workers.ts";
export {
  closeSharedIsolatedPipeline,
  getSharedIsolatedPipeline,
  IsolatedImagePipeline,
  type IsolatedPipelineOptions,
  type IsolatedPipelineStats,
  type IsolatedProcessOptions,
} from "./isolated.ts";
