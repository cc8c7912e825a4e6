/**
 * The edge's Hono app: the page from the module graph, `/health` (each upstream's state),
 * `/metrics`, `POST /v1/chat/completions` (validated, images preprocessed, forwarded) and the
 * read-only `/v1/models` and `/v1/info` (forwarded to a usable upstream). One onError maps
 * every refusal to OpenAI's error JSON.
 *
 * @module
 */
import { type Context, Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { bearerAuth } from "hono/bearer-auth";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { refuseUnknownHost } from "../http/middleware/allowed_hosts.ts";
import { refuseCrossSite } from "../http/middleware/cross_site.ts";
import { pageSecurityHeaders } from "../http/middleware/page_security.ts";
import type { ImageConfig } from "../image/config.ts";
import type { IsolatedImagePipeline } from "../image/isolated.ts";
import { STATIC_ASSETS } from "./assets.ts";
import { EdgeError, invalidRequest } from "./errors.ts";
import { forward } from "./forward.ts";
import { preprocessRequestImages } from "./images.ts";
import { type EdgeTotals, renderMetrics } from "./metrics.ts";
import { edgeChatRequest } from "./request_schema.ts";
import type { UpstreamPool } from "./upstreams.ts";

const CHAT_PATH = "/v1/chat/completions";

export interface EdgeAppOptions {
  readonly pool: UpstreamPool;
  /** null: images are forwarded as sent. */
  readonly pipeline: IsolatedImagePipeline | null;
  readonly imageConfig: ImageConfig;
  readonly upstreamToken?: string;
  readonly apiKey?: string;
  /** An upstream's longest silence before its first byte and between chunks (ms). */
  readonly upstreamTimeoutMs?: number;
  /** Largest request body accepted, in bytes. Default 32 MiB (a 20 MB image in base64). */
  readonly maxBodyBytes?: number;
  /**
   * Host names clients may address besides localhost and IP literals: `--allowed-host` and the
   * listen address. Default none.
   */
  readonly allowedHosts?: readonly string[];
}

/**
 * An abort signal for the work before the response is handed back (image preprocessing, the
 * upstream's first byte). Deno's request.signal is followed only until commit(); afterwards a
 * client that leaves cancels the relayed body, which cancels the upstream's.
 */
function untilCommitted(client: AbortSignal): { signal: AbortSignal; commit(): void } {
  const ac = new AbortController();
  const onAbort = () => ac.abort(client.reason);
  if (client.aborted) ac.abort(client.reason);
  else client.addEventListener("abort", onAbort, { once: true });
  return { signal: ac.signal, commit: () => client.removeEventListener("abort", onAbort) };
}

function sessionOf(headers: Headers, user: string | null | undefined): string | null {
  return headers.get("x-session-id") ?? user ?? null;
}

export function edgeApp(opts: EdgeAppOptions): { app: Hono; totals: EdgeTotals } {
  const totals: EdgeTotals = {
    requests: 0,
    rejected: 0,
    unavailable: 0,
    images: { images: 0, bytesIn: 0, bytesOut: 0, unchanged: 0 },
  };
  const { pool } = opts;
  const app = new Hono();
  app.use("*", pageSecurityHeaders());
  const isChat = (c: Context) => c.req.method === "POST" && c.req.path === CHAT_PATH;
  // Counted before the key check and the body limit, so every refusal is among the requests.
  app.use(CHAT_PATH, async (c, next) => {
    if (isChat(c)) totals.requests++;
    await next();
  });
  // DNS rebinding: a page whose name now resolves to this edge would drive the upstreams as a
  // same-origin page, which the cross-site guard below lets through.
  app.use(
    "*",
    refuseUnknownHost(opts.allowedHosts ?? [], (host) =>
      new EdgeError(
        403,
        "invalid_request_error",
        `Host '${host}' is not allowed (DNS-rebinding protection); ` +
          'start the edge with --allowed-host NAME ("*" allows any)',
        "host_not_allowed",
      )),
  );

  app.onError((err, c) => {
    const e = err instanceof EdgeError
      ? err
      : new EdgeError(500, "server_error", "internal error at the edge", "internal_error");
    // A client that left before the answer started aborts the work on its behalf: expected,
    // not an error to log (nobody reads this answer).
    const clientLeft = c.req.raw.signal.aborted && !(err instanceof EdgeError);
    if (clientLeft) {
      // 499: nginx's "client closed request", as the service logs it (not a standard code).
      const closed = 499 as ContentfulStatusCode;
      return c.json(
        new EdgeError(closed, "invalid_request_error", "the client closed the request").toJSON(),
        closed,
      );
    }
    if (!(err instanceof EdgeError)) console.error("edge: unexpected error", err);
    // The totals are the chat route's (their HELP says so); /v1/models refusals are not in them.
    if (isChat(c) && e.status === 503) totals.unavailable++;
    else if (isChat(c) && e.status < 500) totals.rejected++;
    return c.json(e.toJSON(), e.status, e.headers());
  });
  app.notFound((c) =>
    c.json(
      new EdgeError(
        404,
        "invalid_request_error",
        `no route for ${c.req.method} ${c.req.path}`,
        "not_found",
      ).toJSON(),
      404,
    )
  );

  app.get("/health", (c) => {
    const upstreams = pool.upstreams.map((u) => u.snapshot());
    const up = upstreams.filter((u) => u.status === "up").length;
    return c.json(
      { status: up > 0 ? "ok" : "unavailable", up, total: upstreams.length, upstreams },
      up > 0 ? 200 : 503,
    );
  });
  app.get("/metrics", (c) =>
    c.text(renderMetrics(pool, totals), 200, {
      "content-type": "text/plain; version=0.0.4; charset=utf-8",
    }));

  const v1 = new Hono();
  // Another site's page must not drive the upstreams through a visitor's browser; the edge
  // forwards without Origin and Sec-Fetch-Site, so the upstream could not tell.
  v1.use(
    "*",
    refuseCrossSite([], (origin) =>
      new EdgeError(
        403,
        "invalid_request_error",
        `cross-origin request from ${origin ?? "another site"} refused`,
        "cross_origin_forbidden",
      )),
  );
  if (opts.apiKey) {
    // Every failure (no header, a malformed one, a wrong key) is the same 401 in OpenAI's
    // error JSON: hono's own refusal is an HTTPException, which onError would call a 500.
    const deny = (): never => {
      throw new EdgeError(
        401,
        "invalid_request_error",
        "Incorrect or missing API key (Authorization: Bearer <key>)",
        "invalid_api_key",
      );
    };
    v1.use(
      "*",
      bearerAuth({
        token: opts.apiKey,
        noAuthenticationHeader: { message: deny },
        invalidAuthenticationHeader: { message: deny },
        invalidToken: { message: deny },
      }),
    );
  }
  v1.post(
    "/chat/completions",
    bodyLimit({
      maxSize: opts.maxBodyBytes ?? 32 * 1024 * 1024,
      onError: () => {
        throw new EdgeError(
          413,
          "invalid_request_error",
          "request body is too large",
          "body_too_large",
        );
      },
    }),
    async (c) => {
      const text = await c.req.text();
      let raw: unknown;
      try {
        raw = JSON.parse(text);
      } catch {
        throw invalidRequest("request body is not valid JSON", null, "invalid_json");
      }
      const parsed = edgeChatRequest.safeParse(raw);
      if (!parsed.success) {
        const issue = parsed.error.issues[0]!;
        throw invalidRequest(issue.message, issue.path.join(".") || null);
      }
      const body = parsed.data;
      const abort = untilCommitted(c.req.raw.signal);
      // The client's bytes go upstream as sent unless an image was replaced.
      let rewritten = false;
      if (opts.pipeline) {
        const stats = await preprocessRequestImages(
          body,
          opts.pipeline,
          opts.imageConfig,
          abort.signal,
        );
        totals.images.images += stats.images;
        totals.images.bytesIn += stats.bytesIn;
        totals.images.bytesOut += stats.bytesOut;
        totals.images.unchanged += stats.unchanged;
        rewritten = stats.images > stats.unchanged;
      }
      const { response } = await forward(pool, {
        path: CHAT_PATH,
        method: "POST",
        body: rewritten ? JSON.stringify(body) : text,
        session: sessionOf(c.req.raw.headers, body.user),
        signal: abort.signal,
        headers: c.req.raw.headers,
        timeoutMs: opts.upstreamTimeoutMs,
      }, opts.upstreamToken).finally(abort.commit);
      return response;
    },
  );
  for (const path of ["/models", "/info"]) {
    v1.get(path, async (c) => {
      const abort = untilCommitted(c.req.raw.signal);
      const { response } = await forward(pool, {
        path: `/v1${path}`,
        method: "GET",
        session: null,
        signal: abort.signal,
        headers: c.req.raw.headers,
        timeoutMs: opts.upstreamTimeoutMs,
      }, opts.upstreamToken).finally(abort.commit);
      return response;
    });
  }
  app.route("/v1", v1);

  app.get("*", (c) => {
    const path = c.req.path === "/" ? "/index.html" : c.req.path;
    const asset = Object.hasOwn(STATIC_ASSETS, path) ? STATIC_ASSETS[path] : undefined;
    if (!asset) return c.notFound();
    return c.body(asset.body, 200, { "content-type": asset.type, "cache-control": "no-cache" });
  });
  return { app, totals };
}
