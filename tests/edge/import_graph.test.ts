/**
 * The CI check behind the edge's "no FFI, no file system" promise: the module graph of edge.ts
 * and of the image workers it starts (`deno info --json`, type-only imports included) holds
 * nothing from ffi/, native/ or src/engine/, and no local module in it calls a Deno file or FFI
 * API or imports node:fs.
 */
import assert from "node:assert/strict";
import { REPO } from "../http/helpers.ts";

/** The roots: the entry point, and the workers' entry modules (new Worker() is not followed). */
const ROOTS = ["edge.ts", "src/image/pipeline_worker.ts", "src/image/worker.ts"];

const FORBIDDEN_DIRS = ["ffi/", "native/", "src/engine/"];

/** Deno's file-system and FFI calls, and Node's fs modules. */
const FILE_API = new RegExp(
  String.raw`\bDeno\.(readFile|readFileSync|readTextFile|readTextFileSync|open|openSync|` +
    String.raw`create|createSync|writeFile|writeFileSync|writeTextFile|writeTextFileSync|` +
    String.raw`readDir|readDirSync|stat|statSync|lstat|lstatSync|realPath|realPathSync|` +
    String.raw`mkdir|mkdirSync|remove|removeSync|rename|renameSync|copyFile|copyFileSync|` +
    String.raw`makeTempFile|makeTempDir|truncate|symlink|link|chmod|chown|utime|watchFs|` +
    String.raw`dlopen)\b|from\s+["'](node:)?fs(/promises)?["']`,
);

async function graph(root: string): Promise<string[]> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", root],
    cwd: REPO,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  const info = JSON.parse(new TextDecoder().decode(out.stdout)) as {
    modules: { specifier: string }[];
  };
  return info.modules.map((m) => m.specifier);
}

const local = (specifier: string) =>
  specifier.startsWith(`file://${REPO}/`) ? specifier.slice(`file://${REPO}/`.length) : null;

Deno.test("edge.ts's import graph holds nothing from ffi/, native/ or src/engine/", async () => {
  for (const root of ROOTS) {
    const files = (await graph(root)).map(local).filter((f) => f !== null);
    assert.ok(files.includes(root), `${root} is in its own graph`);
    const bad = files.filter((f) => FORBIDDEN_DIRS.some((d) => f.startsWith(d)));
    assert.deepEqual(bad, [], `${root} pulls in ${bad.join(", ")}`);
  }
});

Deno.test("no module in edge.ts's import graph calls a file or FFI API", async () => {
  const files = new Set<string>();
  for (const root of ROOTS) {
    for (const f of (await graph(root)).map(local)) {
      if (f?.endsWith(".ts") || f?.endsWith(".js")) files.add(f);
    }
  }
  assert.ok(files.has("src/edge/app.ts") && files.has("src/image/pipeline.ts"));
  const hits: string[] = [];
  for (const f of files) {
    const lines = Deno.readTextFileSync(`${REPO}/${f}`).split("\n");
    lines.forEach((line, i) => {
      if (FILE_API.test(line)) hits.push(`${f}:${i + 1}: ${line.trim()}`);
    });
  }
  assert.deepEqual(hits, []);
});

Deno.test("FILE_API recognises the calls it must catch", () => {
  for (
    const s of [
      "Deno.readFileSync(p)",
      "await Deno.open(p)",
      "Deno.dlopen(x, {})",
      'import fs from "node:fs";',
    ]
  ) {
    assert.ok(FILE_API.test(s), s);
  }
  assert.ok(!FILE_API.test("Deno.env.get(x)") && !FILE_API.test("Deno.serve(h)"));
});
