import assert from "node:assert/strict";
import {
  JsonBodyError,
  lookupMediaRef,
  MAX_DEPTH,
  MAX_VALUES,
  parseJsonWithMedia,
} from "../../src/image/json_media.ts";
import { IsolatedImagePipeline } from "../../src/image/isolated.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const payload = Uint8Array.from({ length: 6000 }, (_, i) => (i * 7) & 0xff);
const b64 = (payload as unknown as { toBase64(): string }).toBase64();

function body(url: string, extra: Record<string, unknown> = {}): Uint8Array {
  return enc(JSON.stringify({
    messages: [{ role: "user", content: [{ type: "image_url", image_url: { url } }] }],
    ...extra,
  }));
}

// deno-lint-ignore no-explicit-any
const urlOf = (v: any): string => v.messages[0].content[0].image_url.url;

Deno.test("parseJsonWithMedia() replaces a large data: URL by a reference to its bytes", () => {
  const parsed = parseJsonWithMedia(body(`data:image/png;base64,${b64}`), "n1", 4096);
  const entry = lookupMediaRef(parsed, urlOf(parsed.value));
  assert.ok(entry && "bytes" in entry);
  assert.equal(entry.mime, "image/png");
  assert.deepEqual(entry.bytes, payload);
  assert.ok(urlOf(parsed.value).length < 64);
});

Deno.test("parseJsonWithMedia() decodes bare base64 and leaves short, http and text strings", () => {
  const bare = parseJsonWithMedia(body(b64), "n", 4096);
  const entry = lookupMediaRef(bare, urlOf(bare.value));
  assert.ok(entry && "bytes" in entry);
  assert.deepEqual(entry.bytes, payload);
  assert.equal(entry.mime, "");

  const short = `data:image/png;base64,${b64.slice(0, 100)}`;
  assert.equal(urlOf(parseJsonWithMedia(body(short), "n", 4096).value), short);
  const http = `https://example.com/${"a".repeat(5000)}`;
  assert.equal(urlOf(parseJsonWithMedia(body(http), "n", 4096).value), http);
  const prose = `${"words and spaces ".repeat(400)}`;
  assert.equal(urlOf(parseJsonWithMedia(body(prose), "n", 4096).value), prose);
});

Deno.test("parseJsonWithMedia() records a bad base64 payload as an error entry", () => {
  const parsed = parseJsonWithMedia(body(`data:image/png;base64,${"*".repeat(5000)}`), "n", 4096);
  const entry = lookupMediaRef(parsed, urlOf(parsed.value));
  assert.ok(entry && "error" in entry);
  assert.match(entry.error, /base64/);
});

Deno.test("parseJsonWithMedia() throws JsonBodyError for bad UTF-8, bad JSON and an empty body", () => {
  const fault = (bytes: Uint8Array) => {
    try {
      parseJsonWithMedia(bytes, "n", 4096);
    } catch (e) {
      assert.ok(e instanceof JsonBodyError);
      return e.fault;
    }
    assert.fail("no error");
  };
  assert.equal(fault(new Uint8Array([0x7b, 0xff, 0x7d])), "utf8");
  assert.equal(fault(enc('{"messages": [')), "json");
  assert.equal(fault(enc("  \n")), "empty");
});

Deno.test("lookupMediaRef() resolves only this body's nonce", () => {
  const parsed = parseJsonWithMedia(body(`data:image/png;base64,${b64}`), "secret", 4096);
  assert.equal(lookupMediaRef(parsed, "media-ref:guess:0"), undefined);
  assert.equal(lookupMediaRef(parsed, "media-ref:secret:7"), undefined);
  assert.equal(lookupMediaRef(parsed, "data:image/png;base64,AAAA"), undefined);
});

Deno.test("IsolatedImagePipeline.parseJson() parses in a worker and moves the bytes back", {
  sanitizeOps: false,
  sanitizeResources: false,
}, async () => {
  using pipe = new IsolatedImagePipeline({ workers: 1 });
  const bytes = body(`data:image/jpeg;base64,${b64}`);
  const parsed = await pipe.parseJson(bytes, { nonce: "w", minLength: 4096 });
  assert.equal(bytes.byteLength, 0, "the body's buffer moved to the worker");
  const entry = lookupMediaRef(parsed, urlOf(parsed.value));
  assert.ok(entry && "bytes" in entry);
  assert.deepEqual(entry.bytes, payload);
  await assert.rejects(
    pipe.parseJson(enc("{nope"), { nonce: "w", minLength: 4096 }),
    (e: unknown) => e instanceof JsonBodyError && e.fault === "json",
  );
});

Deno.test("parseJsonWithMedia() refuses a body nested deeper than MAX_DEPTH without recursing", () => {
  for (const depth of [MAX_DEPTH + 1, 200_000]) {
    const deep = enc(`{"messages":${"[".repeat(depth)}${"]".repeat(depth)}}`);
    assert.throws(
      () => parseJsonWithMedia(deep, "n", 4096),
      (e: unknown) => e instanceof JsonBodyError && e.fault === "json",
    );
  }
  const ok = enc(`{"a":${"[".repeat(MAX_DEPTH - 2)}${"]".repeat(MAX_DEPTH - 2)}}`);
  assert.ok(parseJsonWithMedia(ok, "n", 4096).value);
});

Deno.test("parseJsonWithMedia() refuses a body of more than MAX_VALUES JSON values", () => {
  const over = enc(`{"messages":[],"junk":[${"0,".repeat(MAX_VALUES)}0]}`);
  assert.throws(
    () => parseJsonWithMedia(over, "n", 4096),
    (e) => e instanceof JsonBodyError && e.fault === "complex",
  );
  const at = enc(`{"junk":[${"0,".repeat(MAX_VALUES - 3)}0]}`); // root, junk and its items
  assert.doesNotThrow(() => parseJsonWithMedia(at, "n", 4096));
});
