/**
 * Images in the request path: a URL from a message part → bytes (data: URL, or http(s) from an
 * operator allow-list) → the image pipeline → the engine's RgbImage plus a report for the
 * response's `image_reports`.
 *
 * The pipeline itself lives in src/image/ and is reached only through the `ImageProcessor`
 * interface; `src/http/image_adapter.ts` is the one place that binds it.
 *
 * @module
 */
import type { ImageTiling, RgbImage } from "../engine/mod.ts";
import type { RemoteImagesConfig } from "../config/service_config.ts";
import { DataUrlError, ImageError } from "../image/errors.ts";
import { type JsonWithMedia, lookupMediaRef } from "../image/json_media.ts";
import { parseDataUrl } from "../image/validate.ts";
import { ApiError, fromImageError } from "./errors.ts";
import { readCapped } from "./read_capped.ts";
import { assertPublicHost, RemoteHostRefused } from "./remote_guard.ts";

/** One image's report, snake_case, as the API returns it. */
export interface ImageReport {
  readonly format: string;
  readonly original: { readonly width: number; readonly height: number };
  readonly orientation: number;
  readonly crop_box:
    | { readonly x: number; readonly y: number; readonly width: number; readonly height: number }
    | null;
  readonly processed: { readonly width: number; readonly height: number };
  /** The tile grid at the model's tile side; null when the caller gave none (describe). */
  readonly tiles: { readonly cols: number; readonly rows: number; readonly passes: number } | null;
  readonly stages_ms: Readonly<Record<string, number>>;
  readonly [extra: string]: unknown;
}

export interface PreparedImage {
  readonly image: RgbImage;
  readonly report: ImageReport;
}

export interface ProcessImageOptions {
  /**
   * How the model tiles an image (the engine's `info.tiling`) for the report's tile estimate;
   * null: no estimate (`tiles: null`).
   */
  readonly tiling: ImageTiling | null;
  readonly signal?: AbortSignal;
}

/** What the HTTP layer needs from the image pipeline. */
export interface ImageProcessor {
  /**
   * Validates a per-request `image_processing` override against the configured defaults and
   * returns the effective config (opaque here). Throws ImageConfigError (with `key`).
   */
  resolveConfig(override: Readonly<Record<string, unknown>> | null): unknown;
  /** Validates, decodes and preprocesses one image. Throws ImageError subclasses. */
  process(
    bytes: Uint8Array,
    declaredMime: string | null,
    config: unknown,
    opts: ProcessImageOptions,
  ): Promise<PreparedImage>;
  /**
   * Parses a JSON request body off the main thread, its large inline media (data: URLs)
   * decoded to bytes. Throws JsonBodyError (src/image/json_media.ts).
   */
  parseJsonBody(bytes: Uint8Array, signal?: AbortSignal): Promise<JsonWithMedia>;
}

/** Does `host` match an allow-list entry (exact, or `*.example.com` for subdomains)? */
export function hostAllowed(host: string, allowHosts: readonly string[]): boolean {
  const h = host.toLowerCase();
  return allowHosts.some((a) =>
    a.startsWith("*.") ? h.endsWith(a.slice(1)) && h.length > a.length - 1 : h === a
  );
}

export interface LoadedBytes {
  readonly bytes: Uint8Array;
  readonly mime: string | null;
}

/**
 * Bytes of one image URL. data: URLs always; bare base64 (no scheme) is accepted too; http(s)
 * only for allow-listed hosts, with a size cap, a time cap and redirects followed by hand (at
 * most 3, only to allow-listed hosts that are not private addresses).
 */
export async function loadImageBytes(
  url: string,
  param: string,
  remote: RemoteImagesConfig,
  signal?: AbortSignal,
  body?: JsonWithMedia,
): Promise<LoadedBytes> {
  // Decoded while the body was parsed in a worker (read_body.ts).
  const inline = body ? lookupMediaRef(body, url) : undefined;
  if (inline !== undefined) {
    if ("error" in inline) throw fromImageError(new DataUrlError(inline.error), param);
    return { bytes: inline.bytes, mime: inline.mime || null };
  }
  const trimmed = url.trim();
  if (/^data:/i.test(trimmed)) {
    try {
      const { mime, bytes } = parseDataUrl(trimmed);
      return { bytes, mime: mime || null };
    } catch (e) {
      if (e instanceof ImageError) throw fromImageError(e, param);
      throw e;
    }
  }
  if (/^https?:\/\//i.test(trimmed)) return await fetchRemote(trimmed, param, remote, signal);
  if (/^[a-z][a-z0-9+.-]*:/i.test(trimmed)) {
    throw new ApiError(
      400,
      `${param}: only data: URLs (and allow-listed http(s) URLs) are accepted`,
      {
        param,
        code: "invalid_image_url",
      },
    );
  }
  // A bare base64 payload without the data: prefix.
  try {
    const { bytes } = parseDataUrl(`data:;base64,${trimmed}`);
    return { bytes, mime: null };
  } catch (e) {
    if (e instanceof ImageError) throw fromImageError(e, param);
    throw e;
  }
}

async function fetchRemote(
  url: string,
  param: string,
  remote: RemoteImagesConfig,
  outer?: AbortSignal,
): Promise<LoadedBytes> {
  if (remote.allowHosts.length === 0) {
    throw new ApiError(
      400,
      // Images and video_url parts share this loader: the message names neither kind alone.
      `${param}: http(s) media URLs are disabled on this server; send the media inline as a data: URL (data:image/jpeg;base64,... or data:video/mp4;base64,...)`,
      { param, code: "remote_images_disabled" },
    );
  }
  const timeout = AbortSignal.timeout(remote.timeoutMs);
  const signal = outer ? AbortSignal.any([outer, timeout]) : timeout;
  let current = new URL(url);
  if (!hostAllowed(current.hostname, remote.allowHosts)) {
    throw new ApiError(400, `${param}: host ${current.hostname} is not on the image allow-list`, {
      param,
      code: "image_host_not_allowed",
    });
  }
  await checkAddresses(current.hostname, param, remote);
  try {
    for (let hop = 0; hop <= 3; hop++) {
      const res = await fetch(current, { redirect: "manual", signal });
      if (res.status >= 300 && res.status < 400) {
        await res.body?.cancel();
        const loc = res.headers.get("location");
        if (!loc || hop === 3) break;
        const next = new URL(loc, current);
        if (
          !/^https?:$/.test(next.protocol) ||
          !hostAllowed(next.hostname, remote.allowHosts)
        ) {
          throw new ApiError(
            400,
            `${param}: the image URL redirects to a host that is not allowed`,
            {
              param,
              code: "image_redirect_refused",
            },
          );
        }
        await checkAddresses(next.hostname, param, remote);
        current = next;
        continue;
      }
      if (!res.ok) {
        await res.body?.cancel();
        throw new ApiError(400, `${param}: fetching the image failed with HTTP ${res.status}`, {
          param,
          code: "image_fetch_failed",
        });
      }
      const declared = Number(res.headers.get("content-length") ?? "NaN");
      if (Number.isFinite(declared) && declared > remote.maxBytes) {
        await res.body?.cancel();
        throw tooLarge(param, remote.maxBytes);
      }
      const bytes = res.body
        ? await readCapped(res.body, remote.maxBytes, () => tooLarge(param, remote.maxBytes))
        : new Uint8Array(0);
      return { bytes, mime: res.headers.get("content-type") };
    }
    throw new ApiError(400, `${param}: too many redirects`, { param, code: "image_fetch_failed" });
  } catch (e) {
    if (e instanceof ApiError) throw e;
    if (timeout.aborted) {
      throw new ApiError(
        504,
        `${param}: fetching the image took longer than ${remote.timeoutMs} ms`,
        {
          param,
          code: "image_fetch_timeout",
        },
      );
    }
    if (outer?.aborted) throw e;
    if (e instanceof Deno.errors.NotCapable || e instanceof Deno.errors.PermissionDenied) {
      throw new ApiError(
        400,
        `${param}: the server process has no network permission for ${current.host}; the operator must add it to --allow-net`,
        { param, code: "image_fetch_failed", cause: e },
      );
    }
    throw new ApiError(400, `${param}: fetching the image failed: ${(e as Error).message}`, {
      param,
      code: "image_fetch_failed",
      cause: e,
    });
  }
}

/**
 * Every address the host resolves to must be public, unless the operator listed that exact IP
 * literal (an internal image server they chose). Names are resolved, so an allow-listed name
 * that points inside the network is refused.
 */
async function checkAddresses(
  hostname: string,
  param: string,
  remote: RemoteImagesConfig,
): Promise<void> {
  const bare = hostname.toLowerCase().replace(/^\[|\]$/g, "");
  const literal = /^\d+\.\d+\.\d+\.\d+$/.test(bare) || bare.includes(":");
  if (literal && remote.allowHosts.some((h) => h.toLowerCase().replace(/^\[|\]$/g, "") === bare)) {
    return;
  }
  try {
    await assertPublicHost(hostname, remote.resolve);
  } catch (e) {
    if (!(e instanceof RemoteHostRefused)) throw e;
    throw new ApiError(400, `${param}: ${e.message}`, {
      param,
      code: "image_host_not_allowed",
      cause: e,
    });
  }
}

function tooLarge(param: string, max: number): ApiError {
  return new ApiError(413, `${param}: the image is larger than ${max} bytes`, {
    param,
    code: "image_too_large",
  });
}
