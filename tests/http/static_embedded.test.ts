/** The page served from the module graph (the single binary), not from a directory. */
import assert from "node:assert/strict";
import { serveEmbedded } from "../../src/http/static_files.ts";
import { STATIC_ASSETS } from "../../src/edge/assets.ts";
import { REPO } from "./helpers.ts";

Deno.test("serveEmbedded() answers / with index.html and each file with its type and length", async () => {
  const page = serveEmbedded(new Request("http://x/"), STATIC_ASSETS)!;
  assert.equal(page.status, 200);
  assert.equal(page.headers.get("content-type"), "text/html; charset=utf-8");
  const html = await page.text();
  assert.equal(html, await Deno.readTextFile(`${REPO}/static/index.html`));
  assert.equal(page.headers.get("content-length"), String(new TextEncoder().encode(html).length));
  const css = serveEmbedded(new Request("http://x/style.css"), STATIC_ASSETS)!;
  assert.equal(css.headers.get("content-type"), "text/css; charset=utf-8");
  assert.equal(css.headers.get("x-content-type-options"), "nosniff");
  await css.body?.cancel();
  const head = serveEmbedded(new Request("http://x/app.js", { method: "HEAD" }), STATIC_ASSETS)!;
  assert.equal(head.body, null);
});

Deno.test("serveEmbedded() answers nothing for unknown paths, directories and POST", () => {
  // Lookups are exact keys of the table: there is no file system to traverse.
  for (const path of ["/nope.js", "/js", "/js/", "/static/app.js", "/hasOwnProperty"]) {
    assert.equal(serveEmbedded(new Request(`http://x${path}`), STATIC_ASSETS), null, path);
  }
  assert.equal(serveEmbedded(new Request("http://x/", { method: "POST" }), STATIC_ASSETS), null);
});
