/**
 * What the product and the tests may reach: main.ts's import graph stays out of tools/ and
 * tests/, and no source or test file names a path outside the repository (a user's clone has
 * nothing next to it).
 */
import assert from "node:assert/strict";
import { REPO_ROOT } from "../_support/fixtures.ts";

Deno.test("main.ts's import graph reaches no module under tools/ or tests/", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", "main.ts"],
    cwd: REPO_ROOT,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  const graph = JSON.parse(new TextDecoder().decode(out.stdout)) as {
    modules: { specifier: string }[];
  };
  const local = graph.modules.map((m) => m.specifier).filter((s) => s.startsWith("file://"))
    .map((s) => decodeURIComponent(new URL(s).pathname).slice(REPO_ROOT.length + 1));
  assert.ok(local.includes("src/cli/serve.ts"), "the graph includes the dynamic imports");
  assert.ok(local.includes("src/engine/mod.ts"), "and what they import");
  const dev = local.filter((p) => p.startsWith("tools/") || p.startsWith("tests/"));
  assert.deepEqual(dev, [], "product modules importing developer tooling");
});

/** Every string literal in `text` that is a relative path ("./x", "../y"). */
function relativeLiterals(text: string): string[] {
  return [...text.matchAll(/["'`](\.\.?\/[^"'`\s$]*)["'`]/g)].map((m) => m[1]!);
}

function sourceFiles(dir: string): string[] {
  const files: string[] = [];
  for (const entry of Deno.readDirSync(`${REPO_ROOT}/${dir}`)) {
    const rel = `${dir}/${entry.name}`;
    if (entry.isDirectory && entry.name !== "generated" && entry.name !== "node_modules") {
      files.push(...sourceFiles(rel));
    } else if (entry.isFile && /\.(ts|js|mjs|sh|json)$/.test(entry.name)) {
      files.push(rel);
    }
  }
  return files;
}

Deno.test("no file under src/ or tests/ refers to a path outside the repository", () => {
  const outside: string[] = [];
  const files = [...sourceFiles("src"), ...sourceFiles("tests")];
  assert.ok(files.length > 50, `scanned ${files.length} files`);
  for (const file of files) {
    const text = Deno.readTextFileSync(`${REPO_ROOT}/${file}`);
    const dir = file.slice(0, file.lastIndexOf("/"));
    for (const literal of relativeLiterals(text)) {
      // Resolved against the file's directory, as import specifiers and import.meta.url are.
      const resolved = new URL(literal, `file:///repo/${dir}/`).pathname;
      if (!resolved.startsWith("/repo/")) outside.push(`${file}: ${literal}`);
    }
    for (const m of text.matchAll(/["'`](\/(?:work|home|root|Users)\/[^"'`]*)["'`]/g)) {
      outside.push(`${file}: ${m[1]}`);
    }
  }
  assert.deepEqual(outside, []);
});
