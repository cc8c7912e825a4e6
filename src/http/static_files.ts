/**
 * Static files from one root directory, with safe path handling: the raw (still
 * percent-encoded) path is decoded once, and anything with a `..` or `.` segment, a backslash,
 * a NUL or a control character is refused before the file system is touched; the resolved real
 * path (symlinks followed) must still lie inside the root. Deno's --allow-read is the second
 * wall behind this one. Hand-written rather than hono/deno's serveStatic, which does not check
 * the real path of a symlink against the root.
 *
 * @module
 */

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  html: "text/html; charset=utf-8",
  htm: "text/html; charset=utf-8",
  js: "text/javascript; charset=utf-8",
  mjs: "text/javascript; charset=utf-8",
  css: "text/css; charset=utf-8",
  json: "application/json; charset=utf-8",
  map: "application/json; charset=utf-8",
  svg: "image/svg+xml",
  png: "image/png",
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  gif: "image/gif",
  webp: "image/webp",
  ico: "image/x-icon",
  txt: "text/plain; charset=utf-8",
  woff: "font/woff",
  woff2: "font/woff2",
  wasm: "application/wasm",
};

/** Why a path was refused (for tests and logs). */
export type StaticRefusal = "bad_encoding" | "traversal" | "bad_char" | "outside_root";

/**
 * Turns a raw URL path into safe path segments, or a refusal. `rawPath` is the path as sent
 * (percent-encoded), e.g. from `new URL(req.url).pathname` — which has already removed literal
 * `..` segments, so encoded ones are the ones to catch here.
 */
export function safeSegments(rawPath: string): string[] | StaticRefusal {
  let decoded: string;
  try {
    decoded = decodeURIComponent(rawPath);
  } catch {
    return "bad_encoding";
  }
  // deno-lint-ignore no-control-regex
  if (/[\x00-\x1f\x7f\\]/.test(decoded)) return "bad_char";
  const segments = decoded.split("/").filter((s) => s.length > 0);
  for (const s of segments) {
    if (s === ".." || s === "." || s.includes("..")) return "traversal";
    if (s.includes("%")) return "bad_encoding"; // double-encoded
  }
  return segments;
}

export interface StaticOptions {
  /** Absolute path of the directory to serve. */
  readonly root: string;
  /** File served for `/` and directories. */
  readonly index?: string;
}

/** Serves GET/HEAD for static files; returns null when nothing matches (the caller 404s). */
export async function serveStatic(req: Request, opts: StaticOptions): Promise<Response | null> {
  if (req.method !== "GET" && req.method !== "HEAD") return null;
  const rawPath = rawPathOf(req.url);
  const segments = safeSegments(rawPath);
  if (typeof segments === "string") return null;
  const index = opts.index ?? "index.html";
  let realRoot: string;
  try {
    realRoot = await Deno.realPath(opts.root);
  } catch {
    return null;
  }
  let path = [realRoot, ...segments].join("/");
  let info: Deno.FileInfo;
  try {
    const real = await Deno.realPath(path);
    if (real !== realRoot && !real.startsWith(realRoot + "/")) return null;
    path = real;
    info = await Deno.stat(path);
    if (info.isDirectory) {
      path = `${path}/${index}`;
      const realIndex = await Deno.realPath(path);
      if (!realIndex.startsWith(realRoot + "/")) return null;
      path = realIndex;
      info = await Deno.stat(path);
    }
    if (!info.isFile) return null;
  } catch {
    return null;
  }
  const ext = path.slice(path.lastIndexOf(".") + 1).toLowerCase();
  const headers = new Headers({
    "content-type": CONTENT_TYPES[ext] ?? "application/octet-stream",
    "content-length": String(info.size),
    "x-content-type-options": "nosniff",
    "cache-control": ext === "html" ? "no-cache" : "public, max-age=300",
  });
  if (info.mtime) headers.set("last-modified", info.mtime.toUTCString());
  if (req.method === "HEAD") return new Response(null, { status: 200, headers });
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true });
  } catch {
    return null;
  }
  return new Response(file.readable, { status: 200, headers });
}

/** A file carried in the module graph (the single binary's frontend). */
export interface EmbeddedStaticFile {
  readonly body: string;
  readonly type: string;
}

let embeddedFiles: Readonly<Record<string, EmbeddedStaticFile>> | null = null;

/**
 * Serve the page from `files` (URL path → file) instead of a directory, for the rest of the
 * process: the single binary (binary.ts) carries static/ in its module graph and reads no
 * directory.
 */
export function serveEmbeddedStatic(files: Readonly<Record<string, EmbeddedStaticFile>>): void {
  embeddedFiles = files;
}

/** The embedded files when serveEmbeddedStatic() was called, else null. */
export function embeddedStatic(): Readonly<Record<string, EmbeddedStaticFile>> | null {
  return embeddedFiles;
}

/** GET/HEAD from an embedded table (exact paths only; `/` is index.html); null when absent. */
export function serveEmbedded(
  req: Request,
  files: Readonly<Record<string, EmbeddedStaticFile>>,
): Response | null {
  if (req.method !== "GET" && req.method !== "HEAD") return null;
  const raw = rawPathOf(req.url);
  const path = raw === "/" ? "/index.html" : raw;
  const file = Object.hasOwn(files, path) ? files[path] : undefined;
  if (!file) return null;
  const body = new TextEncoder().encode(file.body);
  const headers = new Headers({
    "content-type": file.type,
    "content-length": String(body.byteLength),
    "x-content-type-options": "nosniff",
    "cache-control": file.type.startsWith("text/html") ? "no-cache" : "public, max-age=300",
  });
  return new Response(req.method === "HEAD" ? null : body, { status: 200, headers });
}

/** The path part of a URL exactly as sent (no decoding). */
export function rawPathOf(url: string): string {
  const afterScheme = url.indexOf("//");
  const start = url.indexOf("/", afterScheme >= 0 ? afterScheme + 2 : 0);
  if (start < 0) return "/";
  let end = url.length;
  const q = url.indexOf("?", start);
  const h = url.indexOf("#", start);
  if (q >= 0) end = q;
  if (h >= 0 && h < end) end = h;
  return url.slice(start, end);
}
