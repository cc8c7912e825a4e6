/**
 * The request that froze the whole server (a WebP followed by a chunk header whose length has
 * the high bit set), and one image per hand-written parser with a length or count field at its
 * maximum, sent to the real server: each answers a 4xx with OpenAI error JSON at once, and
 * /health keeps answering within 50 ms throughout.
 */
import assert from "node:assert/strict";
import { encodeJpeg, encodePng } from "../../src/image/codecs.ts";
import { readFixture, textured } from "../image/helpers.ts";
import { ascii, be32, concat, le32, webpWithChunk } from "../image/hostile_inputs.ts";
import { b64, chatBody, JSON_HEADERS } from "./helpers.ts";
import { modelPair, spawnServer, TINY_DIR } from "./server_helpers.ts";

function dataUrl(bytes: Uint8Array, mime: string): string {
  return `data:${mime};base64,${b64(bytes)}`;
}

async function hostileImages(): Promise<[string, Uint8Array, string][]> {
  const png = await encodePng(textured(8, 8));
  const jpeg = await encodeJpeg(textured(16, 16), 90);
  const gif = readFixture("pattern_48x32.gif");
  const bmp = readFixture("pattern_48x32_8bit.bmp");
  const bmpOffset = bmp.slice();
  bmpOffset.set(le32(0xffffffff), 10);
  const pngHuge = png.slice();
  pngHuge.set(be32(100_000), 16);
  pngHuge.set(be32(100_000), 20);
  return [
    ["webp chunk length 2^31 (the freeze)", webpWithChunk(0x80000000, "XXXX"), "image/webp"],
    ["webp chunk length 2^32-1", webpWithChunk(0xffffffff), "image/webp"],
    [
      "png chunk length 2^32-1",
      concat(png.subarray(0, 33), be32(0xffffffff), ascii("tEXt"), png.subarray(33)),
      "image/png",
    ],
    ["png claiming 100000x100000", pngHuge, "image/png"],
    [
      "jpeg segment length 0xffff",
      concat(jpeg.subarray(0, 2), [0xff, 0xe1, 0xff, 0xff], ascii("Exif")),
      "image/jpeg",
    ],
    [
      "gif sub-blocks past the end",
      concat(gif.subarray(0, 13), [0x21, 0xf9], new Array(40).fill(0xff)),
      "image/gif",
    ],
    ["bmp data offset 2^32-1", bmpOffset, "image/bmp"],
  ];
}

Deno.test({
  name: "POST /v1/chat/completions answers each hostile image with a quick 4xx; /health stays fast",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const { model, mmproj } = modelPair(TINY_DIR);
    const server = await spawnServer(["--model", model, "--mmproj", mmproj, "--no-log-file"]);
    try {
      await (await fetch(`${server.url}/health`)).text();
      let running = true;
      const healthMs: number[] = [];
      let pollError: unknown = null;
      const poller = (async () => {
        while (running) {
          const t0 = performance.now();
          const res = await fetch(`${server.url}/health`).catch((e) => {
            running = false;
            throw new Error(`/health failed: ${e}\n${server.output()}`);
          });
          await res.text();
          healthMs.push(performance.now() - t0);
          assert.equal(res.status, 200);
          await new Promise((r) => setTimeout(r, 10));
        }
      })().catch((e) => (pollError = e));
      const send = async ([name, bytes, mime]: [string, Uint8Array, string]) => {
        const t0 = performance.now();
        const res = await fetch(`${server.url}/v1/chat/completions`, {
          method: "POST",
          headers: JSON_HEADERS,
          body: chatBody({ max_tokens: 1 }, [
            { type: "text", text: "What is this?" },
            { type: "image_url", image_url: { url: dataUrl(bytes, mime) } },
          ]),
        });
        if (!running) return; // the poller failed; its error is reported below
        const text = await res.text().catch((e) => {
          throw new Error(`${name}: ${e}\n${server.output()}`);
        });
        const body = JSON.parse(text);
        const ms = performance.now() - t0;
        assert.ok(res.status >= 400 && res.status < 500, `${name}: ${res.status}`);
        assert.equal(typeof body.error?.message, "string", name);
        assert.equal(body.error.type, "invalid_request_error", name);
        assert.match(body.error.param, /^messages\[0\]\.content\[1\]/, name);
        assert.ok(ms < 2000, `${name}: answered in ${ms.toFixed(0)} ms`);
      };
      // Five rounds, each image sent by four clients at once (within the admission queue).
      for (let round = 0; round < 5; round++) {
        for (const c of await hostileImages()) await Promise.all([c, c, c, c].map(send));
      }
      running = false;
      await poller;
      if (pollError) throw pollError;
      healthMs.sort((a, b) => a - b);
      const worst = healthMs.at(-1)!;
      const p95 = healthMs[Math.floor(healthMs.length * 0.95)]!;
      console.log(
        `/health over ${healthMs.length} polls: p95 ${p95.toFixed(1)} ms, worst ${
          worst.toFixed(1)
        } ms`,
      );
      // The budget is 50 ms; a loaded 2-core CI VM can delay any single poll by a scheduler
      // slice, so the bound is on the 95th percentile, and no poll may come near a stall.
      assert.ok(p95 < 50, `/health p95 ${p95.toFixed(1)} ms`);
      assert.ok(worst < 250, `/health took ${worst.toFixed(1)} ms`);
      // The server is still whole: a normal request completes.
      const ok = await fetch(`${server.url}/v1/chat/completions`, {
        method: "POST",
        headers: JSON_HEADERS,
        body: chatBody({ max_tokens: 2 }),
      });
      assert.equal(ok.status, 200);
      await ok.text();
    } finally {
      const status = await server.stop();
      assert.equal(status.code, 0, server.output());
    }
  },
});
