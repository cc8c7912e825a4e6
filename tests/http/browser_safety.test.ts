/**
 * Browser safety: the page is served with a Content-Security-Policy and the usual security
 * headers, and still works under it (no inline script, style or handler in static/); CORS is
 * off unless origins are allow-listed; another site's page cannot make the server work for it,
 * neither from its own origin nor from a name rebound to the server's address.
 */
import assert from "node:assert/strict";
import { createApp } from "../../src/http/app.ts";
import { EngineHolder } from "../../src/http/engine_state.ts";
import { createImageProcessor } from "../../src/http/image_adapter.ts";
import { FakeEngine } from "./fake_engine.ts";
import { chatBody, makeApp, REPO, testConfig } from "./helpers.ts";
import { rawGet } from "./server_helpers.ts";

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

Deno.test("crossSiteGuard() refuses a chat POST another site's page sends, even a simple one", async () => {
  const engine = new FakeEngine();
  const { app } = makeApp(engine);
  // A form-like request a page elsewhere can send without a preflight (text/plain, no-cors).
  const simple = { method: "POST", body: chatBody(), headers: { "content-type": "text/plain" } };
  const refused: Record<string, string>[] = [
    { origin: "https://evil.example.net", "sec-fetch-site": "cross-site" },
    { origin: "http://localhost:3000", "sec-fetch-site": "same-site" },
    { origin: "https://evil.example.net" }, // a browser without Fetch Metadata
    { origin: "null" }, // a sandboxed frame or a file: page
  ];
  for (const headers of refused) {
    const res = await app.request("/v1/chat/completions", {
      ...simple,
      headers: { ...simple.headers, ...headers },
    });
    assert.equal(res.status, 403, JSON.stringify(headers));
    const body = await res.json();
    assert.equal(body.error.code, "cross_origin_forbidden");
    assert.equal(body.error.type, "invalid_request_error");
  }
  assert.equal(engine.requests.length, 0, "no generation ran");
});

Deno.test("crossSiteGuard() passes the page, clients that are not browsers and allow-listed origins", async () => {
  const post = (app: ReturnType<typeof makeApp>["app"], headers: Record<string, string>) =>
    app.request("http://127.0.0.1:8000/v1/chat/completions", {
      method: "POST",
      body: chatBody(),
      headers: { "content-type": "application/json", ...headers },
    });
  const { app } = makeApp(new FakeEngine());
  const passed: Record<string, string>[] = [
    {}, // curl, the SDKs, the edge front
    { origin: "http://127.0.0.1:8000", "sec-fetch-site": "same-origin" }, // the page
    { origin: "http://127.0.0.1:8000", host: "127.0.0.1:8000" }, // no Fetch Metadata
    { "sec-fetch-site": "none" }, // typed by the user
  ];
  for (const headers of passed) {
    const res = await post(app, headers);
    assert.equal(res.status, 200, JSON.stringify(headers));
    await res.body?.cancel();
  }
  const listed = makeApp(new FakeEngine(), { corsOrigins: ["https://app.example.com"] }).app;
  let res = await post(listed, {
    origin: "https://app.example.com",
    "sec-fetch-site": "cross-site",
  });
  assert.equal(res.status, 200);
  await res.body?.cancel();
  res = await post(listed, { origin: "https://evil.example.net", "sec-fetch-site": "cross-site" });
  assert.equal(res.status, 403);
  await res.body?.cancel();
  const anyOrigin = makeApp(new FakeEngine(), { corsOrigins: ["*"] }).app;
  res = await post(anyOrigin, {
    origin: "https://evil.example.net",
    "sec-fetch-site": "cross-site",
  });
  assert.equal(res.status, 200);
  await res.body?.cancel();
});

Deno.test("crossSiteGuard() keeps another site's page from reloading a keyless loopback server", async () => {
  const config = testConfig({ host: "127.0.0.1" });
  let reloads = 0;
  const holder = EngineHolder.ready(new FakeEngine());
  const app = createApp({
    engine: holder,
    config,
    images: createImageProcessor({ defaults: null }),
    reload: () => {
      reloads++;
      return Promise.resolve({ status: "ready", loadMs: 1 });
    },
  });
  let res = await app.request("/admin/reload", {
    method: "POST",
    headers: { origin: "https://evil.example.net", "sec-fetch-site": "cross-site" },
  });
  assert.equal(res.status, 403);
  await res.body?.cancel();
  assert.equal(reloads, 0);
  res = await app.request("/admin/reload", { method: "POST" });
  assert.equal(res.status, 200, "a local client that is not a browser still reloads");
  await res.body?.cancel();
  assert.equal(reloads, 1);
});

Deno.test("crossSiteGuard() refusals count under the route group in /metrics", async () => {
  const { app } = makeApp(new FakeEngine());
  const res = await app.request("/v1/chat/completions", {
    method: "POST",
    body: chatBody(),
    headers: { "content-type": "text/plain", origin: "https://evil.example.net" },
  });
  assert.equal(res.status, 403);
  await res.body?.cancel();
  const metrics = await (await app.request("/metrics")).text();
  assert.match(
    metrics,
    /smolvlm_http_requests_total\{method="POST",route="\/v1\/\*",status="403"\} 1/,
  );
});

/** What a rebinding page at evil.example sends: its own origin, same-origin by Fetch Metadata. */
const REBOUND = {
  host: "evil.example:8000",
  origin: "http://evil.example:8000",
  "sec-fetch-site": "same-origin",
};

Deno.test("hostGuard() refuses every route a page on a rebound name reaches, with 403 host_not_allowed", async () => {
  const engine = new FakeEngine();
  let reloads = 0;
  const app = createApp({
    engine: EngineHolder.ready(engine),
    config: testConfig({ staticDir: `${REPO}/static` }),
    images: createImageProcessor({ defaults: null }),
    reload: () => {
      reloads++;
      return Promise.resolve({ status: "ready", loadMs: 1 });
    },
  });
  const requests: [string, RequestInit][] = [
    ["/", {}],
    ["/health", {}],
    ["/metrics", {}],
    ["/v1/models", {}],
    ["/v1/info", {}],
    ["/v1/chat/completions", { method: "POST", body: chatBody() }],
    ["/admin/reload", { method: "POST" }],
  ];
  for (const [path, init] of requests) {
    const res = await app.request(path, {
      ...init,
      headers: { ...REBOUND, "content-type": "application/json" },
    });
    assert.equal(res.status, 403, path);
    const { error } = await res.json();
    assert.equal(error.code, "host_not_allowed", path);
    assert.equal(error.type, "invalid_request_error");
    assert.match(error.message, /'evil\.example:8000'.*server\.allowed_hosts.*--allowed-host/);
    assert.equal(res.headers.get("x-content-type-options"), "nosniff", "security headers kept");
  }
  assert.equal(engine.requests.length, 0, "no generation ran");
  assert.equal(reloads, 0, "no reload ran");
});

Deno.test("hostGuard() is what stops a rebound page: the cross-site guard lets it through", async () => {
  const post = (app: ReturnType<typeof makeApp>["app"]) =>
    app.request("/v1/chat/completions", {
      method: "POST",
      body: chatBody(),
      headers: { ...REBOUND, "content-type": "application/json" },
    });
  let res = await post(makeApp(new FakeEngine(), { allowedHosts: ["*"] }).app);
  assert.equal(res.status, 200, "with the check off (*), the page generates");
  await res.body?.cancel();
  res = await post(makeApp(new FakeEngine()).app);
  assert.equal(res.status, 403);
  await res.body?.cancel();
});

Deno.test("hostGuard() passes loopback, IP literals, the bind address's name and listed names", async () => {
  const { app } = makeApp(new FakeEngine(), {
    host: "box.lan",
    allowedHosts: ["gpu-1.lan", "*.example.com"],
  });
  const status = async (host: string) => {
    const res = await app.request("/health", { headers: { host } });
    await res.body?.cancel();
    return res.status;
  };
  for (
    const host of [
      "localhost:8000",
      "app.localhost:8000",
      "127.0.0.1:8000",
      "10.1.2.3:8000",
      "[::1]:8000",
      "box.lan:8000",
      "GPU-1.lan",
      "api.example.com:443",
    ]
  ) assert.equal(await status(host), 200, host);
  for (const host of ["evil.example", "gpu-2.lan:8000", "example.com", "box.lan.evil.example"]) {
    assert.equal(await status(host), 403, host);
  }
});

Deno.test("hostGuard() applies with API keys too: a valid key from a rebound name is refused", async () => {
  const { app } = makeApp(new FakeEngine(), { apiKeys: ["k-1"] });
  const models = (host: string) =>
    app.request("/v1/models", { headers: { host, authorization: "Bearer k-1" } });
  let res = await models("evil.example:8000");
  assert.equal(res.status, 403);
  assert.equal((await res.json()).error.code, "host_not_allowed");
  res = await models("127.0.0.1:8000");
  assert.equal(res.status, 200);
  await res.body?.cancel();
});

Deno.test("hostGuard() refusals count under the route group in /metrics", async () => {
  const { app } = makeApp(new FakeEngine());
  for (const path of ["/v1/models", "/health"]) {
    const res = await app.request(path, { headers: { host: "evil.example" } });
    assert.equal(res.status, 403);
    await res.body?.cancel();
  }
  const metrics = await (await app.request("/metrics")).text();
  assert.match(
    metrics,
    /smolvlm_http_requests_total\{method="GET",route="\/v1\/\*",status="403"\} 1/,
  );
  assert.match(
    metrics,
    /smolvlm_http_requests_total\{method="GET",route="\/health",status="403"\} 1/,
  );
});

Deno.test("hostGuard() over a socket: an HTTP/1.0 probe without Host passes, a rebound name does not", async () => {
  const { app } = makeApp(new FakeEngine());
  await using server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    (req, info) => app.fetch(req, info),
  );
  const url = `http://127.0.0.1:${server.addr.port}`;
  assert.equal((await rawGet(url, "/health", { host: null, version: "1.0" })).status, 200);
  assert.equal((await rawGet(url, "/health", { host: null })).status, 200, "HTTP/1.1 alike");
  const refused = await rawGet(url, "/health", { host: "evil.example" });
  assert.equal(refused.status, 403);
  assert.match(refused.text, /"code":"host_not_allowed"/);
});
