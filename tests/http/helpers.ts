/** Shared helpers for the HTTP tests. */
import { encodeJpeg, encodePng } from "../../src/image/codecs.ts";
import { defaultServiceConfig, type ServiceConfig } from "../../src/config/service_config.ts";
import { createApp, type RequestTracker } from "../../src/http/app.ts";
import { EngineHolder } from "../../src/http/engine_state.ts";
import { createImageProcessor } from "../../src/http/image_adapter.ts";
import type { Engine } from "../../src/engine/types.ts";

export const REPO = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");

function gradient(w: number, h: number): { width: number; height: number; data: Uint8Array } {
  const data = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = (y * w + x) * 3;
      data[i] = (x * 255) / w;
      data[i + 1] = (y * 255) / h;
      data[i + 2] = 128;
    }
  }
  return { width: w, height: h, data };
}

export function b64(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(s);
}

export async function pngDataUrl(w = 64, h = 48): Promise<string> {
  return `data:image/png;base64,${b64(await encodePng(gradient(w, h)))}`;
}

export async function jpegDataUrl(w = 64, h = 48): Promise<string> {
  return `data:image/jpeg;base64,${b64(await encodeJpeg(gradient(w, h), 90))}`;
}

export function testConfig(over: Partial<ServiceConfig> = {}): ServiceConfig {
  return { ...defaultServiceConfig(), logDir: "", ...over };
}

export function makeApp(
  engine: Engine | EngineHolder,
  over: Partial<ServiceConfig> = {},
  tracker?: RequestTracker,
) {
  const config = testConfig(over);
  const holder = engine instanceof EngineHolder ? engine : EngineHolder.ready(engine);
  const app = createApp({
    engine: holder,
    config,
    images: createImageProcessor({ defaults: config.imageProcessing }),
    tracker,
  });
  return { app, holder, config };
}

export function chatBody(extra: Record<string, unknown> = {}, content: unknown = "Hi"): string {
  return JSON.stringify({
    model: "smolvlm",
    messages: [{ role: "user", content }],
    ...extra,
  });
}

export const JSON_HEADERS = { "content-type": "application/json" };

/** A parsed JSON event, loosely typed for assertions. */
// deno-lint-ignore no-explicit-any
export type Ev = Record<string, any>;

/** Parses an SSE body into its `data:` payloads (JSON parsed, "[DONE]" kept as a string). */
export function parseSse(text: string): unknown[] {
  return text.split("\n\n").filter((e) => e.startsWith("data: ")).map((e) => {
    const d = e.slice(6);
    return d === "[DONE]" ? d : JSON.parse(d);
  });
}

/** The value of one sample line (`name{labels} value`) of a /metrics text, 0 when absent. */
export function metricSample(text: string, series: string): number {
  for (const line of text.split("\n")) {
    if (line.startsWith(series + " ")) return Number(line.slice(series.length + 1));
  }
  return 0;
}
