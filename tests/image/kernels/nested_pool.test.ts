import assert from "node:assert/strict";
import { bilateralFilter } from "../../../src/image/bilateral.ts";
import { textured } from "../helpers.ts";

const WORKER = new URL("./nested_pool_worker.ts", import.meta.url).href;

function startOuter(): { worker: Worker; messages: unknown[]; next: () => Promise<unknown> } {
  const worker = new Worker(WORKER, { type: "module" });
  const messages: unknown[] = [];
  let wake: (() => void) | null = null;
  let failure: Error | null = null;
  worker.onmessage = (ev) => {
    messages.push(ev.data);
    wake?.();
  };
  worker.onerror = (ev) => {
    ev.preventDefault();
    failure = new Error(ev.message);
    wake?.();
  };
  let read = 0;
  const next = async () => {
    while (read >= messages.length) {
      if (failure) throw failure;
      await new Promise<void>((r) => (wake = r));
    }
    return messages[read++];
  };
  return { worker, messages, next };
}

Deno.test("an ImagePool created inside a worker computes the same bytes as the kernels inline", async () => {
  const outer = startOuter();
  try {
    outer.worker.postMessage({ kind: "checksum", poolSize: 3 });
    const { sum } = await outer.next() as { sum: number };
    const img = textured(300, 200, 1);
    let expected = 0;
    const p = { diameter: 9, sigmaColor: 75, sigmaSpace: 75 };
    for (const v of bilateralFilter(img.data, 300, 200, p)) expected = (expected + v) % 1_000_003;
    assert.equal(sum, expected);
  } finally {
    outer.worker.terminate();
  }
});

Deno.test("terminating the worker that owns an ImagePool stops the pool's workers too", async () => {
  // A long job over shared buffers we can watch: 4096 x 4096 takes seconds on 2 cores.
  const width = 4096, height = 4096, n = width * height * 3;
  const src = new SharedArrayBuffer(n), dst = new SharedArrayBuffer(n);
  const s = new Uint8Array(src), d = new Uint8Array(dst);
  for (let i = 0; i < n; i++) s[i] = 40 + ((i * 7) % 160);
  const written = () => {
    let c = 0;
    for (let i = 0; i < n; i += 4093) if (d[i] !== 0) c++;
    return c;
  };
  const total = Math.ceil(n / 4093);
  const outer = startOuter();
  try {
    outer.worker.postMessage({ kind: "long", poolSize: 2, src, dst, width, height });
    assert.deepEqual(await outer.next(), { started: true });
    const deadline = Date.now() + 20_000;
    while (written() === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    assert.ok(written() > 0, "the inner workers never wrote");
  } finally {
    outer.worker.terminate();
  }
  // Each inner worker stops at its next chunk boundary (a chunk is at most ~256 K pixels):
  // writing must settle soon, long before the job could have finished.
  let before = written(), after = -1;
  for (let i = 0; i < 20 && after !== before; i++) {
    await new Promise((r) => setTimeout(r, 500));
    [before, after] = [after === -1 ? before : after, written()];
  }
  assert.equal(after, before, "inner workers kept writing after their owner was terminated");
  assert.ok(after < total, "the job finished before terminate(): nothing was tested");
  assert.ok(!outer.messages.some((m) => (m as { finished?: boolean }).finished));
});
