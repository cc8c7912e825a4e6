/**
 * The native libraries a single binary carries. In the source tree nothing is embedded (this
 * is null); `deno task compile` stages the entry tree and replaces this module there with one
 * that imports every library as bytes and records its SHA-256 (tools/compile.ts,
 * payloadModule()).
 *
 * @module
 */

/** One embedded file: its name in the library directory, its SHA-256 (hex) and its bytes. */
export interface EmbeddedFile {
  readonly name: string;
  readonly sha256: string;
  readonly bytes: Uint8Array;
}

/**
 * A symbolic link in the build's library directory (`libllama.so` → `libllama.so.0`); it is
 * extracted as a copy of its target, which must be one of the payload's files.
 */
export interface EmbeddedLink {
  readonly name: string;
  readonly target: string;
}

export interface NativePayload {
  readonly files: readonly EmbeddedFile[];
  readonly links: readonly EmbeddedLink[];
}

export const NATIVE_PAYLOAD: NativePayload | null = null;
