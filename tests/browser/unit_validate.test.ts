import assert from "node:assert/strict";
import {
  BODY_RESERVE_BYTES,
  checkDimensions,
  classifyFile,
  DEFAULT_LIMITS,
  formatBytes,
  isDemoInfo,
  limitsFromInfo,
  sniffFormat,
  undecodableMessage,
} from "../../static/js/validate.js";

const enc = new TextEncoder();
const bytes = (...xs: number[]) => new Uint8Array(xs);
const ascii = (s: string) => enc.encode(s);
function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
const PNG_SIG = bytes(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a);
const ftyp = (brand: string) =>
  concat(bytes(0, 0, 0, 24), ascii("ftyp" + brand), new Uint8Array(12));

Deno.test("sniffFormat recognises the server's formats and others by their bytes", () => {
  assert.equal(sniffFormat(bytes(0xff, 0xd8, 0xff, 0xe0)), "jpeg");
  assert.equal(sniffFormat(concat(PNG_SIG, new Uint8Array(8))), "png");
  assert.equal(sniffFormat(ascii("GIF89a....")), "gif");
  assert.equal(sniffFormat(ascii("GIF87a....")), "gif");
  assert.equal(sniffFormat(ascii("RIFF\0\0\0\0WEBPVP8 ")), "webp");
  assert.equal(sniffFormat(concat(ascii("BM"), new Uint8Array(20))), "bmp");
  assert.equal(sniffFormat(ftyp("heic")), "heic");
  assert.equal(sniffFormat(ftyp("mif1")), "heic");
  assert.equal(sniffFormat(ftyp("avif")), "avif");
  assert.equal(sniffFormat(ascii("II*\0abcd")), "tiff");
  assert.equal(sniffFormat(ascii("MM\0*abcd")), "tiff");
  assert.equal(sniffFormat(ascii('  <svg xmlns="http://www.w3.org/2000/svg">')), "svg");
  assert.equal(sniffFormat(ascii('<?xml version="1.0"?><svg>')), "svg");
  assert.equal(sniffFormat(ascii("hello world, not an image")), null);
  assert.equal(sniffFormat(ascii("RIFF\0\0\0\0WAVEfmt ")), null);
  assert.equal(sniffFormat(new Uint8Array(0)), null);
});

Deno.test("classifyFile uploads server formats as they are, by content not name", () => {
  const v = classifyFile({
    name: "photo.png", // misnamed: the bytes are JPEG
    type: "image/png",
    size: 1000,
    head: bytes(0xff, 0xd8, 0xff, 0xdb),
  });
  assert.deepEqual(v, { ok: true, action: "upload", format: "jpeg", mime: "image/jpeg" });
});

Deno.test("classifyFile refuses empty, too large and non-image files with a message", () => {
  const empty = classifyFile({ name: "a.jpg", type: "image/jpeg", size: 0, head: bytes() });
  assert.equal(empty.ok, false);
  assert.ok(!empty.ok && empty.code === "empty" && empty.message.includes("“a.jpg” is empty"));

  const big = classifyFile({
    name: "big.jpg",
    type: "image/jpeg",
    size: DEFAULT_LIMITS.maxBytes + 1,
    head: bytes(0xff, 0xd8, 0xff),
  });
  assert.ok(!big.ok && big.code === "too_large");
  assert.ok(!big.ok && big.message.includes("the limit is 20 MB"), !big.ok ? big.message : "");

  const text = classifyFile({
    name: "notes.txt",
    type: "text/plain",
    size: 12,
    head: ascii("hello"),
  });
  assert.ok(!text.ok && text.code === "unsupported_type");
  assert.ok(!text.ok && /not a supported image.*JPEG, PNG, GIF, WebP or BMP/.test(text.message));

  const limits = { ...DEFAULT_LIMITS, maxBytes: 1000 };
  const small = classifyFile({
    name: "x.png",
    type: "",
    size: 1001,
    head: PNG_SIG,
  }, limits);
  assert.ok(!small.ok && small.message.includes("1000 B"));
});

Deno.test("classifyFile sends other image formats to conversion", () => {
  const heic = classifyFile({
    name: "IMG_1.HEIC",
    type: "image/heic",
    size: 10,
    head: ftyp("heic"),
  });
  assert.deepEqual(heic, { ok: true, action: "convert", format: "heic" });
  const byName = classifyFile({ name: "IMG_2.heif", type: "", size: 10, head: ascii("????????") });
  assert.deepEqual(byName, { ok: true, action: "convert", format: "heic" });
  const svg = classifyFile({
    name: "a.svg",
    type: "image/svg+xml",
    size: 10,
    head: ascii("<svg>"),
  });
  assert.deepEqual(svg, { ok: true, action: "convert", format: "svg" });
  const unknown = classifyFile({
    name: "a.img",
    type: "image/x-foo",
    size: 10,
    head: ascii("zzzz"),
  });
  assert.deepEqual(unknown, { ok: true, action: "convert", format: null });
});

Deno.test("undecodableMessage names the format and what to do", () => {
  assert.match(
    undecodableMessage("IMG.HEIC", "heic"),
    /HEIC\/HEIF, which the server does not take/,
  );
  assert.match(undecodableMessage("x.jpg", "jpeg"), /could not be read as a JPEG image/);
  assert.match(undecodableMessage("x", null), /not an image this browser can read/);
});

Deno.test("checkDimensions refuses too small, too long and too many pixels", () => {
  assert.equal(checkDimensions(640, 480), null);
  assert.equal(checkDimensions(16, 16), null);
  assert.equal(checkDimensions(15, 400)?.code, "too_small");
  assert.match(
    checkDimensions(8, 8, DEFAULT_LIMITS, "t.png")?.message ?? "",
    /“t.png” is too small: 8×8 px/,
  );
  assert.equal(checkDimensions(20000, 100)?.code, "too_large_side");
  assert.equal(checkDimensions(8000, 8000)?.code, "too_many_pixels");
  assert.equal(checkDimensions(0, 10)?.code, "no_size");
});

Deno.test("limitsFromInfo reads what the server publishes and defaults the rest", () => {
  assert.deepEqual(limitsFromInfo(null), DEFAULT_LIMITS);
  assert.deepEqual(limitsFromInfo({ model: { id: "smolvlm" } }), DEFAULT_LIMITS);
  const l = limitsFromInfo({ limits: { max_image_bytes: 5_000_000, max_image_megapixels: 10 } });
  assert.equal(l.maxBytes, 5_000_000);
  assert.equal(l.maxPixels, 10_000_000);
  assert.equal(l.minSide, DEFAULT_LIMITS.minSide);
  assert.equal(limitsFromInfo({ max_image_bytes: "big" }).maxBytes, DEFAULT_LIMITS.maxBytes);
});

Deno.test("limitsFromInfo() reads the server's effective image limits from /v1/info", () => {
  // The shape GET /v1/info has: the image pipeline's effective limits and the body limit.
  const info = (maxBytes: number, maxBody: number) => ({
    config: { max_body_bytes: maxBody },
    image_processing_defaults: {
      limits: { max_bytes: maxBytes, max_megapixels: 12, max_side: 8000 },
    },
  });
  const small = limitsFromInfo(info(5_000_000, 25 * 1024 * 1024));
  assert.equal(small.maxBytes, 5_000_000);
  assert.equal(small.maxPixels, 12_000_000);
  assert.equal(small.maxSide, 8000);
});

Deno.test("limitsFromInfo() keeps an image inside the server's body limit once in base64", () => {
  // The defaults, 20 MiB images in 25 MiB bodies: a 19.5 MiB image is 26 MiB as base64.
  const l = limitsFromInfo({
    config: { max_body_bytes: 25 * 1024 * 1024 },
    image_processing_defaults: { limits: { max_bytes: 20 * 1024 * 1024 } },
  });
  assert.equal(l.maxBytes, ((25 * 1024 * 1024 - BODY_RESERVE_BYTES) * 3) / 4);
  assert.ok(Math.ceil(l.maxBytes / 3) * 4 + BODY_RESERVE_BYTES <= 25 * 1024 * 1024);
  // A body limit alone never raises the image limit.
  assert.equal(limitsFromInfo({ max_body_bytes: 1e9 }).maxBytes, DEFAULT_LIMITS.maxBytes);
});

Deno.test("isDemoInfo accepts demo at the top or under model", () => {
  assert.equal(isDemoInfo({ demo: true }), true);
  assert.equal(isDemoInfo({ model: { demo: true } }), true);
  assert.equal(isDemoInfo({ model: { demo: false } }), false);
  assert.equal(isDemoInfo("demo"), false);
});

Deno.test("formatBytes", () => {
  assert.equal(formatBytes(512), "512 B");
  assert.equal(formatBytes(2048), "2.0 KB");
  assert.equal(formatBytes(20 * 1024 * 1024), "20 MB");
  assert.equal(formatBytes(1.5 * 1024 * 1024), "1.5 MB");
  assert.equal(formatBytes(19.2 * 1024 * 1024), "19.2 MB");
  assert.equal(formatBytes(250 * 1024 * 1024), "250 MB");
});
