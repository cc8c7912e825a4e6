/**
 * Typed image-pipeline failures. `status` is the HTTP status the API should answer with and
 * `code` is a stable string the HTTP layer maps to an OpenAI-style error body. Messages are
 * written for the person who reads them (no stack traces needed to understand them).
 */
export type ImageErrorCode =
  | "invalid_image" // corrupt or truncated data, undecodable
  | "invalid_data_url" // malformed data: URL / base64
  | "image_type_mismatch" // declared MIME type disagrees with the magic bytes
  | "unsupported_image_type" // magic bytes of no supported format
  | "image_too_large" // over the byte or megapixel limit
  | "invalid_image_dimensions" // 0x0 or otherwise impossible header dimensions
  | "invalid_image_config" // a config value is wrong (see ImageConfigError.key)
  | "image_processing_timeout" // the pipeline overran its deadline on this image
  | "image_pipeline_busy"; // too many images waiting for a pipeline worker

export type ImageErrorStatus = 400 | 413 | 415 | 422 | 503;

export class ImageError extends Error {
  readonly code: ImageErrorCode;
  readonly status: ImageErrorStatus;
  constructor(
    code: ImageErrorCode,
    status: ImageErrorStatus,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = "ImageError";
    this.code = code;
    this.status = status;
  }
}

/** Truncated, corrupt or otherwise undecodable image data (400). */
export class ImageDecodeError extends ImageError {
  constructor(message: string, options?: ErrorOptions) {
    super("invalid_image", 400, message, options);
    this.name = "ImageDecodeError";
  }
}

/** Bad data URL / base64 payload (400). */
export class DataUrlError extends ImageError {
  constructor(message: string) {
    super("invalid_data_url", 400, message);
    this.name = "DataUrlError";
  }
}

/** Magic bytes of no supported format (415). */
export class UnsupportedImageTypeError extends ImageError {
  constructor(message: string) {
    super("unsupported_image_type", 415, message);
    this.name = "UnsupportedImageTypeError";
  }
}

/** Declared MIME type disagrees with the bytes (400). */
export class ImageTypeMismatchError extends ImageError {
  readonly declared: string;
  readonly detected: string;
  constructor(declared: string, detected: string) {
    super(
      "image_type_mismatch",
      400,
      `declared image type ${declared} does not match the data, which is ${detected}`,
    );
    this.name = "ImageTypeMismatchError";
    this.declared = declared;
    this.detected = detected;
  }
}

/** Over the configured byte or megapixel limit (413). */
export class ImageTooLargeError extends ImageError {
  constructor(message: string) {
    super("image_too_large", 413, message);
    this.name = "ImageTooLargeError";
  }
}

/** Zero or impossible dimensions in the header (400). */
export class ImageDimensionsError extends ImageError {
  constructor(message: string) {
    super("invalid_image_dimensions", 400, message);
    this.name = "ImageDimensionsError";
  }
}

/** A configuration value is invalid; `key` is its dotted path, e.g. `noise_reduction.diameter`. */
export class ImageConfigError extends ImageError {
  readonly key: string;
  constructor(key: string, message: string) {
    super("invalid_image_config", 400, `${key}: ${message}`);
    this.name = "ImageConfigError";
    this.key = key;
  }
}

/** The pipeline overran its deadline on this image; its worker was replaced (422). */
export class ImageTimeoutError extends ImageError {
  constructor(message: string) {
    super("image_processing_timeout", 422, message);
    this.name = "ImageTimeoutError";
  }
}

/** Every pipeline worker is busy and the wait queue is full (503; retry after a moment). */
export class ImageBusyError extends ImageError {
  readonly retryAfterSeconds: number;
  constructor(message: string, retryAfterSeconds = 1) {
    super("image_pipeline_busy", 503, message);
    this.name = "ImageBusyError";
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** An ImageError as plain data, to cross a worker boundary. */
export interface WireImageError {
  readonly name: string;
  readonly message: string;
  readonly key?: string;
  readonly declared?: string;
  readonly detected?: string;
}

export function imageErrorToWire(e: ImageError): WireImageError {
  return {
    name: e.name,
    message: e.message,
    key: e instanceof ImageConfigError ? e.key : undefined,
    declared: e instanceof ImageTypeMismatchError ? e.declared : undefined,
    detected: e instanceof ImageTypeMismatchError ? e.detected : undefined,
  };
}

/** Rebuilds the typed error on this side; unknown names become ImageDecodeError. */
export function imageErrorFromWire(w: WireImageError): ImageError {
  switch (w.name) {
    case "DataUrlError":
      return new DataUrlError(w.message);
    case "UnsupportedImageTypeError":
      return new UnsupportedImageTypeError(w.message);
    case "ImageTypeMismatchError":
      return new ImageTypeMismatchError(w.declared ?? "", w.detected ?? "");
    case "ImageTooLargeError":
      return new ImageTooLargeError(w.message);
    case "ImageDimensionsError":
      return new ImageDimensionsError(w.message);
    case "ImageConfigError": {
      const key = w.key ?? "image_processing";
      const msg = w.message.startsWith(`${key}: `) ? w.message.slice(key.length + 2) : w.message;
      return new ImageConfigError(key, msg);
    }
    case "ImageTimeoutError":
      return new ImageTimeoutError(w.message);
    default:
      return new ImageDecodeError(w.message);
  }
}
