import assert from "node:assert/strict";
import { bilateralFilter } from "../../../src/image/bilateral.ts";
import { textured } from "../helpers.ts";

/** OS threads of this process (Linux): each Deno worker runs on its own thread. */
function threadCount(): number {
  return [...Deno.readDirSync("/proc/self/task")].length;
}

async function until(cond: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return cond();
}

Deno.test("an ImagePool created inside a worker computes the same bytes, and terminating that worker ends its pool's threads", async () => {
  const poolSize = 4;
  const outer = new Worker(new URL("./nested_pool_worker.ts", import.meta.url).href, {
    type: "module",
  });
  try {
    const reply = new Promise<{ sum: number }>((resolve, reject) => {
      outer.onmessage = (ev) => resolve(ev.data);
      outer.onerror = (ev) => {
        ev.preventDefault();
        reject(new Error(ev.message));
      };
    });
    outer.postMessage({ poolSize });
    const { sum } = await reply;
    const img = textured(300, 200, 1);
    let expected = 0;
    for (
      const v of bilateralFilter(img.data, 300, 200, {
        diameter: 9,
        sigmaColor: 75,
        sigmaSpace: 75,
      })
    ) expected = (expected + v) % 1_000_003;
    assert.equal(sum, expected);

    const running = threadCount();
    outer.terminate();
    // The outer worker and its poolSize inner workers must all go.
    const ended = await until(() => threadCount() <= running - (poolSize + 1), 5000);
    assert.ok(ended, `threads: ${running} while running, ${threadCount()} after terminate()`);
  } finally {
    outer.terminate();
  }
});
