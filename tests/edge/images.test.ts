/**
 * Image preprocessing at the edge (the isolated pipeline): a large photo goes upstream as a
 * ~1024 px JPEG with the "already processed" override; an image no pixel stage touches goes
 * upstream byte for byte; a bad image is a 400 before any upstream is asked.
 */
import assert from "node:assert/strict";
import { ALREADY_PROCESSED, preprocessRequestImages } from "../../src/edge/images.ts";
import { EdgeError } from "../../src/edge/errors.ts";
import { edgeChatRequest } from "../../src/edge/request_schema.ts";
import { defaultImageConfig } from "../../src/image/config.ts";
import { IsolatedImagePipeline } from "../../src/image/isolated.ts";
import { probeImage } from "../../src/image/validate.ts";
import { jpegDataUrl, pngDataUrl } from "../http/helpers.ts";

function request(url: string, imageProcessing?: Record<string, unknown>) {
  return edgeChatRequest.parse({
    messages: [{
      role: "user",
      content: [{ type: "text", text: "?" }, { type: "image_url", image_url: { url } }],
    }],
    ...(imageProcessing ? { image_processing: imageProcessing } : {}),
  });
}

function imageUrlOf(body: ReturnType<typeof request>): string {
  const parts = body.messages[0]!.content as { type: string; image_url?: { url: string } }[];
  return parts[1]!.image_url!.url;
}

function bytesOf(dataUrl: string): Uint8Array {
  return Uint8Array.from(atob(dataUrl.slice(dataUrl.indexOf(",") + 1)), (c) => c.charCodeAt(0));
}

Deno.test("preprocessRequestImages() sends a large photo upstream as a ~1024 px JPEG", async () => {
  using pipeline = new IsolatedImagePipeline({ workers: 1 });
  const original = await jpegDataUrl(3000, 2000);
  const body = request(original);
  const stats = await preprocessRequestImages(body, pipeline, defaultImageConfig());
  const out = bytesOf(imageUrlOf(body));
  const probe = probeImage(out);
  assert.equal(probe.format, "jpeg");
  assert.equal(Math.max(probe.width, probe.height), 1024);
  assert.equal(stats.images, 1);
  assert.equal(stats.bytesOut, out.length);
  assert.ok(stats.bytesOut < stats.bytesIn, `${stats.bytesOut} < ${stats.bytesIn}`);
  assert.deepEqual(body.image_processing, ALREADY_PROCESSED);
});

Deno.test("preprocessRequestImages() forwards the original bytes when no pixel stage runs", async () => {
  using pipeline = new IsolatedImagePipeline({ workers: 1 });
  const original = await pngDataUrl(600, 520);
  const off = {
    smart_crop: false,
    noise_reduction: { enabled: false },
    color_balance: { enabled: false },
  };
  const body = request(original, off);
  const stats = await preprocessRequestImages(body, pipeline, defaultImageConfig());
  assert.equal(imageUrlOf(body), original);
  assert.equal(stats.unchanged, 1);
  assert.deepEqual(body.image_processing, off, "the client's own settings still go upstream");
});

Deno.test("preprocessRequestImages() forwards a request with video as sent (one image_processing for both)", async () => {
  using pipeline = new IsolatedImagePipeline({ workers: 1 });
  const original = await jpegDataUrl(3000, 2000);
  const body = request(original);
  const parts = body.messages[0]!.content as unknown[];
  parts.push({ type: "video_url", video_url: { url: "data:video/mp4;base64,AAAA" } });
  const stats = await preprocessRequestImages(body, pipeline, defaultImageConfig());
  assert.equal(imageUrlOf(body), original);
  assert.equal(stats.images, 0);
  assert.equal(body.image_processing, undefined, "the upstream filters images and frames alike");
});

Deno.test("preprocessRequestImages() refuses a corrupt image with a 400 naming the part", async () => {
  using pipeline = new IsolatedImagePipeline({ workers: 1 });
  const body = request("data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAAB");
  const err = await preprocessRequestImages(body, pipeline, defaultImageConfig()).catch((e) => e);
  assert.ok(err instanceof EdgeError, String(err));
  assert.equal(err.status, 400);
  assert.equal(err.param, "messages[0].content[1].image_url");
});

Deno.test("preprocessRequestImages() leaves remote image URLs alone", async () => {
  using pipeline = new IsolatedImagePipeline({ workers: 1 });
  const body = request("https://example.com/cat.jpg");
  const stats = await preprocessRequestImages(body, pipeline, defaultImageConfig());
  assert.equal(imageUrlOf(body), "https://example.com/cat.jpg");
  assert.equal(stats.images, 0);
});
