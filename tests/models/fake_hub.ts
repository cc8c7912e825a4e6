/**
 * A local HTTP server that answers like huggingface.co for model downloads: the tree API
 * (`/api/models/<repo>/tree/<rev>`), `resolve/<rev>/<file>` with X-Repo-Commit, X-Linked-Etag
 * (the SHA-256), X-Linked-Size and a 302 to a "CDN" path on the same server, which serves the
 * bytes with Range support. Knobs simulate an interrupted transfer and a corrupted one.
 */
import { createHash } from "node:crypto";

export interface FakeHubFile {
  readonly path: string;
  readonly bytes: Uint8Array;
}

export interface FakeHubOptions {
  readonly repo: string;
  readonly commit: string;
  readonly files: readonly FakeHubFile[];
  /** Required bearer token (401 without it). */
  readonly token?: string;
}

export interface FakeHub extends AsyncDisposable {
  readonly endpoint: string;
  /** Requests seen, as `METHOD path [range]`. */
  readonly log: string[];
  /** Close the connection after this many body bytes of the next CDN response. */
  cutAfter: number | null;
  /** Flip a byte in served bodies (the published SHA-256 stays that of the real bytes). */
  corrupt: boolean;
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

export function startFakeHub(opts: FakeHubOptions): FakeHub {
  const log: string[] = [];
  const byPath = new Map(opts.files.map((f) => [f.path, f]));
  const state = { cutAfter: null as number | null, corrupt: false };
  // The CDN is another origin, as on the real hub: the token must not follow the redirect.
  const cdnServer = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    (req) => handle(req),
  );
  const cdnOrigin = `http://127.0.0.1:${(cdnServer.addr as Deno.NetAddr).port}`;
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    (req) => handle(req),
  );
  function handle(req: Request): Response {
    const url = new URL(req.url);
    const range = req.headers.get("Range");
    log.push(`${req.method} ${url.pathname}${range ? ` ${range}` : ""}`);
    const guarded = url.pathname.startsWith("/api/") || url.pathname.includes("/resolve/");
    if (opts.token && guarded && req.headers.get("Authorization") !== `Bearer ${opts.token}`) {
      return new Response("unauthorized", { status: 401 });
    }
    const tree = `/api/models/${opts.repo}/tree/`;
    if (url.pathname.startsWith(tree)) {
      return Response.json(opts.files.map((f) => ({
        type: "file",
        path: f.path,
        size: f.bytes.length,
        oid: sha256Hex(f.bytes).slice(0, 40),
        lfs: { oid: sha256Hex(f.bytes), size: f.bytes.length, pointerSize: 134 },
      })));
    }
    const resolve = new RegExp(`^/${opts.repo}/resolve/([^/]+)/(.+)$`).exec(url.pathname);
    if (resolve) {
      const rev = decodeURIComponent(resolve[1]!);
      const file = byPath.get(resolve[2]!);
      if (!file || (rev !== "main" && rev !== opts.commit)) {
        return new Response("not found", {
          status: 404,
          headers: { "X-Error-Code": "EntryNotFound" },
        });
      }
      const sha = sha256Hex(file.bytes);
      return new Response(null, {
        status: 302,
        headers: {
          Location: `${cdnOrigin}/cdn/${sha}`,
          "X-Repo-Commit": opts.commit,
          "X-Linked-Etag": `"${sha}"`,
          "X-Linked-Size": String(file.bytes.length),
          ETag: `"${sha.slice(0, 40)}"`,
        },
      });
    }
    const cdn = /^\/cdn\/([0-9a-f]{64})$/.exec(url.pathname);
    if (cdn) {
      const file = opts.files.find((f) => sha256Hex(f.bytes) === cdn[1]);
      if (!file) return new Response("not found", { status: 404 });
      if (req.headers.get("Authorization")) {
        return new Response("token leaked to CDN", { status: 400 });
      }
      let body: Uint8Array<ArrayBuffer> = new Uint8Array(file.bytes);
      if (state.corrupt) {
        body[body.length >> 1] = body[body.length >> 1]! ^ 0xff;
      }
      let status = 200;
      const headers: Record<string, string> = { "Accept-Ranges": "bytes" };
      const m = range ? /^bytes=(\d+)-$/.exec(range) : null;
      if (m) {
        const start = Number(m[1]);
        if (start >= body.length) {
          return new Response(null, {
            status: 416,
            headers: { "Content-Range": `bytes */${body.length}` },
          });
        }
        headers["Content-Range"] = `bytes ${start}-${body.length - 1}/${body.length}`;
        body = body.subarray(start);
        status = 206;
      }
      headers["Content-Length"] = String(body.length);
      if (req.method === "HEAD") return new Response(null, { status, headers });
      const cut = state.cutAfter;
      state.cutAfter = null;
      if (cut === null) return new Response(body, { status, headers });
      // Sends `cut` bytes, then fails the stream: the client sees a broken transfer.
      const part = body.subarray(0, cut);
      const stream = new ReadableStream<Uint8Array>({
        start(c) {
          c.enqueue(part);
          setTimeout(() => c.error(new Error("connection cut")), 20);
        },
      });
      return new Response(stream, { status, headers });
    }
    return new Response("not found", { status: 404 });
  }
  const addr = server.addr as Deno.NetAddr;
  return {
    endpoint: `http://127.0.0.1:${addr.port}`,
    log,
    get cutAfter() {
      return state.cutAfter;
    },
    set cutAfter(v) {
      state.cutAfter = v;
    },
    get corrupt() {
      return state.corrupt;
    },
    set corrupt(v) {
      state.corrupt = v;
    },
    async [Symbol.asyncDispose]() {
      await server.shutdown();
      await cdnServer.shutdown();
    },
  };
}
