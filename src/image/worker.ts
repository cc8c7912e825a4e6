/// <reference lib="deno.worker" />
/**
 * Worker entry for the image pool: runs chunks of rows of a heavy stage on shared memory (the
 * wasm kernels, one instance per worker), claiming them from the task's atomic row counter.
 */
import { bilateralRows } from "./bilateral.ts";
import { labBalancePixels } from "./lab.ts";
import { resizeRows } from "./resize.ts";
import type { BandTask } from "./workers.ts";

/**
 * Back to the event loop between chunks: a worker whose owner was terminated (a pipeline worker
 * killed at its deadline) is only stopped there, so it never runs on for a whole stage.
 */
const channel = new MessageChannel();
const resumes: (() => void)[] = [];
channel.port1.onmessage = () => resumes.shift()?.();
// A message to itself, not setTimeout(0): nested timers are clamped to 4 ms.
const yieldToEventLoop = () =>
  new Promise<void>((resume) => {
    resumes.push(resume);
    channel.port2.postMessage(0);
  });

self.onmessage = async (ev: MessageEvent<BandTask>) => {
  const t = ev.data;
  try {
    const src = new Uint8Array(t.src, t.srcOffset, t.srcLength);
    const dst = new Uint8Array(t.dst, t.dstOffset, t.dstLength);
    const next = new Int32Array(t.next);
    for (;;) {
      const a = t.y0 + Atomics.add(next, 0, t.grain);
      if (a >= t.y1) break;
      const b = Math.min(t.y1, a + t.grain);
      if (t.op === "bilateral") {
        bilateralRows(src, dst, t.width, t.height, a, b, t.bilateral);
      } else if (t.op === "lab") {
        labBalancePixels(src, dst, a * t.width, b * t.width, t.lab);
      } else {
        resizeRows(src, t.sw, t.sh, dst, t.width, t.height, a, b);
      }
      await yieldToEventLoop();
    }
    self.postMessage({ id: t.id, ok: true });
  } catch (e) {
    self.postMessage({ id: t.id, ok: false, error: e instanceof Error ? e.message : String(e) });
  }
};
