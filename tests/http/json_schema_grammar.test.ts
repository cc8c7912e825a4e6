/**
 * The JSON-schema → GBNF converter, checked with a small GBNF recognizer (below) that accepts
 * the subset the converter emits: literals, character classes, rule references, groups,
 * alternation, `* + ?` and `{m}`, `{m,}`, `{m,n}`.
 */
import assert from "node:assert/strict";
import {
  gbnfLiteral,
  JSON_OBJECT_GBNF,
  JsonSchemaGrammarError,
  jsonSchemaToGbnf,
} from "../../src/http/json_schema_grammar.ts";

// ---- a tiny GBNF recognizer -------------------------------------------------------------------
type Node =
  | { k: "lit"; s: string }
  | { k: "cls"; neg: boolean; ranges: [number, number][] }
  | { k: "ref"; name: string }
  | { k: "alt"; alts: Node[][] }
  | { k: "rep"; node: Node; min: number; max: number };

function parseGrammar(text: string): Map<string, Node> {
  const rules = new Map<string, Node>();
  for (const line of text.split("\n")) {
    if (!line.trim()) continue;
    const m = /^([a-zA-Z0-9-]+) ::= (.*)$/.exec(line);
    if (!m) throw new Error(`bad rule line: ${line}`);
    const p = { s: m[2]!, i: 0 };
    const node = parseAlt(p);
    if (p.i !== p.s.length) throw new Error(`trailing input in ${line} at ${p.i}`);
    rules.set(m[1]!, node);
  }
  return rules;
}

function ws(p: { s: string; i: number }) {
  while (p.s[p.i] === " ") p.i++;
}

function escape(p: { s: string; i: number }): number {
  const c = p.s[p.i++]!;
  if (c === "x") {
    const v = parseInt(p.s.slice(p.i, p.i + 2), 16);
    p.i += 2;
    return v;
  }
  return ({ n: 10, r: 13, t: 9 } as Record<string, number>)[c] ?? c.codePointAt(0)!;
}

function parseAlt(p: { s: string; i: number }): Node {
  const alts: Node[][] = [[]];
  for (;;) {
    ws(p);
    const c = p.s[p.i];
    if (c === undefined || c === ")") break;
    if (c === "|") {
      p.i++;
      alts.push([]);
      continue;
    }
    let node: Node;
    if (c === '"') {
      p.i++;
      let s = "";
      while (p.s[p.i] !== '"') {
        if (p.s[p.i] === "\\") {
          p.i++;
          s += String.fromCodePoint(escape(p));
        } else {
          const cp = p.s.codePointAt(p.i)!;
          s += String.fromCodePoint(cp);
          p.i += cp > 0xffff ? 2 : 1;
        }
      }
      p.i++;
      node = { k: "lit", s };
    } else if (c === "[") {
      p.i++;
      const neg = p.s[p.i] === "^";
      if (neg) p.i++;
      const ranges: [number, number][] = [];
      while (p.s[p.i] !== "]") {
        let lo: number;
        if (p.s[p.i] === "\\") {
          p.i++;
          lo = escape(p);
        } else lo = p.s.codePointAt(p.i++)!;
        let hi = lo;
        if (p.s[p.i] === "-" && p.s[p.i + 1] !== "]") {
          p.i++;
          if (p.s[p.i] === "\\") {
            p.i++;
            hi = escape(p);
          } else hi = p.s.codePointAt(p.i++)!;
        }
        ranges.push([lo, hi]);
      }
      p.i++;
      node = { k: "cls", neg, ranges };
    } else if (c === "(") {
      p.i++;
      node = parseAlt(p);
      if (p.s[p.i] !== ")") throw new Error("expected )");
      p.i++;
    } else {
      const m = /^[a-zA-Z0-9-]+/.exec(p.s.slice(p.i));
      if (!m) throw new Error(`unexpected '${c}' at ${p.i} in ${p.s}`);
      p.i += m[0].length;
      node = { k: "ref", name: m[0] };
    }
    const q = p.s[p.i];
    if (q === "*") node = { k: "rep", node, min: 0, max: Infinity };
    else if (q === "+") node = { k: "rep", node, min: 1, max: Infinity };
    else if (q === "?") node = { k: "rep", node, min: 0, max: 1 };
    if (q === "*" || q === "+" || q === "?") p.i++;
    else if (q === "{") {
      const m = /^\{(\d+)(,(\d*))?\}/.exec(p.s.slice(p.i))!;
      const min = Number(m[1]);
      const max = m[2] === undefined ? min : m[3] === "" ? Infinity : Number(m[3]);
      node = { k: "rep", node, min, max };
      p.i += m[0].length;
    }
    alts[alts.length - 1]!.push(node);
  }
  return alts.length === 1 && alts[0]!.length === 1 ? alts[0]![0]! : { k: "alt", alts };
}

function matches(grammar: string, input: string): boolean {
  const rules = parseGrammar(grammar);
  const cps = [...input].map((c) => c.codePointAt(0)!);
  const memo = new Map<string, Set<number>>();
  const ends = (n: Node, pos: number): Set<number> => {
    switch (n.k) {
      case "lit": {
        const s = [...n.s].map((c) => c.codePointAt(0)!);
        for (let j = 0; j < s.length; j++) if (cps[pos + j] !== s[j]) return new Set();
        return new Set([pos + s.length]);
      }
      case "cls": {
        const c = cps[pos];
        if (c === undefined) return new Set();
        const inside = n.ranges.some(([lo, hi]) => c >= lo && c <= hi);
        return inside !== n.neg ? new Set([pos + 1]) : new Set();
      }
      case "ref": {
        const key = `${n.name}@${pos}`;
        const hit = memo.get(key);
        if (hit) return hit;
        const rule = rules.get(n.name);
        if (!rule) throw new Error(`undefined rule ${n.name}`);
        memo.set(key, new Set()); // no left recursion in our grammars
        const r = ends(rule, pos);
        memo.set(key, r);
        return r;
      }
      case "alt": {
        const out = new Set<number>();
        for (const seq of n.alts) {
          let cur = new Set([pos]);
          for (const item of seq) {
            const next = new Set<number>();
            for (const p of cur) for (const e of ends(item, p)) next.add(e);
            cur = next;
          }
          for (const e of cur) out.add(e);
        }
        return out;
      }
      case "rep": {
        const out = new Set<number>();
        let cur = new Set([pos]);
        if (n.min === 0) out.add(pos);
        for (let count = 1; count <= n.max && cur.size > 0; count++) {
          const next = new Set<number>();
          for (const p of cur) for (const e of ends(n.node, p)) if (e !== p) next.add(e);
          cur = next;
          if (count >= n.min) { for (const e of cur) out.add(e); }
          if (count > cps.length + 1) break;
        }
        return out;
      }
    }
  };
  return ends({ k: "ref", name: "root" }, 0).has(cps.length);
}

// ---- tests ---------------------------------------------------------------------------------------

Deno.test("json_object grammar accepts JSON objects and rejects other JSON", () => {
  for (
    const ok of [
      "{}",
      '{"a": 1}',
      '{"a": [1, 2.5, -3e2, "x", true, null, {"b": {}}], "c": "q\\"\\u00e9"}',
      '{\n  "k": "v"\n}',
    ]
  ) assert.ok(matches(JSON_OBJECT_GBNF, ok), ok);
  for (const bad of ["[]", '"s"', "{a: 1}", '{"a": 01}', '{"a": tru}', "{", '{"a":1,}']) {
    assert.ok(!matches(JSON_OBJECT_GBNF, bad), bad);
  }
});

Deno.test("json_schema grammar: required and optional properties in order, typed values", () => {
  const g = jsonSchemaToGbnf({
    type: "object",
    properties: {
      name: { type: "string" },
      age: { type: "integer" },
      score: { type: "number" },
      ok: { type: "boolean" },
    },
    required: ["name", "age"],
  });
  assert.ok(g.startsWith("root ::= "));
  for (
    const ok of [
      '{"name": "Ann", "age": 3}',
      '{"name":"Ann","age":3,"score":1.5}',
      '{"name": "Ann", "age": 3, "ok": false}',
      '{"name": "Ann", "age": -3, "score": 2, "ok": true}',
    ]
  ) assert.ok(matches(g, ok), ok);
  for (
    const bad of [
      '{"age": 3, "name": "Ann"}',
      '{"name": "Ann"}',
      '{"name": "Ann", "age": 3.5}',
      '{"name": 1, "age": 3}',
      '{"name": "Ann", "age": 3, "extra": 1}',
    ]
  ) assert.ok(!matches(g, bad), bad);
});

Deno.test("json_schema grammar: all-optional objects, arrays with bounds, enum, const, nullable types", () => {
  const g = jsonSchemaToGbnf({
    type: "object",
    properties: {
      tags: { type: "array", items: { type: "string" }, minItems: 1, maxItems: 2 },
      color: { enum: ["red", "green", 3] },
      kind: { const: "cat" },
      note: { type: ["string", "null"] },
    },
  });
  for (
    const ok of [
      "{}",
      '{"tags": ["a"]}',
      '{"tags": ["a", "b"], "color": "red"}',
      '{"color": 3}',
      '{"kind": "cat", "note": null}',
      '{"note": "x"}',
    ]
  ) assert.ok(matches(g, ok), ok);
  for (
    const bad of [
      '{"tags": []}',
      '{"tags": ["a", "b", "c"]}',
      '{"color": "blue"}',
      '{"kind": "dog"}',
      '{"note": 1}',
      '{"color": "red", "tags": ["a"]}',
    ]
  ) assert.ok(!matches(g, bad), bad);
});

Deno.test("json_schema grammar: $ref with recursion, anyOf, string lengths", () => {
  const g = jsonSchemaToGbnf({
    $defs: {
      node: {
        type: "object",
        properties: {
          v: { type: "integer" },
          kids: { type: "array", items: { $ref: "#/$defs/node" } },
        },
        required: ["v"],
      },
    },
    anyOf: [{ $ref: "#/$defs/node" }, { type: "string", minLength: 2, maxLength: 3 }],
  });
  for (const ok of ['{"v": 1}', '{"v": 1, "kids": [{"v": 2, "kids": []}]}', '"ab"', '"abc"']) {
    assert.ok(matches(g, ok), ok);
  }
  for (const bad of ['"a"', '"abcd"', '{"kids": []}']) assert.ok(!matches(g, bad), bad);
});

Deno.test("json_schema grammar refuses keywords it cannot enforce, naming where", () => {
  assert.throws(() => jsonSchemaToGbnf({ type: "string", pattern: "^a+$" }), (e: unknown) => {
    assert.ok(e instanceof JsonSchemaGrammarError);
    assert.match(e.message, /pattern/);
    return true;
  });
  assert.throws(
    () => jsonSchemaToGbnf({ type: "object", properties: { a: { type: "number", minimum: 1 } } }),
    /\/properties\/a: keyword 'minimum'/,
  );
  assert.throws(
    () => jsonSchemaToGbnf({ $ref: "https://example.com/s.json" }),
    JsonSchemaGrammarError,
  );
  assert.throws(() => jsonSchemaToGbnf({ type: "object", required: ["x"], properties: {} }), /'x'/);
});

Deno.test("gbnfLiteral escapes quotes, backslashes and control characters", () => {
  assert.equal(gbnfLiteral('a"b\\c\nd\x01'), '"a\\"b\\\\c\\nd\\x01"');
  const g = `root ::= ${gbnfLiteral('{"k":"\\n"}')}\n`;
  assert.ok(matches(g, '{"k":"\\n"}'));
});

Deno.test("json_schema grammar refuses repetition counts beyond llama.cpp's limit", () => {
  assert.throws(() => jsonSchemaToGbnf({ type: "string", minLength: 5000 }), /2000/);
  assert.ok(jsonSchemaToGbnf({ type: "string", minLength: 2000 }).includes("char{2000,}"));
});

Deno.test("json_schema grammar: a const with no other rule around it still defines ws", () => {
  // llama.cpp refuses a grammar that uses an undefined rule ("the grammar could not be parsed").
  for (
    const [schema, ok, bad] of [
      [{ const: "x" }, '"x"', '"y"'],
      [{ const: 5 }, "5 ", "6"],
      [{ anyOf: [{ const: 1 }, { const: [true] }] }, "[true]", "2"],
    ] as const
  ) {
    const g = jsonSchemaToGbnf(schema);
    assert.ok(matches(g, ok), `${JSON.stringify(schema)} ${ok}`);
    assert.ok(!matches(g, bad), `${JSON.stringify(schema)} ${bad}`);
  }
});
