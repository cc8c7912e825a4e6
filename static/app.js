// @ts-check
/**
 * The page: wires the camera, file choice, drag and drop, paste, the history strip, the
 * question form, the conversation (turns with thumbnail, question, streamed Markdown answer,
 * timings, copy), the server report, realtime mode (live view, latest answer, answer log) and
 * the health indicator. Plain ES modules, no build step; no inline scripts or styles (strict CSP).
 *
 * Send asks about what the image area shows: the live camera frame (captured at that moment)
 * while the camera is shown, otherwise the selected picture.
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
import { renderMarkdown } from "./js/markdown.js";
import { chatMessages } from "./js/conversation.js";
import { processingDefaultsFromInfo } from "./js/defaults.js";
import { initVideo } from "./js/video.js";

/** Names this page's realtime requests (X-Session-Id), so a new frame supersedes a stale one. */
const REALTIME_SESSION = crypto.randomUUID();

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
  sendHint: el("send-hint", HTMLElement),
  conversation: el("conversation", HTMLOListElement),
  conversationEmpty: el("conversation-empty", HTMLElement),
  newConversation: el("new-conversation", HTMLButtonElement),
  stageCaption: el("stage-caption", HTMLElement),
  reportEmpty: el("report-empty", HTMLElement),
  reportBody: el("report-body", HTMLElement),
  rtInterval: el("rt-interval", HTMLSelectElement),
  rtToggle: el("rt-toggle", HTMLButtonElement),
  rtStatus: el("rt-status", HTMLElement),
  realtime: el("realtime", HTMLElement),
  rtLatest: el("rt-latest", HTMLOutputElement),
  rtLatestTime: el("rt-latest-time", HTMLElement),
  rtDetail: el("rt-detail", HTMLSelectElement),
  rtDetailUsed: el("rt-detail-used", HTMLElement),
  rtTtft: el("rt-ttft", HTMLElement),
  rtLog: el("rt-log", HTMLOListElement),
  rtLogCount: el("rt-log-count", HTMLElement),
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
  /** @type {{ itemId: number, exchanges: { question: string, answer: string }[] } | null} */
  conversation: null,
  /** Realtime counters of earlier runs (the scheduler's own restart at zero on each start). */
  realtimeTotals: { sent: 0, completed: 0, superseded: 0, skipped: 0, failed: 0 },
  realtimeLogged: 0,
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  healthTimer: undefined,
  healthState: "checking",
  infoLoaded: false,
  processingDefaultsApplied: false,
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
  if (!state.processingDefaultsApplied) {
    // The toggles start from the server's configured image_processing defaults.
    const d = processingDefaultsFromInfo(info);
    ui.optSmartCrop.checked = d.smartCrop;
    ui.optNoise.checked = d.noiseReduction;
    ui.optColor.checked = d.colorBalance;
    state.processingDefaultsApplied = true;
  }
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
  // Realtime asks about the live camera: the stage shows it for as long as realtime runs,
  // whatever picture is chosen meanwhile (shown once realtime stops).
  if (camera.active && (state.showCamera || realtime.running)) mode = "camera";
  else if (selected) mode = "image";
  ui.stage.dataset["mode"] = mode;
  // The stage takes the shown picture's aspect ratio (a portrait photo is not letterboxed
  // into 16:9); CSSOM, not a style attribute, so a strict CSP allows it.
  const ratio = mode === "camera" && ui.video.videoWidth > 0
    ? ui.video.videoWidth / ui.video.videoHeight
    : mode === "image" && selected
    ? selected.width / selected.height
    : 16 / 9;
  ui.stage.style.setProperty("--stage-ratio", ratio.toFixed(4));
  ui.stageCaption.textContent = mode === "camera"
    ? "Live camera: Send asks about the frame shown at that moment."
    : mode === "image" && selected
    ? `Send asks about ${selected.name} (${selected.width}×${selected.height}).`
    : "";
  if (selected) {
    if (ui.preview.src !== selected.previewUrl) ui.preview.src = selected.previewUrl;
    ui.preview.alt = `Selected image: ${selected.name}, ${selected.width}×${selected.height}`;
  } else {
    ui.preview.removeAttribute("src");
    ui.preview.alt = "";
  }
  setBusy(state.request !== null);
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
  if (event.defaultPrevented) return; // The video section took it (a clip).
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
  ui.capture.textContent = on && !state.showCamera ? "Live view" : "Capture frame";
}

async function startCamera() {
  clearImageMessage();
  // Disabled meanwhile, the button drops the keyboard focus: it gets it back afterwards.
  const focused = document.activeElement === ui.cameraToggle;
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
    if (focused && document.activeElement === document.body) ui.cameraToggle.focus();
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

ui.video.addEventListener("loadedmetadata", renderStage);
ui.video.addEventListener("resize", renderStage);

ui.cameraToggle.addEventListener("click", () => {
  if (camera.active) stopCamera();
  else void startCamera();
});

ui.capture.addEventListener("click", async () => {
  if (camera.active && !state.showCamera) {
    // Showing a captured still: back to the live view.
    state.showCamera = true;
    renderCameraControls();
    renderStage();
    setBusy(state.request !== null);
    return;
  }
  try {
    // The stage then holds the captured still: Send asks about exactly that frame.
    await captureToHistory();
    state.showCamera = false;
    clearImageMessage();
  } catch (error) {
    showImageMessage(
      error instanceof CameraError ? error.message : "The frame could not be captured.",
    );
  } finally {
    renderCameraControls();
    renderStage();
    setBusy(state.request !== null);
  }
});

// ---------------------------------------------------------------------------------------------
// Asking

function maxTokens() {
  const n = positiveInt(ui.maxTokens.value);
  return n === null ? DEFAULT_MAX_TOKENS : Math.min(n, 4096);
}

/**
 * The chat request: the conversation so far (the image goes with its first question) and the
 * new question.
 * @param {{ image: string, exchanges: { question: string, answer: string }[],
 *   question: string, detail?: "low" | "high" }} turn
 * @param {number} tokens
 */
function buildRequest(turn, tokens) {
  const messages = chatMessages(turn);
  return {
    model: state.modelName,
    messages,
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

/**
 * Where one streamed answer is shown: a conversation turn (answer and its own stats) or the
 * realtime panel's latest answer (no stats).
 * @typedef {{ answer: HTMLElement, tokens: HTMLElement | null, rate: HTMLElement | null,
 *   ttft: HTMLElement | null, total: HTMLElement | null, text: string }} AnswerView
 */

/** Ids the latest turn carries (they move to each new turn). */
const LATEST_IDS = ["answer", "stat-tokens", "stat-rate", "stat-ttft", "stat-total"];

/**
 * @param {AnswerView} view
 * @param {string} text
 */
function setAnswer(view, text) {
  view.text = text;
  // renderMarkdown builds nodes with textContent: model text is never parsed as HTML.
  view.answer.replaceChildren(renderMarkdown(text));
}

/**
 * @param {AnswerView} view
 * @param {"idle" | "streaming" | "done" | "error" | "stopped"} s
 */
function setAnswerState(view, s) {
  view.answer.dataset["state"] = s;
  view.answer.setAttribute("aria-busy", String(s === "streaming"));
}

/** @param {AnswerView} view */
function resetStats(view) {
  for (const e of [view.tokens, view.rate, view.ttft, view.total]) if (e) e.textContent = "–";
}

/**
 * A new turn at the end of the conversation; it takes over the "latest" ids.
 * @param {HistoryItem} item
 * @param {string} question
 * @returns {AnswerView & { copy: HTMLButtonElement }}
 */
function createTurn(item, question) {
  for (const id of LATEST_IDS) document.getElementById(id)?.removeAttribute("id");
  const li = document.createElement("li");
  li.className = "turn";
  const head = document.createElement("div");
  head.className = "turn-head";
  const thumb = document.createElement("img");
  thumb.className = "turn-thumb";
  thumb.src = item.thumbUrl;
  thumb.width = 120;
  thumb.height = 90;
  thumb.alt = `The image asked about: ${item.name}`;
  const q = document.createElement("p");
  q.className = "turn-question";
  q.textContent = question;
  head.append(thumb, q);
  const answer = document.createElement("div");
  answer.className = "turn-answer answer-text";
  answer.id = "answer";
  answer.setAttribute("role", "region");
  answer.setAttribute("aria-label", `Answer to: ${question}`);
  const stats = document.createElement("dl");
  stats.className = "stats";
  stats.setAttribute("aria-label", "Answer statistics");
  /** @param {string} label @param {string} id */
  const stat = (label, id) => {
    const div = document.createElement("div");
    const dt = document.createElement("dt");
    dt.textContent = label;
    const dd = document.createElement("dd");
    dd.id = id;
    dd.textContent = "–";
    div.append(dt, dd);
    stats.append(div);
    return dd;
  };
  const tokens = stat("Tokens", "stat-tokens");
  const rate = stat("Speed", "stat-rate");
  const ttft = stat("First token", "stat-ttft");
  const total = stat("Total", "stat-total");
  const copy = document.createElement("button");
  copy.type = "button";
  copy.className = "copy";
  copy.textContent = "Copy answer";
  copy.disabled = true;
  const actions = document.createElement("div");
  actions.className = "turn-actions";
  actions.append(copy);
  li.append(head, answer, stats, actions);
  ui.conversation.append(li);
  ui.conversationEmpty.hidden = true;
  ui.newConversation.hidden = false;
  /** @type {AnswerView & { copy: HTMLButtonElement }} */
  const view = { answer, tokens, rate, ttft, total, text: "", copy };
  copy.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(view.text);
      copy.textContent = "Copied";
    } catch {
      copy.textContent = "Copy failed: select the text instead";
    }
    setTimeout(() => (copy.textContent = "Copy answer"), 2000);
  });
  li.scrollIntoView({ block: "nearest" });
  return view;
}

function startConversation(/** @type {number} */ itemId) {
  state.conversation = { itemId, exchanges: [] };
  ui.conversation.replaceChildren();
  ui.conversationEmpty.hidden = false;
  ui.newConversation.hidden = true;
}

ui.newConversation.addEventListener("click", () => {
  state.request?.abort();
  state.conversation = null;
  ui.conversation.replaceChildren();
  ui.conversationEmpty.hidden = false;
  ui.newConversation.hidden = true;
  ui.question.focus();
});

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
 * Runs one streamed request and shows it in `view`; resolves when it ends, rejects with
 * ApiError.
 * @param {ReturnType<typeof buildRequest>} body
 * @param {AbortSignal} signal
 * @param {AnswerView} view
 * @param {{ replaceOnFirstToken?: boolean, sessionId?: string }} [opts]
 */
async function runRequest(body, signal, view, opts = {}) {
  const t0 = performance.now();
  /** @type {number | null} */
  let tFirst = null;
  let pieces = 0;
  let text = "";
  if (!opts.replaceOnFirstToken) {
    setAnswer(view, "");
    resetStats(view);
    clearReport("Waiting for the server…");
  }
  setAnswerState(view, "streaming");
  const updateLive = () => {
    const now = performance.now();
    if (view.tokens) view.tokens.textContent = String(pieces);
    if (tFirst !== null) {
      if (view.ttft) view.ttft.textContent = formatMs(tFirst - t0);
      const secs = (now - tFirst) / 1000;
      if (view.rate && pieces > 1 && secs > 0) {
        view.rate.textContent = formatRate((pieces - 1) / secs);
      }
    }
    if (view.total) view.total.textContent = formatMs(now - t0);
  };
  try {
    const result = await streamChat(body, {
      signal,
      idleTimeoutMs,
      sessionId: opts.sessionId,
      onDelta(piece) {
        if (tFirst === null) {
          tFirst = performance.now();
          if (opts.replaceOnFirstToken) resetStats(view);
        }
        pieces++;
        text += piece;
        setAnswer(view, text);
        updateLive();
      },
      onFinish(final) {
        renderReport(final.timings, final.imageReports, body.image_processing);
        const rate = final.timings?.["completion_tokens_per_second"];
        if (view.rate && typeof rate === "number" && rate > 0) {
          view.rate.textContent = formatRate(rate);
        }
      },
      onUsage(usage) {
        if (view.tokens && typeof usage.completion_tokens === "number") {
          view.tokens.textContent = String(usage.completion_tokens);
        }
      },
    });
    if (view.total) view.total.textContent = formatMs(performance.now() - t0);
    if (tFirst === null) {
      if (view.ttft) view.ttft.textContent = "–";
      if (opts.replaceOnFirstToken) setAnswer(view, "");
    }
    if (view.tokens && result.usage?.completion_tokens !== undefined) {
      view.tokens.textContent = String(result.usage.completion_tokens);
    }
    if (result.text === "") setAnswer(view, "(The model returned an empty answer.)");
    view.text = result.text;
    setAnswerState(view, "done");
    return result;
  } catch (error) {
    setAnswerState(
      view,
      error instanceof ApiError && error.kind === "aborted" ? "stopped" : "error",
    );
    if (!opts.replaceOnFirstToken && ui.reportBody.childElementCount === 0) {
      clearReport("No report: the request did not complete.");
    }
    throw error;
  }
}

/**
 * Focuses `button`, or the question when it is disabled (a disabled button cannot hold focus).
 * @param {HTMLButtonElement} button
 */
function focusOrQuestion(button) {
  (button.disabled ? ui.question : button).focus();
}

function setBusy(/** @type {boolean} */ busy) {
  // A focused button that gets disabled drops focus to the page: hand it on to the control
  // that takes over (Send and Stop to each other; the question when neither is enabled).
  // Not the question first: focusing a text box on a phone pops its keyboard up.
  const focused = document.activeElement;
  ui.send.disabled = busy || realtime.running;
  ui.stop.disabled = !busy;
  if (focused === ui.send && ui.send.disabled) focusOrQuestion(ui.stop);
  else if (focused === ui.stop && ui.stop.disabled) focusOrQuestion(ui.send);
  ui.sendHint.textContent = realtime.running
    ? "Send is off while realtime runs: realtime asks your question about each new camera " +
      "frame. Stop realtime to ask about one picture."
    : busy
    ? "Answering… Stop ends the answer here."
    : camera.active && state.showCamera
    ? "Send asks about the camera frame shown when you press it."
    : "Send asks about the picture in the image area.";
}

/** Captures the live frame into the history (it is what Send asks about). */
async function captureToHistory() {
  const frame = await camera.capture();
  const time = new Date().toLocaleTimeString([], { hour12: false });
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
  return selectedItem();
}

async function ask() {
  if (state.request || realtime.running) return;
  /** @type {HistoryItem | null} */
  let item;
  if (camera.active && state.showCamera) {
    try {
      item = await captureToHistory();
    } catch (error) {
      showImageMessage(
        error instanceof CameraError ? error.message : "The frame could not be captured.",
      );
      return;
    }
  } else {
    item = selectedItem();
  }
  if (!item) {
    showImageMessage("Choose, capture, drop or paste an image first.");
    return;
  }
  clearError();
  clearImageMessage();
  const question = ui.question.value.trim() || DEFAULT_PROMPT;
  if (!state.conversation || state.conversation.itemId !== item.id) startConversation(item.id);
  const conversation = /** @type {NonNullable<typeof state.conversation>} */ (
    state.conversation
  );
  const controller = new AbortController();
  state.request = controller;
  setBusy(true);
  const view = createTurn(item, question);
  try {
    item.uploadUrl ??= await toUploadUrl(item.blob, item.mime);
    const body = buildRequest(
      { image: item.uploadUrl, exchanges: conversation.exchanges, question },
      maxTokens(),
    );
    const result = await runRequest(body, controller.signal, view);
    conversation.exchanges.push({ question, answer: result.text });
    view.copy.disabled = false;
  } catch (error) {
    view.copy.disabled = view.text === "";
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
  // Hiding the error takes the focused Retry button away: keyboard focus goes to Send (which
  // hands it to Stop while the retried request runs).
  if (document.activeElement === ui.retry) focusOrQuestion(ui.send);
  clearError();
  action?.();
});

// ---------------------------------------------------------------------------------------------
// Realtime

/** @typedef {{ blob: Blob, width: number, height: number, at: number }} Frame */

/** @type {AnswerView} */
const realtimeView = {
  answer: ui.rtLatest,
  tokens: null,
  rate: null,
  ttft: ui.rtTtft,
  total: null,
  text: "",
};

const RT_LOG_LIMIT = 100;

/**
 * One line of the running log: when the frame was taken, the question, the answer.
 * @param {number} at
 * @param {string} question
 * @param {string} answer
 */
function logRealtimeAnswer(at, question, answer) {
  const time = new Date(at).toLocaleTimeString([], { hour12: false });
  ui.rtLatestTime.textContent = `(frame of ${time})`;
  const li = document.createElement("li");
  const stamp = document.createElement("time");
  stamp.dateTime = new Date(at).toISOString();
  stamp.textContent = time;
  const q = document.createElement("span");
  q.className = "rt-log-question";
  q.textContent = question;
  const a = document.createElement("span");
  a.className = "rt-log-answer";
  a.textContent = answer || "(empty answer)";
  li.append(stamp, q, a);
  ui.rtLog.prepend(li);
  while (ui.rtLog.childElementCount > RT_LOG_LIMIT) ui.rtLog.lastElementChild?.remove();
  state.realtimeLogged++;
  ui.rtLogCount.textContent = String(state.realtimeLogged);
}

/** @type {ReturnType<typeof createLatestFrameScheduler<Frame>>} */
const realtime = createLatestFrameScheduler({
  /** @param {Frame} frame @param {AbortSignal} signal */
  async send(frame, signal) {
    const url = await toUploadUrl(frame.blob, "image/jpeg");
    if (signal.aborted) return;
    const question = ui.question.value.trim() || DEFAULT_PROMPT;
    // One encoder pass per frame unless the user asks for all tiles (the server's default
    // for a session's frames is one tile too; saying it keeps the choice visible).
    const detail = ui.rtDetail.value === "high" ? "high" : "low";
    const body = buildRequest(
      { image: url, exchanges: [], question, detail },
      Math.min(maxTokens(), REALTIME_MAX_TOKENS),
    );
    ui.rtDetailUsed.textContent = detail === "low" ? "one tile" : "all tiles";
    // One session per page: the server drops a stale frame's request when a newer one arrives.
    const result = await runRequest(body, signal, realtimeView, {
      replaceOnFirstToken: true,
      sessionId: REALTIME_SESSION,
    });
    if (signal.aborted) return;
    logRealtimeAnswer(frame.at, question, result.text);
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

/** Counters since the page opened (stopping and starting again does not reset them). */
function realtimeCounts() {
  const s = realtime.stats, t = state.realtimeTotals;
  return {
    sent: t.sent + s.sent,
    completed: t.completed + s.completed,
    skipped: t.superseded + t.skipped + s.superseded + s.skipped,
    failed: t.failed + s.failed,
  };
}

function renderRealtimeStatus() {
  const s = realtime.stats;
  const running = realtime.running;
  ui.rtToggle.textContent = running ? "Stop realtime" : "Start realtime";
  ui.rtToggle.setAttribute("aria-pressed", String(running));
  ui.realtime.dataset["running"] = String(running);
  document.body.dataset["realtime"] = String(running);
  ui.rtStatus.dataset["inFlight"] = String(s.inFlight);
  ui.rtStatus.dataset["maxInFlight"] = String(s.maxInFlight);
  const c = realtimeCounts();
  const paused = realtime.pausedForMs > 0 ? " Waiting: the server asked for a pause." : "";
  const now = running
    ? s.inFlight > 0 ? "Running: the server is answering a frame." : "Running."
    : c.sent > 0
    ? "Stopped."
    : "Not started.";
  ui.rtStatus.textContent = c.sent > 0 || running
    ? `${now}${paused} Frames asked about: ${c.sent}. Answered: ${c.completed}. ` +
      `Skipped because a newer frame came: ${c.skipped}. Failed: ${c.failed}.`
    : now;
}

async function startRealtime() {
  if (realtime.running) return;
  state.request?.abort();
  if (!camera.active && !(await startCamera())) return;
  state.showCamera = true;
  renderStage();
  clearError();
  const s = realtime.stats, t = state.realtimeTotals;
  t.sent += s.sent;
  t.completed += s.completed;
  t.superseded += s.superseded;
  t.skipped += s.skipped;
  t.failed += s.failed;
  realtime.start();
  ticker.start(Number(ui.rtInterval.value) || 1000);
  renderCameraControls();
  setBusy(false);
  renderRealtimeStatus();
  // Live view, controls and latest answer together on screen (a phone included).
  ui.stage.scrollIntoView({ block: "start", behavior: "instant" });
}

function stopRealtime() {
  ticker.stop();
  realtime.stop();
  renderCameraControls();
  renderStage();
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
initVideo();
