import assert from "node:assert/strict";
import { samplePlan } from "../../src/video/sampling.ts";

const DEFAULTS = { fps: 1, maxFrames: 64, skipSeconds: 1 };

Deno.test("samplePlan() takes round(fps x duration) evenly spaced frames over the clip", () => {
  const plan = samplePlan({ duration: 10, fps: 10, totalFrames: 100 }, DEFAULTS);
  // numpy: linspace(0, 99, 10, dtype=int)
  assert.deepEqual(plan.indices, [0, 11, 22, 33, 44, 55, 66, 77, 88, 99]);
  assert.deepEqual(plan.timestamps, [0, 1.1, 2.2, 3.3, 4.4, 5.5, 6.6, 7.7, 8.8, 9.9]);
});

Deno.test("samplePlan() caps the count at max_frames and skips 1 s at each end of a long clip", () => {
  const plan = samplePlan({ duration: 100, fps: 25, totalFrames: 2500 }, DEFAULTS);
  assert.equal(plan.indices.length, 64);
  assert.equal(plan.indices[0], 25);
  assert.equal(plan.indices.at(-1), 2475);
  // Short of 2 x skip + max_frames / fps: nothing skipped.
  const short = samplePlan({ duration: 60, fps: 25, totalFrames: 1500 }, DEFAULTS);
  assert.equal(short.indices[0], 0);
  assert.equal(short.indices.at(-1), 1499);
});

Deno.test("samplePlan() rounds half to even like Python and takes at least one frame", () => {
  assert.equal(samplePlan({ duration: 2.5, fps: 10, totalFrames: 25 }, DEFAULTS).indices.length, 2);
  assert.equal(samplePlan({ duration: 3.5, fps: 10, totalFrames: 35 }, DEFAULTS).indices.length, 4);
  assert.deepEqual(samplePlan({ duration: 0.2, fps: 10, totalFrames: 2 }, DEFAULTS).indices, [0]);
});

Deno.test("samplePlan() drops duplicate indices of a clip with fewer frames than samples", () => {
  const plan = samplePlan({ duration: 10, fps: 0.5, totalFrames: 5 }, DEFAULTS);
  assert.deepEqual(plan.indices, [0, 1, 2, 3, 4]);
});
