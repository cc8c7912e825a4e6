/// <reference lib="deno.worker" />
/**
 * Test worker: owns an ImagePool (nested workers), as the isolated pipeline's workers do, runs
 * one bilateral pass through it and reports the result's checksum.
 */
import { ImagePool } from "../../../src/image/workers.ts";
import { textured } from "../helpers.ts";

self.onmessage = async (ev: MessageEvent<{ poolSize: number }>) => {
  const pool = new ImagePool(ev.data.poolSize);
  const img = textured(300, 200, 1);
  const out = await pool.bilateral(img, { diameter: 9, sigmaColor: 75, sigmaSpace: 75 });
  let sum = 0;
  for (const v of out.data) sum = (sum + v) % 1_000_003;
  self.postMessage({ sum });
};
