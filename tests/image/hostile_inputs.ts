/** Builders of hostile image bytes for the hardening tests. */
import { readFixture } from "./helpers.ts";

export function concat(...parts: (Uint8Array | number[])[]): Uint8Array {
  const n = parts.reduce((s, p) => s + p.length, 0);
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
export const le32 = (
  v: number,
) => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];
export const be32 = (
  v: number,
) => [(v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff];
export const ascii = (s: string) => [...s].map((c) => c.charCodeAt(0));

/** A valid WebP, then a chunk header declaring `len` bytes; the RIFF size covers the header. */
export function webpWithChunk(len: number, type = "EXIF"): Uint8Array {
  const webp = readFixture("pattern_48x32_lossless.webp");
  const out = concat(webp, ascii(type), le32(len));
  new DataView(out.buffer).setUint32(4, out.length - 8, true);
  return out;
}
