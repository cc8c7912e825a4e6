/**
 * Worker entry for the isolated pipeline: runs preprocessImage() on untrusted bytes away from
 * the main thread. The owner terminates this worker when it overruns its deadline, so nothing
 * here needs to be interruptible.
 *
 * @module
 */
/// <reference lib="deno.worker" />
import type { ImageConfig } from "./config.ts";
import { ImageDecodeError, ImageError, imageErrorToWire } from "./errors.ts";
import { JsonBodyError, parseJsonWithMedia } from "./json_media.ts";
import { preprocessImage, type PreprocessOptions } from "./pipeline.ts";
import type {
  JsonMediaJob,
  JsonMediaReply,
  PipelineReply,
  WorkerJob,
} from "./pipeline_protocol.ts";

function plainCopy(data: Uint8Array): Uint8Array {
  // Shared or partial buffers cannot be transferred whole; one copy makes an owned buffer.
  if (
    data.buffer instanceof ArrayBuffer && data.byteOffset === 0 &&
    data.byteLength === data.buffer.byteLength
  ) return data;
  return data.slice();
}

function parseBody(job: JsonMediaJob): void {
  let reply: JsonMediaReply;
  const transfer: ArrayBuffer[] = [];
  try {
    const json = parseJsonWithMedia(job.bytes, job.nonce, job.minLength);
    for (const m of json.media) {
      if ("bytes" in m && m.bytes.byteOffset === 0) transfer.push(m.bytes.buffer as ArrayBuffer);
    }
    reply = { id: job.id, ok: true, json };
  } catch (e) {
    if (!(e instanceof JsonBodyError)) throw e;
    reply = { id: job.id, ok: false, json: { fault: e.fault, message: e.message, path: e.path } };
  }
  self.postMessage(reply, transfer);
}

self.onmessage = async (ev: MessageEvent<WorkerJob>) => {
  const job = ev.data;
  if (job.kind === "json") return parseBody(job);
  let reply: PipelineReply;
  const transfer: ArrayBuffer[] = [];
  try {
    if (job.testDelayMs) await new Promise((r) => setTimeout(r, job.testDelayMs));
    const opts: PreprocessOptions = { output: job.output, tiling: job.tiling };
    const r = await preprocessImage(
      { bytes: job.bytes, mime: job.mime },
      job.config as ImageConfig,
      opts,
    );
    const data = plainCopy(r.image.data);
    transfer.push(data.buffer as ArrayBuffer);
    let jpeg: Uint8Array | undefined;
    if (r.jpeg) {
      jpeg = plainCopy(r.jpeg);
      if (jpeg.buffer !== data.buffer) transfer.push(jpeg.buffer as ArrayBuffer);
    }
    reply = {
      id: job.id,
      ok: true,
      image: { width: r.image.width, height: r.image.height, data },
      report: r.report,
      jpeg,
    };
  } catch (e) {
    const err = e instanceof ImageError
      ? e
      : new ImageDecodeError(`image could not be processed: ${(e as Error)?.message ?? e}`);
    reply = { id: job.id, ok: false, error: imageErrorToWire(err) };
  }
  self.postMessage(reply, transfer);
};

self.postMessage({ ready: true });
