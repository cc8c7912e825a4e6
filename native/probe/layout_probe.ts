/**
 * Generates, compiles and runs a C program that prints sizeof/offsetof for every struct in
 * ffi/structs.ts, using the headers installed with the native build. The C compiler is the
 * authority; tests compare its numbers with the TypeScript layouts.
 */
import type { StructLayout } from "../../ffi/layout.ts";

export interface ProbedStruct {
  readonly size: number;
  readonly offsets: Record<string, number>;
}

export function probeSource(structs: readonly StructLayout[]): string {
  const lines = [
    "#include <stddef.h>",
    "#include <stdio.h>",
    '#include "llama.h"',
    '#include "mtmd.h"',
    '#include "mtmd-helper.h"',
    "int main(void) {",
    '  printf("{");',
  ];
  structs.forEach((s, i) => {
    const type = s.cName.startsWith("struct ") ? s.cName : `struct ${s.cName}`;
    lines.push(
      `  printf("%s\\"${s.cName}\\":{\\"size\\":%zu,\\"offsets\\":{", "${
        i ? "," : ""
      }", sizeof(${type}));`,
    );
    Object.values(s.fields).forEach((f, j) => {
      lines.push(
        `  printf("%s\\"${f.name}\\":%zu", "${j ? "," : ""}", offsetof(${type}, ${f.name}));`,
      );
    });
    lines.push('  printf("}}");');
  });
  lines.push('  printf("}\\n");', "  return 0;", "}");
  return lines.join("\n") + "\n";
}

/** Compiles the probe with the system C compiler against `includeDir` and returns its output. */
export async function runLayoutProbe(
  structs: readonly StructLayout[],
  includeDir: string,
): Promise<Record<string, ProbedStruct>> {
  const dir = await Deno.makeTempDir({ prefix: "layout-probe-" });
  try {
    await Deno.writeTextFile(`${dir}/probe.c`, probeSource(structs));
    const compile = await new Deno.Command("cc", {
      args: ["-std=c11", "-I", includeDir, `${dir}/probe.c`, "-o", `${dir}/probe`],
      stderr: "piped",
    }).output();
    if (!compile.success) {
      throw new Error(`probe did not compile:\n${new TextDecoder().decode(compile.stderr)}`);
    }
    const run = await new Deno.Command(`${dir}/probe`, { stdout: "piped" }).output();
    if (!run.success) throw new Error(`probe exited with ${run.code}`);
    return JSON.parse(new TextDecoder().decode(run.stdout));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
