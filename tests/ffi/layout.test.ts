import assert from "node:assert/strict";
import { ALL_STRUCTS } from "../../ffi/structs.ts";
import { runLayoutProbe } from "../../native/probe/layout_probe.ts";
import { NATIVE_BIN } from "../_support/fixtures.ts";

Deno.test("ffi struct layouts match the C compiler's sizeof/offsetof for llama.h and mtmd.h", async () => {
  const probed = await runLayoutProbe(ALL_STRUCTS, `${NATIVE_BIN}/include`);
  for (const layout of ALL_STRUCTS) {
    const c = probed[layout.cName];
    assert.ok(c, `probe printed nothing for ${layout.cName}`);
    for (const field of Object.values(layout.fields)) {
      assert.equal(
        field.offset,
        c.offsets[field.name],
        `${layout.cName}.${field.name}: TypeScript offset ${field.offset}, C offset ${
          c.offsets[field.name]
        }`,
      );
    }
    assert.equal(layout.size, c.size, `sizeof(${layout.cName})`);
  }
});

Deno.test("runLayoutProbe() fails when a declared field does not exist in C", async () => {
  const { defineStruct } = await import("../../ffi/layout.ts");
  const wrong = defineStruct("llama_batch", [["n_tokens", "i32"], ["no_such_field", "pointer"]]);
  await assert.rejects(() => runLayoutProbe([wrong], `${NATIVE_BIN}/include`), /did not compile/);
});

Deno.test("layout test detects a wrong field order (offsets differ)", async () => {
  const { defineStruct } = await import("../../ffi/layout.ts");
  const swapped = defineStruct("mtmd_input_text", [
    ["text_len", "usize"],
    ["text", "pointer"],
    ["add_special", "bool"],
    ["parse_special", "bool"],
  ]);
  const c = (await runLayoutProbe([swapped], `${NATIVE_BIN}/include`))["mtmd_input_text"]!;
  assert.notEqual(swapped.fields.text.offset, c.offsets["text"]);
});
