/** Unit tests: config loading, SSE framing bytes, remote-image policy. */
import assert from "node:assert/strict";
import {
  acceptedModelIds,
  ConfigError,
  defaultServiceConfig,
  loadConfigFile,
  parseServiceConfig,
} from "../../src/config/service_config.ts";
import { SSE_DONE, sseEvent } from "../../src/http/sse.ts";
import { hostAllowed, loadImageBytes } from "../../src/http/images.ts";
import { isPrivateAddress as isPrivateHost } from "../../src/http/remote_guard.ts";
import { ApiError } from "../../src/http/errors.ts";
import { SERVE_PERMISSION_FLAGS, SERVE_TASK } from "../../src/cli/serve_permissions.ts";
import { pngDataUrl } from "./helpers.ts";

Deno.test("config: the seed's file shape loads with defaults filled in", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/c.json`;
    await Deno.writeTextFile(
      path,
      JSON.stringify({
        model_name: "SmolVLM2-500M-Video",
        model_id: "smolvlm2_500m_video",
        port: 9000,
        timeout: 30,
        inference: { batch_size: 1, expected_response_time: 10.0, max_image_size: 768 },
        image_processing: { smart_crop: true, size: [1024, 1024] },
        unknown_key: 1,
      }),
    );
    const c = await loadConfigFile(path);
    assert.equal(c.port, 9000);
    assert.equal(c.timeoutMs, 30_000);
    assert.equal(c.maxImageSize, 768);
    assert.equal(c.maxQueue, 8);
    assert.equal(c.modelId, "smolvlm2_500m_video");
    assert.equal(c.imageProcessing?.smart_crop, true);
    assert.deepEqual(c.imageProcessing?.size, [1024, 1024]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("config: a wrong type names the key; a missing file is a one-line error", async () => {
  assert.throws(
    () => parseServiceConfig({ inference: { max_image_size: "big" } }),
    (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.equal(e.key, "inference.max_image_size");
      return true;
    },
  );
  assert.throws(() => parseServiceConfig({ port: 70000 }), /port/);
  await assert.rejects(loadConfigFile("/nonexistent/x.json"), /does not exist/);
  const d = defaultServiceConfig();
  assert.equal(d.port, 8000);
  assert.equal(d.timeoutMs, 60_000);
  assert.ok(acceptedModelIds(d).has("smolvlm"));
  assert.ok(acceptedModelIds(d).has("SmolVLM2-500M-Video"));
});

Deno.test("SSE writer emits exact bytes", () => {
  const dec = new TextDecoder();
  assert.equal(dec.decode(sseEvent({ a: 1, b: "x\ny" })), 'data: {"a":1,"b":"x\\ny"}\n\n');
  assert.equal(dec.decode(SSE_DONE), "data: [DONE]\n\n");
});

Deno.test("serve permissions: one flag list, no -A, no blanket grants", () => {
  assert.ok(SERVE_TASK.startsWith("deno run --allow-net="));
  for (const f of SERVE_PERMISSION_FLAGS) {
    assert.match(f, /^--allow-(net|read|write|env)=.+|^--allow-ffi(=.+)?$/);
  }
  assert.ok(!SERVE_TASK.includes(" -A"));
  assert.ok(!/--allow-read=(\.|[^ ]*,\.)(,| )/.test(SERVE_TASK), "no read access to the repo root");
});

Deno.test("remote images: private hosts, allow-list matching, refusal by default", async () => {
  for (
    const h of [
      "127.0.0.1",
      "10.1.2.3",
      "192.168.0.1",
      "172.20.0.1",
      "169.254.1.1",
      "localhost",
      "[::1]",
      "fd00::1",
    ]
  ) {
    assert.ok(isPrivateHost(h), h);
  }
  for (const h of ["8.8.8.8", "example.com", "172.32.0.1"]) assert.ok(!isPrivateHost(h), h);
  assert.ok(hostAllowed("img.example.com", ["*.example.com"]));
  assert.ok(!hostAllowed("example.com.evil.net", ["*.example.com"]));
  assert.ok(hostAllowed("example.com", ["example.com"]));
  const off = { allowHosts: [], maxBytes: 1000, timeoutMs: 1000 };
  await assert.rejects(loadImageBytes("http://example.com/a.png", "p", off), (e: unknown) => {
    assert.ok(e instanceof ApiError);
    assert.equal(e.code, "remote_images_disabled");
    assert.match(e.message, /^p: http\(s\) media URLs are disabled .* data:video\/mp4;base64/);
    return true;
  });
  await assert.rejects(
    loadImageBytes("http://other.com/a.png", "p", { ...off, allowHosts: ["example.com"] }),
    /not on the image allow-list/,
  );
});

Deno.test("remote images: size cap, and no redirect to a private address", async () => {
  const png = await (await fetch(await pngDataUrl(8, 8))).bytes();
  await using server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    const path = new URL(req.url).pathname;
    if (path === "/img.png") return new Response(png, { headers: { "content-type": "image/png" } });
    if (path === "/big.png") return new Response(new Uint8Array(5000));
    return new Response(null, { status: 302, headers: { location: "http://10.0.0.1/secret" } });
  });
  const base = `http://127.0.0.1:${server.addr.port}`;
  const cfg = { allowHosts: ["127.0.0.1"], maxBytes: 1000, timeoutMs: 2000 };
  const ok = await loadImageBytes(`${base}/img.png`, "p", cfg);
  assert.equal(ok.bytes.length, png.length);
  assert.equal(ok.mime, "image/png");
  await assert.rejects(loadImageBytes(`${base}/big.png`, "p", cfg), (e: unknown) => {
    assert.ok(e instanceof ApiError);
    assert.equal(e.status, 413);
    return true;
  });
  await assert.rejects(
    loadImageBytes(`${base}/redirect`, "p", cfg),
    /redirects to a host that is not allowed/,
  );
});
