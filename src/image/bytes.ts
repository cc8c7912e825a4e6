/**
 * The one way hand-written parsers read untrusted bytes: unsigned big- and little-endian
 * integers with a bounds check on every read, and a cursor step that must move forward.
 *
 * A read past the end throws ImageDecodeError instead of yielding `undefined` (which bit
 * arithmetic silently turns into 0), and every integer is unsigned, so a length field can never
 * become negative and walk a parser backwards (the 2^31 WebP chunk length that used to freeze
 * the server).
 *
 * @module
 */
import { ImageDecodeError } from "./errors.ts";

/** Thrown for a read outside the data; callers may rethrow with their format's name. */
export class ByteRangeError extends ImageDecodeError {
  constructor(offset: number, size: number, length: number) {
    super(
      `data is truncated or corrupt (read of ${size} bytes at offset ${offset}, length ${length})`,
    );
    this.name = "ByteRangeError";
  }
}

function check(b: Uint8Array, o: number, size: number): void {
  // Also rejects NaN, fractions and negatives: every offset must be a whole, in-range number.
  if (!(Number.isSafeInteger(o) && o >= 0 && o + size <= b.length)) {
    throw new ByteRangeError(o, size, b.length);
  }
}

export function u8(b: Uint8Array, o: number): number {
  check(b, o, 1);
  return b[o]!;
}

export function u16be(b: Uint8Array, o: number): number {
  check(b, o, 2);
  return b[o]! * 0x100 + b[o + 1]!;
}

export function u16le(b: Uint8Array, o: number): number {
  check(b, o, 2);
  return b[o]! + b[o + 1]! * 0x100;
}

export function u24le(b: Uint8Array, o: number): number {
  check(b, o, 3);
  return b[o]! + b[o + 1]! * 0x100 + b[o + 2]! * 0x10000;
}

/** Multiplication, not `<<`, so bit 31 stays a magnitude bit and the result is never negative. */
export function u32be(b: Uint8Array, o: number): number {
  check(b, o, 4);
  return b[o]! * 0x1000000 + b[o + 1]! * 0x10000 + b[o + 2]! * 0x100 + b[o + 3]!;
}

export function u32le(b: Uint8Array, o: number): number {
  check(b, o, 4);
  return b[o]! + b[o + 1]! * 0x100 + b[o + 2]! * 0x10000 + b[o + 3]! * 0x1000000;
}

/** A two's-complement field (BMP's height sign means top-down): the unsigned read, reinterpreted. */
export function i32le(b: Uint8Array, o: number): number {
  return u32le(b, o) | 0;
}

/** `n` bytes at `o` as Latin-1 text (chunk and marker names). */
export function ascii(b: Uint8Array, o: number, n: number): string {
  check(b, o, n);
  let s = "";
  for (let i = 0; i < n; i++) s += String.fromCharCode(b[o + i]!);
  return s;
}

/** True when `n` bytes at `o` equal the ASCII text `s`; false (never a throw) when out of range. */
export function hasAscii(b: Uint8Array, o: number, s: string): boolean {
  if (!(Number.isSafeInteger(o) && o >= 0 && o + s.length <= b.length)) return false;
  for (let i = 0; i < s.length; i++) if (b[o + i] !== s.charCodeAt(i)) return false;
  return true;
}

/**
 * The next cursor of a loop over chunks: `next` must be a finite number strictly after `from`,
 * so every loop that steps with it provably advances and ends.
 */
export function advance(from: number, next: number, what: string): number {
  if (!(Number.isFinite(next) && next > from)) {
    throw new ImageDecodeError(`${what} does not advance (offset ${from} → ${next})`);
  }
  return next;
}
