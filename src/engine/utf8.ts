/**
 * Token pieces are bytes, and a multi-byte UTF-8 character can be split across two tokens.
 * This decoder holds back an incomplete tail until the rest arrives, so every emitted string is
 * whole characters; invalid bytes become U+FFFD instead of throwing.
 */
export class Utf8Stream {
  readonly #decoder = new TextDecoder("utf-8");

  push(bytes: Uint8Array): string {
    return this.#decoder.decode(bytes, { stream: true });
  }

  /** Flushes a dangling partial character (as U+FFFD) at the end of a generation. */
  end(): string {
    return this.#decoder.decode();
  }
}
