// @ts-check
/**
 * Video on the page: a clip (chosen, dropped, or recorded for a few seconds from the camera) is
 * sampled here in the browser the way SmolVLM2's processor samples (1 frame per second, at most
 * 64, 1 s skipped at each end of a long clip), each frame drawn square at the model's tile size
 * onto a canvas, shown as a strip of thumbnails with their timestamps, and sent as a
 * `video_frames` part: the upload is frames, not the video. The answer streams below the strip.
 */
import { ApiError, streamChat } from "./api.js";

export const FRAME_SIDE = 512;
export const SAMPLE_FPS = 1;
export const MAX_FRAMES = 64;
export const SKIP_SECONDS = 1;
export const RECORD_SECONDS = 3;

/**
 * Sample times in seconds: min(round(fps x duration), max) evenly spaced over the clip, the
 * ends skipped when duration - 2 x skip > max / fps (the processor's rule, in time not indices).
 * @param {number} duration
 */
export function sampleTimes(duration, fps = SAMPLE_FPS, max = MAX_FRAMES, skip = SKIP_SECONDS) {
  const n = Math.max(1, Math.min(Math.round(fps * duration), max));
  let start = 0;
  let end = Math.max(0, duration - 0.05); // the last decodable moment, not the very end
  if (skip > 0 && duration - 2 * skip > max * fps) {
    start = skip;
    end = duration - skip;
  }
  if (n === 1) return [start];
  return Array.from({ length: n }, (_, i) => start + (i * (end - start)) / (n - 1));
}

/** @param {number} seconds */
export function formatStamp(seconds) {
  const s = Math.max(0, seconds);
  return `${String(Math.floor(s / 60)).padStart(2, "0")}:${
    String(Math.floor(s % 60)).padStart(2, "0")
  }`;
}

/**
 * @param {HTMLVideoElement} video
 * @param {string} event
 */
function once(video, event) {
  return new Promise((resolve, reject) => {
    const ok = () => {
      video.removeEventListener("error", bad);
      resolve(undefined);
    };
    const bad = () => {
      video.removeEventListener(event, ok);
      reject(new Error("the browser cannot decode this video"));
    };
    video.addEventListener(event, ok, { once: true });
    video.addEventListener("error", bad, { once: true });
  });
}

/**
 * A recorded webm reports an infinite duration until the browser has seen its end.
 * @param {HTMLVideoElement} video
 */
async function knownDuration(video) {
  if (Number.isFinite(video.duration) && video.duration > 0) return video.duration;
  video.currentTime = 1e7;
  await once(video, "seeked");
  const d = video.duration;
  video.currentTime = 0;
  await once(video, "seeked");
  if (!Number.isFinite(d) || d <= 0) throw new Error("the video has no duration");
  return d;
}

/**
 * @typedef {{ url: string, timestamp: number }} SampledFrame
 * @typedef {{ frames: SampledFrame[], duration: number }} SampledClip
 */

/**
 * Decodes `blob` in a <video> element and draws the sampled frames square onto a canvas.
 * @param {Blob} blob
 * @returns {Promise<SampledClip>}
 */
export async function sampleVideo(blob) {
  const video = document.createElement("video");
  video.muted = true;
  video.playsInline = true;
  video.preload = "auto";
  const src = URL.createObjectURL(blob);
  try {
    video.src = src;
    await once(video, "loadeddata");
    const duration = await knownDuration(video);
    const canvas = document.createElement("canvas");
    canvas.width = canvas.height = FRAME_SIDE;
    const ctx = canvas.getContext("2d");
    if (!ctx) throw new Error("no canvas");
    /** @type {SampledFrame[]} */
    const frames = [];
    for (const t of sampleTimes(duration)) {
      video.currentTime = t;
      await once(video, "seeked");
      ctx.drawImage(video, 0, 0, FRAME_SIDE, FRAME_SIDE);
      frames.push({ url: canvas.toDataURL("image/jpeg", 0.9), timestamp: t });
    }
    return { frames, duration };
  } finally {
    URL.revokeObjectURL(src);
    video.removeAttribute("src");
  }
}

/**
 * Records `seconds` of the camera as webm.
 * @param {number} seconds
 * @returns {Promise<Blob>}
 */
export async function recordCamera(seconds = RECORD_SECONDS) {
  const stream = await navigator.mediaDevices.getUserMedia({ video: true, audio: false });
  try {
    const recorder = new MediaRecorder(stream, { mimeType: "video/webm" });
    /** @type {Blob[]} */
    const parts = [];
    recorder.ondataavailable = (e) => {
      if (e.data.size > 0) parts.push(e.data);
    };
    const stopped = new Promise((resolve) => recorder.onstop = resolve);
    recorder.start();
    await new Promise((r) => setTimeout(r, seconds * 1000));
    recorder.stop();
    await stopped;
    return new Blob(parts, { type: "video/webm" });
  } finally {
    stream.getTracks().forEach((t) => t.stop());
  }
}

export const DEFAULT_VIDEO_QUESTION = "Describe this video.";

/**
 * The chat body for a sampled clip and a question (a blank one asks the default question).
 * @param {SampledClip} clip
 * @param {string} question
 * @param {number} maxTokens
 */
export function videoRequest(clip, question, maxTokens) {
  return {
    messages: [{
      role: "user",
      content: [
        {
          type: "video_frames",
          video_frames: {
            frames: clip.frames.map((f) => ({ url: f.url, timestamp: f.timestamp })),
            duration: clip.duration,
          },
        },
        { type: "text", text: question.trim() || DEFAULT_VIDEO_QUESTION },
      ],
    }],
    stream: true,
    max_tokens: maxTokens,
  };
}

/** @param {string} id */
function byId(id) {
  const e = document.getElementById(id);
  if (!e) throw new Error(`#${id} is missing from the page`);
  return e;
}

/** Wires the video section of the page. */
export function initVideo() {
  const input = /** @type {HTMLInputElement} */ (byId("video-file"));
  const strip = byId("video-strip");
  const status = byId("video-status");
  const question = /** @type {HTMLInputElement} */ (byId("video-question"));
  const ask = /** @type {HTMLButtonElement} */ (byId("video-ask"));
  const stop = /** @type {HTMLButtonElement} */ (byId("video-stop"));
  const record = /** @type {HTMLButtonElement} */ (byId("video-record"));
  const answer = byId("video-answer");
  /** @type {SampledClip | null} */
  let clip = null;

  /** @param {Blob} blob @param {string} name */
  const take = async (blob, name) => {
    clip = null;
    ask.disabled = true;
    strip.replaceChildren();
    status.textContent = `Sampling ${name}…`;
    try {
      clip = await sampleVideo(blob);
    } catch (e) {
      status.textContent = `Cannot use ${name}: ${/** @type {Error} */ (e).message}`;
      return;
    }
    for (const f of clip.frames) {
      const item = document.createElement("li");
      item.className = "video-frame";
      const img = document.createElement("img");
      img.src = f.url;
      img.alt = `frame at ${formatStamp(f.timestamp)}`;
      const stamp = document.createElement("span");
      stamp.className = "video-stamp";
      stamp.textContent = formatStamp(f.timestamp);
      item.append(img, stamp);
      strip.append(item);
    }
    status.textContent = `${clip.frames.length} frames from ${
      clip.duration.toFixed(1)
    } s of ${name}.`;
    ask.disabled = false;
  };

  input.addEventListener("change", () => {
    const file = input.files?.[0];
    if (file) void take(file, file.name);
    input.value = "";
  });
  // A dropped video anywhere on the page comes here first; preventDefault tells the image
  // handlers it is taken (they still see the drop, to end their drag state).
  document.addEventListener("drop", (event) => {
    const files = [...(event.dataTransfer?.files ?? [])];
    const file = files.find((f) => f.type.startsWith("video/"));
    if (!file) return;
    event.preventDefault();
    void take(file, file.name);
  }, { capture: true });
  /**
   * Disables `button` while `work` runs and gives it back the keyboard focus it had (a
   * disabled button drops focus to the page).
   * @param {HTMLButtonElement} button
   * @param {() => Promise<void>} work
   */
  const whileDisabled = async (button, work) => {
    const focused = document.activeElement === button;
    button.disabled = true;
    try {
      await work();
    } finally {
      button.disabled = false;
      if (focused && (document.activeElement === document.body || !document.activeElement)) {
        button.focus();
      }
    }
  };
  record.addEventListener("click", () =>
    whileDisabled(record, async () => {
      status.textContent = `Recording ${RECORD_SECONDS} s from the camera…`;
      try {
        await take(await recordCamera(), "the recording");
      } catch (e) {
        status.textContent = `Cannot record: ${/** @type {Error} */ (e).message}`;
      }
    }));
  /** Aborts the answer being streamed; null when none is. @type {AbortController | null} */
  let asking = null;
  stop.addEventListener("click", () => asking?.abort());
  ask.addEventListener("click", async () => {
    if (!clip) return;
    const sampled = clip;
    const controller = new AbortController();
    asking = controller;
    // Stop stands beside the disabled Ask; the focus moves to it (a disabled button drops the
    // focus to the page), and back to Ask when the answer ends.
    stop.hidden = false;
    if (document.activeElement === ask) stop.focus();
    ask.disabled = true;
    answer.textContent = "";
    answer.dataset.state = "streaming";
    // A live region: screen readers read the answer once it is complete, not piece by piece.
    answer.setAttribute("aria-busy", "true");
    try {
      await streamChat(videoRequest(sampled, question.value, 128), {
        idleTimeoutMs: 120_000,
        signal: controller.signal,
        onDelta: (text) => answer.textContent += text,
      });
      answer.dataset.state = "done";
    } catch (e) {
      if (e instanceof ApiError && e.kind === "aborted") {
        answer.dataset.state = "stopped"; // what streamed so far stays
      } else {
        answer.textContent = /** @type {Error} */ (e).message;
        answer.dataset.state = "error";
      }
    } finally {
      answer.setAttribute("aria-busy", "false");
      asking = null;
      const stopFocused = document.activeElement === stop;
      stop.hidden = true;
      ask.disabled = false;
      if (stopFocused) ask.focus();
    }
  });
}
