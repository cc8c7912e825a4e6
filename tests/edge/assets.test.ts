/** The page embedded in the edge's module graph is exactly static/. */
import assert from "node:assert/strict";
import { STATIC_ASSETS } from "../../src/edge/assets.ts";
import { REPO } from "../http/helpers.ts";

function listFiles(dir: string, prefix = ""): string[] {
  const out: string[] = [];
  for (const e of Deno.readDirSync(dir)) {
    if (e.isDirectory) out.push(...listFiles(`${dir}/${e.name}`, `${prefix}/${e.name}`));
    else out.push(`${prefix}/${e.name}`);
  }
  return out;
}

Deno.test("STATIC_ASSETS has every file of static/ and nothing else", () => {
  assert.deepEqual(Object.keys(STATIC_ASSETS).sort(), listFiles(`${REPO}/static`).sort());
});

Deno.test("STATIC_ASSETS bodies are the files' current bytes", () => {
  for (const [path, asset] of Object.entries(STATIC_ASSETS)) {
    assert.equal(asset.body, Deno.readTextFileSync(`${REPO}/static${path}`), path);
  }
});
