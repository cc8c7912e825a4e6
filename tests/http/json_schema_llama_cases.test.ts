/**
 * Our JSON-schema → GBNF converter over llama.cpp's own converter test cases (copied into
 * tests/fixtures/llama_cpp/ with their provenance). Ours is a subset converter, so this checks
 * what a subset can promise: every schema llama.cpp refuses, ours refuses; every other schema
 * ours either converts or refuses with a JsonSchemaGrammarError naming the keyword (a 400 to
 * the client) — never another exception, never a silently looser grammar. It does NOT claim
 * llama.cpp's exact grammar text (see SECURITY.md for the figures).
 */
import assert from "node:assert/strict";
import { JsonSchemaGrammarError, jsonSchemaToGbnf } from "../../src/http/json_schema_grammar.ts";

interface Case {
  status: "SUCCESS" | "FAILURE";
  name: string;
  schema_text: string;
  expected_grammar: string;
}

const fixture = JSON.parse(
  await Deno.readTextFile(
    new URL("../fixtures/llama_cpp/json_schema_to_grammar_cases.json", import.meta.url),
  ),
) as { cases: Case[] };

/** Converts, or returns the refusal; anything else thrown fails the test. */
function convert(c: Case): { grammar: string } | { refused: string } {
  let schema: unknown;
  try {
    schema = JSON.parse(c.schema_text);
  } catch {
    return { refused: "not JSON" };
  }
  try {
    return { grammar: jsonSchemaToGbnf(schema) };
  } catch (e) {
    assert.ok(e instanceof JsonSchemaGrammarError, `${c.name}: ${e}`);
    return { refused: e.message };
  }
}

Deno.test("jsonSchemaToGbnf() refuses every schema llama.cpp's converter refuses", () => {
  const failures = fixture.cases.filter((c) => c.status === "FAILURE");
  assert.ok(failures.length > 0);
  for (const c of failures) assert.ok("refused" in convert(c), c.name);
});

Deno.test("jsonSchemaToGbnf() converts or cleanly refuses each of llama.cpp's cases", () => {
  const successes = fixture.cases.filter((c) => c.status === "SUCCESS");
  assert.ok(successes.length >= 70, `${successes.length} cases`);
  let converted = 0;
  for (const c of successes) {
    const out = convert(c);
    if ("grammar" in out) {
      converted++;
      assert.match(out.grammar, /^root ::= /m, c.name);
    } else {
      assert.match(out.refused, /^\/.*: /, `${c.name}: the refusal names where`);
    }
  }
  assert.ok(converted > 0);
});
