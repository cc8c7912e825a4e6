/**
 * Packed RGB → a 24-bit BMP file, so decoded frames enter the image pipeline the way uploaded
 * images do (same validation, denoise and colour balance). BMP because it is the one format the
 * pipeline reads that needs no compression: wrapping a frame costs a copy.
 *
 * @module
 */
export function rgbToBmp(width: number, height: number, rgb: Uint8Array): Uint8Array {
  if (rgb.length !== width * height * 3) {
    throw new RangeError(`${rgb.length} bytes of RGB for a ${width}x${height} image`);
  }
  const rowBytes = (width * 3 + 3) & ~3;
  const header = 54;
  const size = header + rowBytes * height;
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  out[0] = 0x42; // "BM"
  out[1] = 0x4d;
  view.setUint32(2, size, true);
  view.setUint32(10, header, true);
  view.setUint32(14, 40, true); // BITMAPINFOHEADER
  view.setInt32(18, width, true);
  view.setInt32(22, height, true); // positive: rows bottom-up
  view.setUint16(26, 1, true);
  view.setUint16(28, 24, true);
  view.setUint32(34, rowBytes * height, true);
  view.setInt32(38, 2835, true); // 72 dpi
  view.setInt32(42, 2835, true);
  for (let y = 0; y < height; y++) {
    const src = (height - 1 - y) * width * 3;
    const dst = header + y * rowBytes;
    for (let x = 0; x < width; x++) {
      const s = src + x * 3, d = dst + x * 3;
      out[d] = rgb[s + 2]!;
      out[d + 1] = rgb[s + 1]!;
      out[d + 2] = rgb[s]!;
    }
  }
  return out;
}
