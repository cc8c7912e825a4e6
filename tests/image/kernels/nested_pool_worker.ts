/// <reference lib="deno.worker" />
/**
 * Test worker: owns an ImagePool (nested workers), as the isolated pipeline's workers do.
 * "checksum": one bilateral pass through the pool, answered with the result's checksum.
 * "long": a long bilateral pass over caller-owned shared buffers (so the test can watch the
 * inner workers write), answered with "started" as soon as it is submitted.
 */
import { ImagePool } from "../../../src/image/workers.ts";
import { textured } from "../helpers.ts";

const P = { diameter: 9, sigmaColor: 75, sigmaSpace: 75 };

type Job =
  | { kind: "checksum"; poolSize: number }
  | {
    kind: "long";
    poolSize: number;
    src: SharedArrayBuffer;
    dst: SharedArrayBuffer;
    width: number;
    height: number;
  };

self.onmessage = async (ev: MessageEvent<Job>) => {
  const job = ev.data;
  const pool = new ImagePool(job.poolSize);
  if (job.kind === "checksum") {
    const img = textured(300, 200, 1);
    const out = await pool.bilateral(img, P);
    let sum = 0;
    for (const v of out.data) sum = (sum + v) % 1_000_003;
    self.postMessage({ sum });
  } else {
    const done = pool.runBands(
      { op: "bilateral", bilateral: P },
      new Uint8Array(job.src),
      new Uint8Array(job.dst),
      job.width,
      job.height,
    );
    self.postMessage({ started: true });
    await done;
    self.postMessage({ finished: true });
  }
};
