/**
 * JSON Schema (a practical subset) → GBNF for llama.cpp's grammar sampler (root rule `root`),
 * and a fixed GBNF for `response_format: {"type":"json_object"}`.
 *
 * Supported: `type` (object, array, string, number, integer, boolean, null, or an array of
 * those), `properties` + `required` (properties are emitted in declared order; optional ones
 * may be left out), `items`, `minItems`/`maxItems`, `enum`, `const`, `anyOf`/`oneOf`, local
 * `$ref` (`#/$defs/...`, `#/definitions/...`, recursion allowed), `minLength`/`maxLength` on
 * strings. An object without `properties` accepts any JSON object; a schema of `{}` or `true`
 * accepts any JSON value. Extra properties are never generated (as with `"strict": true`).
 * Anything else that constrains the output (`pattern`, `format`, `allOf`, `not`, numeric
 * bounds, ...) is refused with a JsonSchemaGrammarError naming the keyword, rather than
 * silently ignored.
 *
 * @module
 */

export class JsonSchemaGrammarError extends Error {
  /** Where in the schema, as a JSON pointer (`/properties/name`). */
  readonly pointer: string;
  constructor(pointer: string, message: string) {
    super(`${pointer || "/"}: ${message}`);
    this.name = "JsonSchemaGrammarError";
    this.pointer = pointer;
  }
}

/** Rules every JSON grammar here uses. */
const PRIMITIVES: Readonly<Record<string, string>> = {
  ws: `ws ::= | " " | "\\n" [ \\t]{0,20}`,
  char: `char ::= [^"\\\\\\x7F\\x00-\\x1F] | "\\\\" (["\\\\/bfnrt] | "u" [0-9a-fA-F]{4})`,
  string: `string ::= "\\"" char* "\\"" ws`,
  number: `number ::= ("-"? ([0-9] | [1-9] [0-9]{0,15})) ("." [0-9]+)? ([eE] [-+]? [0-9]{1,3})? ws`,
  integer: `integer ::= ("-"? ([0-9] | [1-9] [0-9]{0,15})) ws`,
  boolean: `boolean ::= ("true" | "false") ws`,
  null: `null ::= "null" ws`,
  value: `value ::= object | array | string | number | boolean | null`,
  object: `object ::= "{" ws ( string ":" ws value ("," ws string ":" ws value)* )? "}" ws`,
  array: `array ::= "[" ws ( value ("," ws value)* )? "]" ws`,
};

const PRIMITIVE_DEPS: Readonly<Record<string, readonly string[]>> = {
  ws: [],
  char: [],
  string: ["char", "ws"],
  number: ["ws"],
  integer: ["ws"],
  boolean: ["ws"],
  null: ["ws"],
  value: ["object", "array", "string", "number", "boolean", "null"],
  object: ["string", "value", "ws"],
  array: ["value", "ws"],
};

/** A GBNF string literal for `s`. */
export function gbnfLiteral(s: string): string {
  let out = '"';
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (ch === '"') out += '\\"';
    else if (ch === "\\") out += "\\\\";
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (ch === "\t") out += "\\t";
    else if (cp < 0x20 || cp === 0x7f) out += `\\x${cp.toString(16).padStart(2, "0")}`;
    else out += ch;
  }
  return out + '"';
}

const KNOWN_KEYWORDS = new Set([
  "type",
  "properties",
  "required",
  "items",
  "minItems",
  "maxItems",
  "enum",
  "const",
  "anyOf",
  "oneOf",
  "$ref",
  "$defs",
  "definitions",
  "minLength",
  "maxLength",
  "additionalProperties",
  // Annotations that constrain nothing:
  "title",
  "description",
  "$schema",
  "$id",
  "$comment",
  "examples",
  "default",
  "strict",
  "nullable",
]);

type Schema = Record<string, unknown> | boolean;

class Converter {
  private readonly rules = new Map<string, string>();
  private readonly refRules = new Map<string, string>();
  private readonly root: unknown;
  private counter = 0;

  constructor(root: unknown) {
    this.root = root;
  }

  usePrimitive(name: string): string {
    if (!this.rules.has(name)) {
      const def = PRIMITIVES[name];
      if (!def) throw new Error(`no primitive ${name}`);
      this.rules.set(name, def);
      for (const dep of PRIMITIVE_DEPS[name] ?? []) this.usePrimitive(dep);
    }
    return name;
  }

  private newRule(hint: string, body: string): string {
    const base = hint.replace(/[^a-zA-Z0-9]+/g, "-").replace(/^-+|-+$/g, "").toLowerCase() ||
      "r";
    const name = `${base}-${this.counter++}`;
    this.rules.set(name, `${name} ::= ${body}`);
    return name;
  }

  render(rootRule: string): string {
    return [rootRule, ...this.rules.values()].join("\n") + "\n";
  }

  /** Returns a GBNF expression matching `schema` (followed by optional whitespace). */
  visit(schema: unknown, ptr: string, hint: string): string {
    if (schema === true || (isObject(schema) && Object.keys(schema).length === 0)) {
      return this.usePrimitive("value");
    }
    if (schema === false) throw new JsonSchemaGrammarError(ptr, "schema `false` matches nothing");
    if (!isObject(schema)) throw new JsonSchemaGrammarError(ptr, "a schema must be an object");
    for (const k of Object.keys(schema)) {
      if (!KNOWN_KEYWORDS.has(k)) {
        throw new JsonSchemaGrammarError(ptr, `keyword '${k}' is not supported`);
      }
    }
    if (typeof schema.$ref === "string") return this.ref(schema.$ref, ptr);
    if ("const" in schema) {
      return `${gbnfLiteral(JSON.stringify(schema.const))} ${this.usePrimitive("ws")}`;
    }
    if (Array.isArray(schema.enum)) {
      if (schema.enum.length === 0) throw new JsonSchemaGrammarError(ptr, "enum is empty");
      this.usePrimitive("ws");
      const alts = schema.enum.map((v) => gbnfLiteral(JSON.stringify(v))).join(" | ");
      return `(${alts}) ws`;
    }
    const alternatives = (schema.anyOf ?? schema.oneOf) as unknown;
    if (alternatives !== undefined) {
      if (!Array.isArray(alternatives) || alternatives.length === 0) {
        throw new JsonSchemaGrammarError(ptr, "anyOf/oneOf must be a non-empty array");
      }
      const key = schema.anyOf !== undefined ? "anyOf" : "oneOf";
      const alts = alternatives.map((s, i) => this.visit(s, `${ptr}/${key}/${i}`, hint));
      return this.newRule(hint, alts.join(" | "));
    }
    const type = schema.type;
    if (Array.isArray(type)) {
      const alts = type.map((t, i) => this.visitType(schema, t, `${ptr}/type/${i}`, hint));
      return this.newRule(hint, alts.join(" | "));
    }
    if (type === undefined) {
      if (schema.properties !== undefined) return this.visitType(schema, "object", ptr, hint);
      if (schema.items !== undefined) return this.visitType(schema, "array", ptr, hint);
      return this.usePrimitive("value");
    }
    if (schema.nullable === true) {
      return this.newRule(
        hint,
        `${this.visitType(schema, type, ptr, hint)} | ${this.usePrimitive("null")}`,
      );
    }
    return this.visitType(schema, type, ptr, hint);
  }

  private ref(ref: string, ptr: string): string {
    const existing = this.refRules.get(ref);
    if (existing) return existing;
    const m = /^#\/(\$defs|definitions)\/(.+)$/.exec(ref);
    if (!m) throw new JsonSchemaGrammarError(ptr, `only local $refs (#/$defs/...) are supported`);
    const defs = isObject(this.root) ? this.root[m[1]!] : undefined;
    const name = decodeURIComponent(m[2]!).replace(/~1/g, "/").replace(/~0/g, "~");
    const target = isObject(defs) ? defs[name] : undefined;
    if (target === undefined) throw new JsonSchemaGrammarError(ptr, `$ref ${ref} not found`);
    // Reserve the rule name first so recursive references resolve to it.
    const rule = `ref-${name.replace(/[^a-zA-Z0-9]+/g, "-").toLowerCase()}-${this.counter++}`;
    this.refRules.set(ref, rule);
    this.rules.set(rule, `${rule} ::= "placeholder"`);
    const body = this.visit(target as Schema, `/${m[1]}/${name}`, name);
    this.rules.set(rule, `${rule} ::= ${body}`);
    return rule;
  }

  private visitType(
    schema: Record<string, unknown>,
    type: unknown,
    ptr: string,
    hint: string,
  ): string {
    switch (type) {
      case "string":
        return this.stringRule(schema, ptr, hint);
      case "number":
        return this.usePrimitive("number");
      case "integer":
        return this.usePrimitive("integer");
      case "boolean":
        return this.usePrimitive("boolean");
      case "null":
        return this.usePrimitive("null");
      case "array":
        return this.arrayRule(schema, ptr, hint);
      case "object":
        return this.objectRule(schema, ptr, hint);
      default:
        throw new JsonSchemaGrammarError(ptr, `type '${String(type)}' is not supported`);
    }
  }

  private stringRule(schema: Record<string, unknown>, ptr: string, hint: string): string {
    const min = schema.minLength;
    const max = schema.maxLength;
    if (min === undefined && max === undefined) return this.usePrimitive("string");
    const lo = intOr(min, 0, `${ptr}/minLength`);
    const hi = max === undefined ? null : intOr(max, 0, `${ptr}/maxLength`);
    if (hi !== null && hi < lo) throw new JsonSchemaGrammarError(ptr, "maxLength < minLength");
    this.usePrimitive("char");
    this.usePrimitive("ws");
    return this.newRule(`${hint}-string`, `"\\"" char{${lo},${hi ?? ""}} "\\"" ws`);
  }

  private arrayRule(schema: Record<string, unknown>, ptr: string, hint: string): string {
    this.usePrimitive("ws");
    const item = schema.items === undefined
      ? this.usePrimitive("value")
      : this.visit(schema.items, `${ptr}/items`, `${hint}-item`);
    const min = intOr(schema.minItems, 0, `${ptr}/minItems`);
    const max = schema.maxItems === undefined ? null : intOr(schema.maxItems, 0, `${ptr}/maxItems`);
    if (max !== null && max < min) throw new JsonSchemaGrammarError(ptr, "maxItems < minItems");
    let body: string;
    if (max === 0) {
      body = `"[" ws "]" ws`;
    } else if (min === 0) {
      const rest = max === null ? `("," ws ${item})*` : `("," ws ${item}){0,${max - 1}}`;
      body = `"[" ws (${item} ${rest})? "]" ws`;
    } else {
      const rest = max === null
        ? `("," ws ${item}){${min - 1},}`
        : `("," ws ${item}){${min - 1},${max - 1}}`;
      body = `"[" ws ${item} ${rest} "]" ws`;
    }
    return this.newRule(`${hint}-array`, body);
  }

  private objectRule(schema: Record<string, unknown>, ptr: string, hint: string): string {
    const props = schema.properties;
    if (props === undefined) return this.usePrimitive("object");
    if (!isObject(props)) {
      throw new JsonSchemaGrammarError(`${ptr}/properties`, "must be an object");
    }
    const requiredRaw = schema.required ?? [];
    if (!Array.isArray(requiredRaw) || requiredRaw.some((r) => typeof r !== "string")) {
      throw new JsonSchemaGrammarError(`${ptr}/required`, "must be an array of strings");
    }
    const required = new Set(requiredRaw as string[]);
    for (const r of required) {
      if (!(r in props)) {
        throw new JsonSchemaGrammarError(`${ptr}/required`, `'${r}' is not in properties`);
      }
    }
    this.usePrimitive("ws");
    const kv = (name: string): string => {
      const value = this.visit(props[name], `${ptr}/properties/${name}`, `${hint}-${name}`);
      return `${gbnfLiteral(JSON.stringify(name))} ws ":" ws ${value}`;
    };
    const names = Object.keys(props);
    const req = names.filter((n) => required.has(n));
    const opt = names.filter((n) => !required.has(n));
    const reqKvs = req.map(kv);
    const optKvs = opt.map(kv);
    // tails[i]: each optional property from i on, present or not, each after a comma.
    const tails = optKvs.map((_, i) => optKvs.slice(i).map((k) => `("," ws ${k})?`).join(" "));
    let inner: string;
    if (reqKvs.length > 0) {
      inner = reqKvs.join(` "," ws `) + (tails[0] ? ` ${tails[0]}` : "");
    } else if (optKvs.length > 0) {
      const alts = optKvs.map((k, i) => (tails[i + 1] ? `${k} ${tails[i + 1]}` : k));
      inner = `(${alts.join(" | ")})?`;
    } else {
      inner = "";
    }
    const body = inner ? `"{" ws ${inner} "}" ws` : `"{" ws "}" ws`;
    return this.newRule(`${hint}-object`, body);
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** llama.cpp's grammar parser refuses repetition counts above this (MAX_REPETITION_THRESHOLD). */
export const MAX_REPETITION = 2000;

function intOr(v: unknown, dflt: number, ptr: string): number {
  if (v === undefined) return dflt;
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0) {
    throw new JsonSchemaGrammarError(ptr, "must be a non-negative integer");
  }
  if (v > MAX_REPETITION) {
    throw new JsonSchemaGrammarError(
      ptr,
      `at most ${MAX_REPETITION} is supported (llama.cpp's grammar limit)`,
    );
  }
  return v;
}

/** Converts a JSON Schema to GBNF (root rule `root`). Throws JsonSchemaGrammarError. */
export function jsonSchemaToGbnf(schema: unknown): string {
  const c = new Converter(schema);
  const top = c.visit(schema, "", "root");
  return c.render(`root ::= ${top}`);
}

/** GBNF for any JSON object (root rule `root`), for `response_format: json_object`. */
export const JSON_OBJECT_GBNF: string = (() => {
  const c = new Converter({});
  c.usePrimitive("object");
  return c.render(`root ::= object`);
})();
