/**
 * Browser safety: the page is served with a Content-Security-Policy and the usual security
 * headers, and still works under it (no inline script, style or handler in static/); CORS is
 * off unless origins are allow-listed.
 */
import assert from "node:assert/strict";
import { FakeEngine } from "./fake_engine.ts";
import { makeApp, REPO } from "./helpers.ts";

Deno.test("securityHeaders() sends a CSP and the usual headers with the page", async () => {
  const { app } = makeApp(new FakeEngine(), { staticDir: `${REPO}/static` });
  const res = await app.request("/");
  assert.equal(res.status, 200);
  await res.body?.cancel();
  const csp = res.headers.get("content-security-policy") ?? "";
  for (
    const d of [
      "default-src 'self'",
      "script-src 'self'",
      "style-src 'self'",
      "img-src 'self' blob: data:",
      "connect-src 'self'",
      "object-src 'none'",
      "frame-ancestors 'none'",
    ]
  ) assert.ok(csp.includes(d), `${d} in ${csp}`);
  assert.equal(res.headers.get("x-content-type-options"), "nosniff");
  assert.equal(res.headers.get("x-frame-options"), "SAMEORIGIN");
  assert.equal(res.headers.get("referrer-policy"), "no-referrer");
  assert.match(res.headers.get("permissions-policy") ?? "", /camera=\(self\)/);
});

Deno.test("the page in static/ needs nothing the CSP forbids", async () => {
  const html = await Deno.readTextFile(`${REPO}/static/index.html`);
  for (const m of html.matchAll(/<script\b[^>]*>/gi)) {
    assert.match(m[0], /\bsrc=/, `inline script: ${m[0]}`);
  }
  assert.doesNotMatch(html, /<style\b/i, "inline <style>");
  assert.doesNotMatch(html, /\sstyle\s*=/i, "style attribute");
  assert.doesNotMatch(html, /\son[a-z]+\s*=/i, "inline event handler");
  assert.doesNotMatch(html, /(src|href)\s*=\s*["']?(https?:)?\/\//i, "another origin");
  const scripts = [`${REPO}/static/app.js`];
  for await (const e of Deno.readDir(`${REPO}/static/js`)) {
    scripts.push(`${REPO}/static/js/${e.name}`);
  }
  for (const path of scripts) {
    const js = await Deno.readTextFile(path);
    assert.doesNotMatch(js, /\beval\(|new Function\(/, `${path}: code from strings`);
    assert.doesNotMatch(js, /fetch\(\s*["'`]https?:/, `${path}: fetch to another origin`);
  }
});

Deno.test("corsFor(): off by default, allow-listed origins only when configured", async () => {
  const preflight = {
    method: "OPTIONS",
    headers: {
      origin: "https://app.example.com",
      "access-control-request-method": "POST",
      "access-control-request-headers": "authorization, content-type",
    },
  };
  const off = makeApp(new FakeEngine()).app;
  let res = await off.request("/v1/models", { headers: { origin: "https://app.example.com" } });
  assert.equal(res.headers.get("access-control-allow-origin"), null);
  await res.body?.cancel();

  const on = makeApp(new FakeEngine(), {
    corsOrigins: ["https://app.example.com"],
    apiKeys: ["k-1"],
  }).app;
  res = await on.request("/v1/chat/completions", preflight);
  assert.equal(res.status, 204, "a preflight passes before authentication");
  assert.equal(res.headers.get("access-control-allow-origin"), "https://app.example.com");
  assert.match(res.headers.get("access-control-allow-headers") ?? "", /authorization/i);
  res = await on.request("/v1/chat/completions", {
    ...preflight,
    headers: { ...preflight.headers, origin: "https://evil.example.net" },
  });
  assert.equal(res.headers.get("access-control-allow-origin"), null);
  await res.body?.cancel();
});
