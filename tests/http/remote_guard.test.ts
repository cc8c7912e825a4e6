import assert from "node:assert/strict";
import {
  assertPublicHost,
  isPrivateAddress,
  RemoteHostRefused,
  type Resolver,
} from "../../src/http/remote_guard.ts";

Deno.test("isPrivateAddress() flags loopback, private, link-local, CGNAT and mapped addresses", () => {
  for (
    const a of [
      "127.0.0.1",
      "10.1.2.3",
      "172.16.0.1",
      "192.168.1.1",
      "169.254.169.254",
      "100.64.0.1",
      "0.0.0.0",
      "::1",
      "[::1]",
      "fd00::1",
      "fe80::1",
      "::ffff:127.0.0.1",
      "localhost",
      "metadata.localhost",
    ]
  ) assert.equal(isPrivateAddress(a), true, a);
  for (const a of ["93.184.216.34", "8.8.8.8", "2606:4700::1111", "example.com"]) {
    assert.equal(isPrivateAddress(a), false, a);
  }
});

function fakeDns(table: Record<string, string[]>): Resolver {
  return (host, type) => {
    const all = table[host];
    if (!all) return Promise.reject(new Deno.errors.NotFound(host));
    return Promise.resolve(all.filter((a) => (type === "A") === !a.includes(":")));
  };
}

Deno.test("assertPublicHost() refuses a name that resolves inside the network", async () => {
  const dns = fakeDns({
    "images.example.com": ["93.184.216.34"],
    "rebind.example.com": ["93.184.216.34", "127.0.0.1"],
    "v6inside.example.com": ["fd12::5"],
  });
  await assertPublicHost("images.example.com", dns);
  await assertPublicHost("93.184.216.34", dns);
  for (
    const host of ["rebind.example.com", "v6inside.example.com", "nowhere.example", "10.0.0.1"]
  ) {
    await assert.rejects(assertPublicHost(host, dns), RemoteHostRefused, host);
  }
});

Deno.test("assertPublicHost() says when DNS itself is not permitted", async () => {
  const denied: Resolver = () => Promise.reject(new Deno.errors.NotCapable("no net"));
  await assert.rejects(assertPublicHost("images.example.com", denied), /may not query DNS/);
});

Deno.test("loadImageBytes() refuses an allow-listed name that resolves to a private address", async () => {
  const { loadImageBytes } = await import("../../src/http/images.ts");
  const { ApiError } = await import("../../src/http/errors.ts");
  const resolve = fakeDns({ "images.example.com": ["10.1.2.3"] });
  const cfg = { allowHosts: ["images.example.com"], maxBytes: 1000, timeoutMs: 1000, resolve };
  await assert.rejects(
    loadImageBytes("http://images.example.com/a.png", "messages[0].content[1]", cfg),
    (e: unknown) => {
      assert.ok(e instanceof ApiError);
      assert.equal(e.status, 400);
      assert.equal(e.code, "image_host_not_allowed");
      assert.match(e.message, /resolves to 10\.1\.2\.3/);
      return true;
    },
  );
});
