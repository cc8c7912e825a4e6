/// <reference lib="deno.worker" />
/**
 * Worker entry for the image pool: runs one band of a heavy stage on shared memory (the wasm
 * kernels, one instance per worker).
 */
import { bilateralRows } from "./bilateral.ts";
import { labBalancePixels } from "./lab.ts";
import { resizeRows } from "./resize.ts";
import type { BandTask } from "./workers.ts";

self.onmessage = (ev: MessageEvent<BandTask>) => {
  const t = ev.data;
  try {
    const src = new Uint8Array(t.src, t.srcOffset, t.srcLength);
    const dst = new Uint8Array(t.dst, t.dstOffset, t.dstLength);
    if (t.op === "bilateral") {
      bilateralRows(src, dst, t.width, t.height, t.y0, t.y1, t.bilateral);
    } else if (t.op === "lab") {
      labBalancePixels(src, dst, t.y0 * t.width, t.y1 * t.width, t.lab);
    } else {
      resizeRows(src, t.sw, t.sh, dst, t.width, t.height, t.y0, t.y1);
    }
    self.postMessage({ id: t.id, ok: true });
  } catch (e) {
    self.postMessage({ id: t.id, ok: false, error: e instanceof Error ? e.message : String(e) });
  }
};
