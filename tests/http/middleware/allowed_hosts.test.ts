/**
 * DNS-rebinding protection on its own: which Host values hostAllowed() lets through, and
 * refuseUnknownHost() in a bare Hono app (the Host header, else the request URL's authority).
 */
import assert from "node:assert/strict";
import { Hono } from "hono";
import { hostAllowed, refuseUnknownHost } from "../../../src/http/middleware/allowed_hosts.ts";

Deno.test("hostAllowed() lets localhost, *.localhost and IP literals through, any port", () => {
  for (
    const host of [
      "localhost",
      "LOCALHOST:8000",
      "localhost.",
      "app.localhost:5173",
      "127.0.0.1",
      "127.0.0.1:8000",
      "127.8.9.10:1",
      "0.0.0.0:8000",
      "192.168.1.20:8000",
      "10.0.0.7",
      "[::1]",
      "[::1]:8000",
      "[fe80::1ff:fe23:4567:890a]:80",
      "[::ffff:127.0.0.1]:8000",
    ]
  ) assert.ok(hostAllowed(host, []), host);
});

Deno.test("hostAllowed() refuses every other name and anything that is not a Host", () => {
  for (
    const host of [
      "evil.example",
      "evil.example:8000",
      "localhost.evil.example",
      "evillocalhost",
      "127.0.0.1.evil.example",
      "127.0.0.1.nip.io:8000",
      "999.1.1.1",
      "1.2.3",
      "::1", // IPv6 without brackets is no Host
      "[::1",
      "[evil.example]",
      "evil.example:80:80",
      "evil.example:port",
      "user@localhost",
      "localhost/x",
      "a b",
      "",
      ":8000",
    ]
  ) assert.ok(!hostAllowed(host, []), JSON.stringify(host));
});

Deno.test("hostAllowed() lets listed names through: exact, any case, *.name for subdomains only", () => {
  const allowed = ["gpu-1.lan", "*.example.com"];
  for (
    const host of [
      "gpu-1.lan",
      "GPU-1.LAN:8000",
      "gpu-1.lan.",
      "a.example.com",
      "a.b.example.com:443",
    ]
  ) {
    assert.ok(hostAllowed(host, allowed), host);
  }
  for (
    const host of ["gpu-2.lan", "x.gpu-1.lan", "example.com", "badexample.com", "example.com.evil"]
  ) {
    assert.ok(!hostAllowed(host, allowed), host);
  }
});

Deno.test("hostAllowed() lets any Host through with * listed", () => {
  for (const host of ["evil.example:8000", "a b", ""]) assert.ok(hostAllowed(host, ["*"]), host);
});

function guarded(allowed: readonly string[]): Hono {
  const app = new Hono();
  app.use(refuseUnknownHost(allowed, (host) => new Error(`refused ${host}`)));
  app.get("/", (c) => c.text("ok"));
  app.onError((err, c) => c.text(err.message, 403));
  return app;
}

Deno.test("refuseUnknownHost() refuses a request by its Host header and names the Host", async () => {
  const app = guarded(["My-Host.lan."]);
  const at = async (url: string, host?: string) => {
    const res = await app.request(url, { headers: host === undefined ? {} : { host } });
    return `${res.status} ${await res.text()}`;
  };
  assert.equal(await at("http://localhost/", "evil.example:8000"), "403 refused evil.example:8000");
  assert.equal(await at("http://localhost/", "my-host.lan:8000"), "200 ok", "listed, normalized");
  assert.equal(await at("http://evil.example/", "127.0.0.1:8000"), "200 ok", "the header decides");
  const long = `${"a".repeat(200)}.example`;
  assert.equal(await at("http://localhost/", long), `403 refused ${"a".repeat(97)}...`);
});

Deno.test("refuseUnknownHost() without a Host header checks the URL's authority (HTTP/2, HTTP/1.0)", async () => {
  const app = guarded([]);
  // Deno puts HTTP/2's :authority into the URL only, and `localhost` there for an HTTP/1.0
  // request without Host.
  let res = await app.request("http://evil.example:8000/");
  assert.equal(res.status, 403);
  await res.body?.cancel();
  res = await app.request("http://localhost:8000/");
  assert.equal(res.status, 200);
  await res.body?.cancel();
});
