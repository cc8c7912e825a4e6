/**
 * Seeded, reproducible hostile chat-completion requests: mutated JSON, wrong types, oversized
 * fields, bad base64 and hostile image bytes, malicious JSON schemas (deep recursion, huge
 * enums), and per-request overrides above the operator's ceilings.
 *
 * @module
 */
import { type FuzzSeed, imageFuzzCases, prng } from "./image_cases.ts";

export interface HttpFuzzCase {
  readonly name: string;
  readonly body: string | Uint8Array<ArrayBuffer>;
  readonly contentType?: string;
}

const int = (r: () => number, n: number) => Math.floor(r() * n);

function b64(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(s);
}

function chat(content: unknown, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { model: "smolvlm", max_tokens: 4, messages: [{ role: "user", content }], ...extra };
}

function imagePart(url: string): Record<string, unknown> {
  return { type: "image_url", image_url: { url } };
}

function nested(depth: number, leaf: unknown, wrap: (inner: unknown) => unknown): unknown {
  let v = leaf;
  for (let i = 0; i < depth; i++) v = wrap(v);
  return v;
}

/** Builds a JSON text nested `depth` deep without recursion (JSON.stringify would overflow). */
function deepArrayText(depth: number): string {
  return "[".repeat(depth) + "]".repeat(depth);
}

const WRONG_VALUES: readonly unknown[] = [
  null,
  -1,
  0,
  1e12,
  "x",
  true,
  [],
  {},
  [1, 2, 3],
  "9".repeat(400),
  Number.MAX_SAFE_INTEGER,
  -0.5,
];
const FIELDS: readonly string[] = [
  "model",
  "messages",
  "max_tokens",
  "max_completion_tokens",
  "temperature",
  "top_p",
  "top_k",
  "seed",
  "stop",
  "stream",
  "stream_options",
  "n",
  "response_format",
  "image_processing",
  "presence_penalty",
  "frequency_penalty",
  "logit_bias",
  "user",
];

type Gen = (r: () => number, seeds: readonly FuzzSeed[]) => HttpFuzzCase;

const GENERATORS: readonly [string, Gen][] = [
  ["valid-text", () => ({ name: "", body: JSON.stringify(chat("Hi")) })],
  ["truncated-json", (r) => {
    const t = JSON.stringify(chat([{ type: "text", text: "describe" }]));
    return { name: "", body: t.slice(0, int(r, t.length)) };
  }],
  ["flipped-json", (r) => {
    const b = new TextEncoder().encode(JSON.stringify(chat("Hello there", { temperature: 0.5 })));
    for (let k = 1 + int(r, 4); k > 0; k--) b[int(r, b.length)]! ^= 1 << int(r, 8);
    return { name: "", body: b };
  }],
  ["not-utf8", () => ({ name: "", body: new Uint8Array([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]) })],
  ["wrong-type", (r) => {
    const field = FIELDS[int(r, FIELDS.length)]!;
    return {
      name: field,
      body: JSON.stringify({ ...chat("Hi"), [field]: WRONG_VALUES[int(r, WRONG_VALUES.length)] }),
    };
  }],
  ["bad-role-or-part", (r) => {
    const variants = [
      { model: "smolvlm", messages: [{ role: "wizard", content: "Hi" }] },
      chat([{ type: "audio", audio: "x" }]),
      chat([{ type: "image_url" }]),
      chat([{ type: "image_url", image_url: { url: 42 } }]),
      chat([{ type: "text" }]),
      { model: "smolvlm", messages: [] },
      { model: "smolvlm", messages: "Hi" },
      chat(42),
    ];
    return { name: "", body: JSON.stringify(variants[int(r, variants.length)]) };
  }],
  ["oversized-field", (r) => {
    const n = [10_000, 200_000, 2_000_000][int(r, 3)]!;
    const variants = [
      chat("a".repeat(n)),
      chat("Hi", { stop: Array.from({ length: Math.min(n, 5000) }, (_, i) => `s${i}`) }),
      chat("Hi", { stop: ["x".repeat(n)] }),
      {
        model: "smolvlm",
        messages: Array.from(
          { length: Math.min(n, 20000) },
          () => ({ role: "user", content: "x" }),
        ),
      },
      chat("Hi", { user: "u".repeat(n) }),
    ];
    return { name: String(n), body: JSON.stringify(variants[int(r, variants.length)]) };
  }],
  ["deep-json", (r) => ({
    name: "",
    body: `{"model":"smolvlm","messages":[{"role":"user","content":"Hi"}],"x":${
      deepArrayText(1000 + int(r, 200_000))
    }}`,
  })],
  ["bad-base64", (r) => {
    const urls = [
      "data:image/png;base64,@@@not base64@@@",
      "data:image/png;base64,",
      "data:image/png;base64,A",
      "data:;base64,AAAA",
      "data:image/png,%ZZ",
      "data:image/png;base64," + "A".repeat(1 + int(r, 5000)),
      "http://127.0.0.1/x.png",
      "file:///etc/passwd",
      "",
      "javascript:alert(1)",
    ];
    return { name: "", body: JSON.stringify(chat([imagePart(urls[int(r, urls.length)]!)])) };
  }],
  ["hostile-image", (r, seeds) => {
    const [c] = [...imageFuzzCases(int(r, 2 ** 31), 1, seeds)];
    const mime = c!.mime ?? "application/octet-stream";
    return {
      name: c!.name,
      body: JSON.stringify(chat([
        { type: "text", text: "What is this?" },
        imagePart(`data:${mime};base64,${b64(c!.bytes)}`),
      ], { image_processing: { size: [128, 128], min_size: 64 } })),
    };
  }],
  ["malicious-schema", (r) => {
    const shapes: unknown[] = [
      nested(
        2000 + int(r, 20000),
        { type: "string" },
        (i) => ({ type: "object", properties: { a: i } }),
      ),
      nested(5000, { type: "integer" }, (i) => ({ type: "array", items: i })),
      { type: "string", enum: Array.from({ length: 10_000 + int(r, 200_000) }, (_, i) => `v${i}`) },
      { $ref: "#" },
      { $defs: { a: { $ref: "#/$defs/a" } }, $ref: "#/$defs/a" },
      {
        type: "object",
        properties: Object.fromEntries(
          Array.from({ length: 5000 }, (_, i) => [`k${i}`, { type: "number" }]),
        ),
      },
      { anyOf: Array.from({ length: 3000 }, (_, i) => ({ const: i })) },
      { type: "string", pattern: "(a+)+$" },
      "not a schema",
    ];
    const schema = shapes[int(r, shapes.length)];
    return {
      name: "",
      body: JSON.stringify(
        chat("Answer in JSON", {
          response_format: { type: "json_schema", json_schema: { name: "x", schema } },
        }),
      ),
    };
  }],
  ["override-above-ceiling", (r) => {
    const overrides: unknown[] = [
      { limits: { max_megapixels: 1000 } },
      { limits: { max_side: 65535 } },
      { limits: { max_bytes: 2 ** 31 } },
      { size: [8192, 8192] },
      { noise_reduction: { diameter: 31 } },
      { noise_reduction: { diameter: 1e9 } },
      { size: "big" },
      { unknown_key: 1 },
    ];
    return {
      name: "",
      body: JSON.stringify(chat("Hi", {
        max_tokens: [1e9, 100_000, 4][int(r, 3)],
        image_processing: overrides[int(r, overrides.length)],
      })),
    };
  }],
  ["wrong-content-type", () => ({
    name: "",
    body: JSON.stringify(chat("Hi")),
    contentType: "text/plain",
  })],
  ["empty", () => ({ name: "", body: "" })],
];

/** `count` request cases, the same for the same seed. */
export function* httpFuzzCases(
  seed: number,
  count: number,
  imageSeeds: readonly FuzzSeed[],
): Generator<HttpFuzzCase> {
  const r = prng(seed);
  for (let i = 0; i < count; i++) {
    const [op, gen] = GENERATORS[int(r, GENERATORS.length)]!;
    const c = gen(r, imageSeeds);
    yield { ...c, name: `#${i} ${op}${c.name ? ` ${c.name}` : ""}` };
  }
}
