/**
 * A JSON request body whose large inline media (data: URLs, bare base64) are decoded to bytes
 * while it is parsed, so a 12 MP photo's ~5 MB of base64 costs the main thread nothing: the
 * image workers run this (UTF-8 check, JSON.parse, base64) and hand back a small value in which
 * each large `url` string is replaced by a reference into a table of byte arrays (transferred,
 * not copied). References carry a per-request nonce, so a client cannot forge one.
 *
 * @module
 */
import { DataUrlError } from "./errors.ts";
import { parseDataUrl } from "./validate.ts";

/** One decoded inline media string: its bytes, or why its payload could not be decoded. */
export type MediaEntry =
  | { readonly mime: string; readonly bytes: Uint8Array }
  | { readonly error: string };

export interface JsonWithMedia {
  /** The parsed JSON, large `url` strings replaced by `mediaRef(nonce, index)`. */
  readonly value: unknown;
  readonly media: readonly MediaEntry[];
  readonly nonce: string;
}

/** Why a body is not JSON; the HTTP layer maps each kind to its 400. */
export type JsonBodyFault = "utf8" | "json" | "empty" | "complex";

export class JsonBodyError extends Error {
  constructor(
    readonly fault: JsonBodyFault,
    message: string,
    /** For a body nested too deeply: the keys and indexes down to where it went too deep. */
    readonly path: readonly (string | number)[] = [],
  ) {
    super(message);
    this.name = "JsonBodyError";
  }
}

const REF_PREFIX = "media-ref:";

/** Deeper than any chat request (a JSON schema included) needs; cloning stays shallow. */
export const MAX_DEPTH = 128;

/**
 * More JSON values (objects, arrays and their members) than any chat request holds (2,048
 * parts, a 64 KB schema). Each one costs the main thread when the value is cloned back from
 * the worker and validated: 900,000 parts held it for 1.2 s, an unknown field of 2.5 million
 * small objects for 2.5 s.
 */
export const MAX_VALUES = 100_000;

export function mediaRef(nonce: string, index: number): string {
  return `${REF_PREFIX}${nonce}:${index}`;
}

/** The entry a `url` string refers to, or undefined when it is not this body's reference. */
export function lookupMediaRef(body: JsonWithMedia, url: string): MediaEntry | undefined {
  const prefix = `${REF_PREFIX}${body.nonce}:`;
  if (!url.startsWith(prefix)) return undefined;
  const index = Number(url.slice(prefix.length));
  return Number.isInteger(index) ? body.media[index] : undefined;
}

/**
 * Parses `bytes` as UTF-8 JSON; every string under a `url` key at least `minLength` long that
 * is a data: URL or bare base64 becomes a reference into the media table.
 * Throws JsonBodyError.
 */
export function parseJsonWithMedia(
  bytes: Uint8Array,
  nonce: string,
  minLength: number,
): JsonWithMedia {
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new JsonBodyError("utf8", "request body is not valid UTF-8");
  }
  if (text.trim() === "") throw new JsonBodyError("empty", "request body is empty; send JSON");
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    if (e instanceof SyntaxError) {
      throw new JsonBodyError("json", "Malformed JSON in request body");
    }
    if (e instanceof RangeError) {
      throw new JsonBodyError("json", "request body is nested too deeply");
    }
    throw e;
  }
  const media: MediaEntry[] = [];
  // An explicit stack, not recursion: a hostile body may nest deeply, and a value that nests
  // past MAX_DEPTH is refused here (structured cloning and validation recurse).
  const stack: Visit[] = [{ node: value, depth: 0, parent: null, key: "", field: null }];
  let values = 1;
  // Values under each top-level field: a body over the limit is blamed on its biggest field,
  // not on wherever the running count happened to cross it.
  const perField = new Map<string | number, number>();
  while (stack.length > 0) {
    const visit = stack.pop()!;
    const { node, depth } = visit;
    if (typeof node !== "object" || node === null) continue;
    if (depth >= MAX_DEPTH) {
      throw new JsonBodyError(
        "json",
        `request body nests deeper than ${MAX_DEPTH} levels`,
        pathOf(visit),
      );
    }
    const count = Array.isArray(node) ? node.length : Object.keys(node).length;
    values += count;
    const { field } = visit;
    if (field !== null) perField.set(field, (perField.get(field) ?? 0) + count);
    if (values > MAX_VALUES) {
      const [biggest] = [...perField].reduce((a, b) => (b[1] > a[1] ? b : a), ["", -1]);
      throw new JsonBodyError(
        "complex",
        `request body holds more than ${MAX_VALUES} JSON values`,
        perField.size > 0 ? [biggest] : [],
      );
    }
    if (Array.isArray(node)) {
      node.forEach((item, key) => {
        if (typeof item === "object" && item !== null) {
          stack.push({ node: item, depth: depth + 1, parent: visit, key, field: field ?? key });
        }
      });
      continue;
    }
    const record = node as Record<string, unknown>;
    for (const key of Object.keys(record)) {
      const v = record[key];
      if (typeof v === "object" && v !== null) {
        stack.push({ node: v, depth: depth + 1, parent: visit, key, field: field ?? key });
      } else if (key === "url" && typeof v === "string" && v.length >= minLength) {
        const entry = inlineMedia(v);
        if (entry) {
          media.push(entry);
          record[key] = mediaRef(nonce, media.length - 1);
        }
      }
    }
  }
  return { value, media, nonce };
}

interface Visit {
  readonly node: unknown;
  readonly depth: number;
  readonly parent: Visit | null;
  readonly key: string | number;
  /** The top-level field the node is under; null for the body itself. */
  readonly field: string | number | null;
}

function pathOf(visit: Visit): (string | number)[] {
  const path: (string | number)[] = [];
  for (let v: Visit | null = visit; v?.parent; v = v.parent) path.push(v.key);
  return path.reverse();
}

/** A data: URL or bare base64 decoded (or why not); null for anything else (http URLs, prose). */
function inlineMedia(v: string): MediaEntry | null {
  const isData = /^data:/i.test(v);
  // Bare base64 (no scheme) is an image only when it is all base64; anything else stays.
  if (!isData && !/^\s*[A-Za-z0-9+/_-]+=*\s*$/.test(v)) return null;
  return decodeMedia(isData ? v : `data:;base64,${v.trim()}`);
}

function decodeMedia(url: string): MediaEntry {
  try {
    const { mime, bytes } = parseDataUrl(url.trim());
    return { mime, bytes };
  } catch (e) {
    if (e instanceof DataUrlError) return { error: e.message };
    throw e;
  }
}
