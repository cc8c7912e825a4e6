// @ts-check
/**
 * The page: wires the camera, file choice, drag and drop, paste, the history strip, the
 * question form, streamed answers, the server report, realtime mode and the health indicator.
 * Plain ES modules, no build step.
 */

import {
  DEFAULT_IDLE_TIMEOUT_MS,
  DEFAULT_MAX_TOKENS,
  DEFAULT_PROMPT,
  HEALTH_POLL_NOT_READY_MS,
  HEALTH_POLL_READY_MS,
  HEALTH_TIMEOUT_MS,
  HISTORY_LIMIT,
  REALTIME_MAX_CONSECUTIVE_FAILURES,
  REALTIME_MAX_SIDE,
  REALTIME_MAX_TOKENS,
} from "./js/config.js";
import { ApiError, getHealth, getInfo, streamChat } from "./js/api.js";
import { Camera, CameraError } from "./js/camera.js";
import { makeThumbnail, prepareFile, toUploadUrl, ValidationError } from "./js/images.js";
import { DEFAULT_LIMITS, isDemoInfo, limitsFromInfo } from "./js/validate.js";
import { describeImageReport, describeTimings, formatMs, formatRate } from "./js/format.js";
import { createLatestFrameScheduler, createTicker } from "./js/realtime.js";

/**
 * @template {HTMLElement} T
 * @param {string} id
 * @param {{ new (): T, prototype: T }} type
 * @returns {T}
 */
function el(id, type) {
  const e = document.getElementById(id);
  if (!(e instanceof type)) throw new Error(`#${id} is missing from the page`);
  return e;
}

const ui = {
  health: el("health", HTMLElement),
  healthText: el("health-text", HTMLElement),
  demoBadge: el("demo-badge", HTMLElement),
  stage: el("stage", HTMLElement),
  video: el("video", HTMLVideoElement),
  preview: el("preview", HTMLImageElement),
  cameraToggle: el("camera-toggle", HTMLButtonElement),
  capture: el("capture", HTMLButtonElement),
  chooseFile: el("choose-file", HTMLButtonElement),
  fileInput: el("file-input", HTMLInputElement),
  imageMessage: el("image-message", HTMLElement),
  history: el("history", HTMLUListElement),
  historyEmpty: el("history-empty", HTMLElement),
  form: el("ask-form", HTMLFormElement),
  question: el("question", HTMLTextAreaElement),
  optSmartCrop: el("opt-smart-crop", HTMLInputElement),
  optNoise: el("opt-noise", HTMLInputElement),
  optColor: el("opt-color", HTMLInputElement),
  maxTokens: el("max-tokens", HTMLInputElement),
  send: el("send", HTMLButtonElement),
  stop: el("stop", HTMLButtonElement),
  error: el("error", HTMLElement),
  errorText: el("error-text", HTMLElement),
  retry: el("retry", HTMLButtonElement),
  answer: el("answer", HTMLOutputElement),
  statTokens: el("stat-tokens", HTMLElement),
  statRate: el("stat-rate", HTMLElement),
  statTtft: el("stat-ttft", HTMLElement),
  statTotal: el("stat-total", HTMLElement),
  reportEmpty: el("report-empty", HTMLElement),
  reportBody: el("report-body", HTMLElement),
  rtInterval: el("rt-interval", HTMLSelectElement),
  rtToggle: el("rt-toggle", HTMLButtonElement),
  rtStatus: el("rt-status", HTMLElement),
};

const params = new URLSearchParams(location.search);
const idleTimeoutMs = positiveInt(params.get("timeout_ms")) ?? DEFAULT_IDLE_TIMEOUT_MS;

/**
 * @typedef {import("./js/images.js").PreparedImage & { id: number, previewUrl: string,
 *   uploadUrl: string | null }} HistoryItem
 */

const state = {
  limits: DEFAULT_LIMITS,
  modelName: "smolvlm",
  /** @type {HistoryItem[]} */
  history: [],
  /** @type {number | null} */
  selectedId: null,
  nextId: 1,
  /** @type {AbortController | null} */
  request: null,
  /** @type {(() => void) | null} */
  retryAction: null,
  /** @type {ReturnType<typeof setInterval> | undefined} */
  retryCountdown: undefined,
  showCamera: false,
  capturingRealtime: false,
  realtimeAnswers: 0,
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  healthTimer: undefined,
  healthState: "checking",
  infoLoaded: false,
};

const camera = new Camera(ui.video);

/** @param {string | null} s */
function positiveInt(s) {
  const n = s === null ? NaN : Number(s);
  return Number.isInteger(n) && n > 0 ? n : null;
}

// ---------------------------------------------------------------------------------------------
// Messages and errors

/** @param {string} text @param {"error" | "info"} [kind] */
function showImageMessage(text, kind = "error") {
  ui.imageMessage.textContent = text;
  ui.imageMessage.dataset["kind"] = kind;
  ui.imageMessage.hidden = false;
}

function clearImageMessage() {
  ui.imageMessage.hidden = true;
  ui.imageMessage.textContent = "";
}

/**
 * @param {string} text
 * @param {(() => void) | null} retry
 * @param {number | null} [retryAfterMs]
 */
function showError(text, retry, retryAfterMs = null) {
  clearInterval(state.retryCountdown);
  ui.errorText.textContent = text;
  ui.error.hidden = false;
  state.retryAction = retry;
  ui.retry.hidden = retry === null;
  ui.retry.disabled = false;
  ui.retry.textContent = "Retry";
  if (retry && retryAfterMs !== null && retryAfterMs > 0) {
    const until = Date.now() + retryAfterMs;
    const tick = () => {
      const left = Math.ceil((until - Date.now()) / 1000);
      if (left <= 0) {
        clearInterval(state.retryCountdown);
        ui.retry.disabled = false;
        ui.retry.textContent = "Retry";
      } else {
        ui.retry.disabled = true;
        ui.retry.textContent = `Retry in ${left} s`;
      }
    };
    tick();
    state.retryCountdown = setInterval(tick, 250);
  }
}

function clearError() {
  clearInterval(state.retryCountdown);
  ui.error.hidden = true;
  ui.errorText.textContent = "";
  state.retryAction = null;
}

// ---------------------------------------------------------------------------------------------
// Health and server info

/** @param {import("./js/api.js").Health} h */
function renderHealth(h) {
  state.healthState = h.state;
  ui.health.dataset["state"] = h.state;
  const text = {
    ready: `Ready · ${state.modelName}`,
    loading: "Model loading…",
    unhealthy: `Server unhealthy${h.detail ? `: ${h.detail}` : ""}`,
    unreachable: "Server unreachable",
  }[h.state];
  if (ui.healthText.textContent !== text) ui.healthText.textContent = text;
}

async function loadInfo() {
  const info = await getInfo(HEALTH_TIMEOUT_MS);
  if (info === null) return;
  state.infoLoaded = true;
  state.limits = limitsFromInfo(info);
  ui.demoBadge.hidden = !isDemoInfo(info);
  const model = /** @type {{ model?: { id?: unknown } }} */ (info).model;
  if (typeof model?.id === "string" && model.id) state.modelName = model.id;
}

async function pollHealth() {
  clearTimeout(state.healthTimer);
  const h = await getHealth(HEALTH_TIMEOUT_MS);
  if (h.state !== "unreachable" && !state.infoLoaded) await loadInfo();
  renderHealth(h);
  if (h.state === "unreachable") state.infoLoaded = false;
  const wait = h.state === "ready" ? HEALTH_POLL_READY_MS : HEALTH_POLL_NOT_READY_MS;
  state.healthTimer = setTimeout(pollHealth, wait);
}

// ---------------------------------------------------------------------------------------------
// Stage, history

function renderStage() {
  const selected = selectedItem();
  /** @type {"camera" | "image" | "empty"} */
  let mode = "empty";
  if (camera.active && state.showCamera) mode = "camera";
  else if (selected) mode = "image";
  ui.stage.dataset["mode"] = mode;
  if (selected) {
    if (ui.preview.src !== selected.previewUrl) ui.preview.src = selected.previewUrl;
    ui.preview.alt = `Selected image: ${selected.name}, ${selected.width}×${selected.height}`;
  } else {
    ui.preview.removeAttribute("src");
    ui.preview.alt = "";
  }
}

function selectedItem() {
  return state.history.find((h) => h.id === state.selectedId) ?? null;
}

/** @param {import("./js/images.js").PreparedImage} prepared */
function addToHistory(prepared) {
  /** @type {HistoryItem} */
  const item = {
    ...prepared,
    id: state.nextId++,
    previewUrl: URL.createObjectURL(prepared.blob),
    uploadUrl: null,
  };
  state.history.push(item);
  while (state.history.length > HISTORY_LIMIT) {
    const old = state.history.shift();
    if (old) URL.revokeObjectURL(old.previewUrl);
  }
  state.selectedId = item.id;
  renderHistory();
  renderStage();
}

function renderHistory() {
  ui.historyEmpty.hidden = state.history.length > 0;
  const total = state.history.length;
  const items = state.history.map((item, i) => {
    const li = document.createElement("li");
    const button = document.createElement("button");
    button.type = "button";
    button.className = "thumb";
    button.dataset["id"] = String(item.id);
    const selected = item.id === state.selectedId;
    button.setAttribute("aria-pressed", String(selected));
    const how = item.source === "camera"
      ? "camera frame"
      : item.convertedFrom
      ? `converted from ${item.convertedFrom}`
      : item.source;
    button.setAttribute(
      "aria-label",
      `Image ${i + 1} of ${total}: ${item.name}, ${item.width}×${item.height}, ${how}`,
    );
    button.title = `${item.name} (${item.width}×${item.height})`;
    const img = document.createElement("img");
    img.src = item.thumbUrl;
    img.width = 120;
    img.height = 90;
    img.alt = "";
    button.append(img);
    li.append(button);
    return li;
  });
  ui.history.replaceChildren(...items);
  ui.history.querySelector('[aria-pressed="true"]')?.scrollIntoView({
    block: "nearest",
    inline: "nearest",
  });
}

ui.history.addEventListener("click", (event) => {
  const target = event.target instanceof Element ? event.target.closest("button.thumb") : null;
  if (!(target instanceof HTMLButtonElement)) return;
  state.selectedId = Number(target.dataset["id"]);
  state.showCamera = false;
  clearImageMessage();
  renderHistory();
  renderStage();
  ui.history.querySelector(`[data-id="${state.selectedId}"]`)?.closest("button")?.focus();
});

ui.history.addEventListener("keydown", (event) => {
  if (event.key !== "ArrowLeft" && event.key !== "ArrowRight") return;
  const buttons = [...ui.history.querySelectorAll("button.thumb")];
  const at = buttons.indexOf(/** @type {Element} */ (document.activeElement));
  if (at === -1) return;
  const next = buttons[at + (event.key === "ArrowRight" ? 1 : -1)];
  if (next instanceof HTMLButtonElement) {
    event.preventDefault();
    next.focus();
  }
});

// ---------------------------------------------------------------------------------------------
// Image sources: files, drop, paste, camera

/** Files are prepared one at a time, in the order they came, so the history keeps that order. */
let fileQueue = Promise.resolve();

/**
 * @param {Iterable<File>} files
 * @param {import("./js/images.js").PreparedImage["source"]} source
 */
function takeFiles(files, source) {
  const list = [...files];
  fileQueue = fileQueue.then(() => takeFilesNow(list, source));
  return fileQueue;
}

/**
 * @param {File[]} files
 * @param {import("./js/images.js").PreparedImage["source"]} source
 */
async function takeFilesNow(files, source) {
  /** @type {string[]} */
  const problems = [];
  let added = 0;
  for (const file of files) {
    try {
      const prepared = await prepareFile(file, state.limits, source);
      state.showCamera = false;
      addToHistory(prepared);
      added++;
    } catch (error) {
      problems.push(
        error instanceof ValidationError ? error.message : `“${file.name}” could not be read.`,
      );
    }
  }
  if (problems.length > 0) showImageMessage(problems.join(" "));
  else if (added > 0) {
    const item = selectedItem();
    if (item?.convertedFrom) {
      showImageMessage(
        `Converted “${item.name}” from ${item.convertedFrom.toUpperCase()} to JPEG in the browser.`,
        "info",
      );
    } else clearImageMessage();
  }
}

ui.chooseFile.addEventListener("click", () => ui.fileInput.click());
ui.fileInput.addEventListener("change", async () => {
  const files = [...(ui.fileInput.files ?? [])];
  ui.fileInput.value = "";
  if (files.length > 0) await takeFiles(files, "file");
  ui.chooseFile.focus();
});

/** @param {DragEvent} event */
function hasFiles(event) {
  return [...(event.dataTransfer?.types ?? [])].includes("Files");
}

let dragDepth = 0;
document.addEventListener("dragenter", (event) => {
  if (!hasFiles(event)) return;
  dragDepth++;
  ui.stage.classList.add("dragging");
});
document.addEventListener("dragleave", (event) => {
  if (!hasFiles(event)) return;
  dragDepth = Math.max(0, dragDepth - 1);
  if (dragDepth === 0) ui.stage.classList.remove("dragging");
});
document.addEventListener("dragover", (event) => {
  if (!hasFiles(event)) return;
  event.preventDefault();
  if (event.dataTransfer) event.dataTransfer.dropEffect = "copy";
});
document.addEventListener("drop", (event) => {
  dragDepth = 0;
  ui.stage.classList.remove("dragging");
  const files = [...(event.dataTransfer?.files ?? [])];
  if (files.length === 0) return;
  event.preventDefault();
  void takeFiles(files, "drop");
});

document.addEventListener("paste", (event) => {
  const files = [...(event.clipboardData?.files ?? [])];
  if (files.length === 0) return; // Plain text pastes into the question as usual.
  event.preventDefault();
  void takeFiles(files, "paste");
});

function renderCameraControls() {
  const on = camera.active;
  ui.cameraToggle.textContent = on ? "Stop camera" : "Start camera";
  ui.cameraToggle.setAttribute("aria-pressed", String(on));
  ui.capture.disabled = !on || realtime.running;
}

async function startCamera() {
  clearImageMessage();
  ui.cameraToggle.disabled = true;
  try {
    await camera.start();
    state.showCamera = true;
    return true;
  } catch (error) {
    showImageMessage(
      error instanceof CameraError ? error.message : "The camera could not be started.",
    );
    return false;
  } finally {
    ui.cameraToggle.disabled = false;
    renderCameraControls();
    renderStage();
  }
}

function stopCamera() {
  if (realtime.running) stopRealtime();
  camera.stop();
  state.showCamera = false;
  renderCameraControls();
  renderStage();
}

ui.cameraToggle.addEventListener("click", () => {
  if (camera.active) stopCamera();
  else void startCamera();
});

ui.capture.addEventListener("click", async () => {
  try {
    const frame = await camera.capture();
    const time = new Date().toLocaleTimeString([], { hour12: false });
    state.showCamera = true;
    addToHistory({
      blob: frame.blob,
      mime: "image/jpeg",
      width: frame.width,
      height: frame.height,
      name: `Camera ${time}`,
      thumbUrl: makeThumbnail(frame.canvas, frame.width, frame.height),
      convertedFrom: null,
      source: "camera",
    });
    clearImageMessage();
  } catch (error) {
    showImageMessage(
      error instanceof CameraError ? error.message : "The frame could not be captured.",
    );
  }
});

// ---------------------------------------------------------------------------------------------
// Asking

function maxTokens() {
  const n = positiveInt(ui.maxTokens.value);
  return n === null ? DEFAULT_MAX_TOKENS : Math.min(n, 4096);
}

/**
 * @param {string} imageUrl
 * @param {number} tokens
 */
function buildRequest(imageUrl, tokens) {
  const question = ui.question.value.trim() || DEFAULT_PROMPT;
  return {
    model: state.modelName,
    messages: [{
      role: "user",
      content: [
        { type: "image_url", image_url: { url: imageUrl } },
        { type: "text", text: question },
      ],
    }],
    stream: true,
    stream_options: { include_usage: true },
    max_tokens: tokens,
    image_processing: {
      smart_crop: ui.optSmartCrop.checked,
      noise_reduction: { enabled: ui.optNoise.checked },
      color_balance: { enabled: ui.optColor.checked },
    },
  };
}

/** @param {string} text */
function setAnswer(text) {
  ui.answer.textContent = text;
}

/** @param {"idle" | "streaming" | "done" | "error" | "stopped"} s */
function setAnswerState(s) {
  ui.answer.dataset["state"] = s;
  ui.answer.setAttribute("aria-busy", String(s === "streaming"));
}

function resetStats() {
  ui.statTokens.textContent = "–";
  ui.statRate.textContent = "–";
  ui.statTtft.textContent = "–";
  ui.statTotal.textContent = "–";
}

/** @param {string} text */
function clearReport(text) {
  ui.reportBody.replaceChildren();
  ui.reportEmpty.textContent = text;
  ui.reportEmpty.hidden = false;
}

/**
 * @param {Record<string, number> | null} timings
 * @param {unknown[] | null} reports
 * @param {Record<string, unknown>} requested
 */
function renderReport(timings, reports, requested) {
  ui.reportEmpty.hidden = true;
  /** @type {HTMLTableElement[]} */
  const tables = [];
  /**
   * @param {string} caption
   * @param {[string, string][]} rows
   */
  const table = (caption, rows) => {
    const t = document.createElement("table");
    t.createCaption().textContent = caption;
    const body = t.createTBody();
    for (const [k, v] of rows) {
      const tr = body.insertRow();
      const th = document.createElement("th");
      th.scope = "row";
      th.textContent = k;
      const td = document.createElement("td");
      td.textContent = v;
      tr.append(th, td);
    }
    return t;
  };
  const onOff = (/** @type {unknown} */ v) => (v ? "on" : "off");
  const ip = /** @type {{ smart_crop: boolean, noise_reduction: { enabled: boolean },
    color_balance: { enabled: boolean } }} */
    (requested);
  tables.push(table("Requested", [
    ["Smart crop", onOff(ip.smart_crop)],
    ["Noise reduction", onOff(ip.noise_reduction.enabled)],
    ["Colour balance", onOff(ip.color_balance.enabled)],
  ]));
  (reports ?? []).forEach((r, i) => {
    const rows = describeImageReport(r);
    if (rows.length > 0) {
      tables.push(table(reports && reports.length > 1 ? `Image ${i + 1}` : "Image", rows));
    }
  });
  if (!reports || reports.length === 0) {
    tables.push(table("Image", [["Report", "the server sent none"]]));
  }
  const timingRows = describeTimings(timings);
  if (timingRows.length > 0) tables.push(table("Server timings", timingRows));
  ui.reportBody.replaceChildren(...tables);
}

/**
 * Runs one streamed request and shows it; resolves when it ends, rejects with ApiError.
 * @param {ReturnType<typeof buildRequest>} body
 * @param {AbortSignal} signal
 * @param {{ replaceOnFirstToken?: boolean }} [opts]
 */
async function runRequest(body, signal, opts = {}) {
  const t0 = performance.now();
  /** @type {number | null} */
  let tFirst = null;
  let pieces = 0;
  let text = "";
  if (!opts.replaceOnFirstToken) {
    setAnswer("");
    resetStats();
    clearReport("Waiting for the server…");
  }
  setAnswerState("streaming");
  const updateLive = () => {
    const now = performance.now();
    ui.statTokens.textContent = String(pieces);
    if (tFirst !== null) {
      ui.statTtft.textContent = formatMs(tFirst - t0);
      const secs = (now - tFirst) / 1000;
      if (pieces > 1 && secs > 0) ui.statRate.textContent = formatRate((pieces - 1) / secs);
    }
    ui.statTotal.textContent = formatMs(now - t0);
  };
  try {
    const result = await streamChat(body, {
      signal,
      idleTimeoutMs,
      onDelta(piece) {
        if (tFirst === null) {
          tFirst = performance.now();
          if (opts.replaceOnFirstToken) resetStats();
        }
        pieces++;
        text += piece;
        setAnswer(text);
        updateLive();
      },
      onFinish(final) {
        renderReport(final.timings, final.imageReports, body.image_processing);
        const rate = final.timings?.["completion_tokens_per_second"];
        if (typeof rate === "number" && rate > 0) ui.statRate.textContent = formatRate(rate);
      },
      onUsage(usage) {
        if (typeof usage.completion_tokens === "number") {
          ui.statTokens.textContent = String(usage.completion_tokens);
        }
      },
    });
    ui.statTotal.textContent = formatMs(performance.now() - t0);
    if (tFirst === null) {
      ui.statTtft.textContent = "–";
      if (opts.replaceOnFirstToken) setAnswer("");
    }
    if (result.usage?.completion_tokens !== undefined) {
      ui.statTokens.textContent = String(result.usage.completion_tokens);
    }
    if (result.text === "") setAnswer("(The model returned an empty answer.)");
    setAnswerState("done");
    return result;
  } catch (error) {
    setAnswerState(error instanceof ApiError && error.kind === "aborted" ? "stopped" : "error");
    if (!opts.replaceOnFirstToken && ui.reportBody.childElementCount === 0) {
      clearReport("No report: the request did not complete.");
    }
    throw error;
  }
}

function setBusy(/** @type {boolean} */ busy) {
  ui.send.disabled = busy || realtime.running;
  ui.stop.disabled = !busy;
}

async function ask() {
  if (state.request) return;
  const item = selectedItem();
  if (!item) {
    showImageMessage("Choose, capture, drop or paste an image first.");
    return;
  }
  clearError();
  const controller = new AbortController();
  state.request = controller;
  setBusy(true);
  try {
    item.uploadUrl ??= await toUploadUrl(item.blob, item.mime);
    const body = buildRequest(item.uploadUrl, maxTokens());
    await runRequest(body, controller.signal);
  } catch (error) {
    if (error instanceof ApiError) {
      if (error.kind !== "aborted") {
        showError(error.message, error.retryable ? () => void ask() : null, error.retryAfterMs);
        if (error.kind === "network") void pollHealth();
      }
    } else {
      showError(`Something went wrong: ${error instanceof Error ? error.message : error}`, () => {
        void ask();
      });
    }
  } finally {
    state.request = null;
    setBusy(false);
  }
}

ui.form.addEventListener("submit", (event) => {
  event.preventDefault();
  void ask();
});

ui.question.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
    event.preventDefault();
    ui.form.requestSubmit();
  }
});

ui.stop.addEventListener("click", () => {
  state.request?.abort();
});

ui.retry.addEventListener("click", () => {
  const action = state.retryAction;
  clearError();
  action?.();
});

// ---------------------------------------------------------------------------------------------
// Realtime

/** @typedef {{ blob: Blob, width: number, height: number, at: number }} Frame */

/** @type {ReturnType<typeof createLatestFrameScheduler<Frame>>} */
const realtime = createLatestFrameScheduler({
  /** @param {Frame} frame @param {AbortSignal} signal */
  async send(frame, signal) {
    const url = await toUploadUrl(frame.blob, "image/jpeg");
    if (signal.aborted) return;
    const body = buildRequest(url, Math.min(maxTokens(), REALTIME_MAX_TOKENS));
    await runRequest(body, signal, { replaceOnFirstToken: true });
    state.realtimeAnswers++;
    clearError();
  },
  onError(error, consecutive) {
    const message = error instanceof ApiError ? error.message : String(error);
    const retryAfter = error instanceof ApiError ? error.retryAfterMs : null;
    showError(
      `Realtime request failed (${consecutive} in a row): ${message}${
        retryAfter ? " Realtime waits, then goes on." : ""
      }`,
      null,
    );
  },
  onAutoStop(error) {
    const message = error instanceof ApiError ? error.message : String(error);
    stopRealtime();
    showError(
      `Realtime stopped after ${REALTIME_MAX_CONSECUTIVE_FAILURES} failed requests in a row: ${message}`,
      () => void startRealtime(),
    );
    void pollHealth();
  },
  onChange: renderRealtimeStatus,
  retryAfterMs: (error) => (error instanceof ApiError ? error.retryAfterMs : null),
  maxConsecutiveFailures: REALTIME_MAX_CONSECUTIVE_FAILURES,
});

const ticker = createTicker({
  onTick() {
    if (!realtime.running || state.capturingRealtime || document.hidden) return;
    state.capturingRealtime = true;
    camera.capture(REALTIME_MAX_SIDE, 0.8)
      .then((f) => {
        realtime.offer({ blob: f.blob, width: f.width, height: f.height, at: Date.now() });
      })
      .catch(() => {
        // No picture yet (camera warming up): the next tick tries again.
      })
      .finally(() => {
        state.capturingRealtime = false;
      });
  },
});

function renderRealtimeStatus() {
  const s = realtime.stats;
  const running = realtime.running;
  ui.rtToggle.textContent = running ? "Stop realtime" : "Start realtime";
  ui.rtToggle.setAttribute("aria-pressed", String(running));
  ui.rtStatus.dataset["inFlight"] = String(s.inFlight);
  ui.rtStatus.dataset["maxInFlight"] = String(s.maxInFlight);
  const paused = realtime.pausedForMs > 0 ? " · waiting for the server" : "";
  ui.rtStatus.textContent = running || s.sent > 0
    ? `${running ? "Running" : "Stopped"} · sent ${s.sent} · answered ${s.completed} · ` +
      `superseded ${s.superseded} · failed ${s.failed} · in flight ${s.inFlight}${paused}`
    : "Stopped.";
}

async function startRealtime() {
  if (realtime.running) return;
  state.request?.abort();
  if (!camera.active && !(await startCamera())) return;
  state.showCamera = true;
  renderStage();
  clearError();
  realtime.start();
  ticker.start(Number(ui.rtInterval.value) || 1000);
  renderCameraControls();
  setBusy(false);
  renderRealtimeStatus();
}

function stopRealtime() {
  ticker.stop();
  realtime.stop();
  renderCameraControls();
  setBusy(state.request !== null);
  renderRealtimeStatus();
}

ui.rtToggle.addEventListener("click", () => {
  if (realtime.running) stopRealtime();
  else void startRealtime();
});

ui.rtInterval.addEventListener("change", () => {
  if (ticker.running) ticker.start(Number(ui.rtInterval.value) || 1000);
});

// ---------------------------------------------------------------------------------------------
// Start

addEventListener("pagehide", () => {
  stopRealtime();
  state.request?.abort();
  camera.stop();
});

ui.question.value ||= DEFAULT_PROMPT;
ui.maxTokens.value = String(DEFAULT_MAX_TOKENS);
renderCameraControls();
renderStage();
renderHistory();
renderRealtimeStatus();
setBusy(false);
void pollHealth();
