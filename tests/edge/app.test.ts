/**
 * The edge app in-process in front of fake upstreams (Deno.serve on loopback): validation,
 * bearer token, retry before streaming and never after, unbuffered relay, error JSON.
 */
import assert from "node:assert/strict";
import { edgeApp } from "../../src/edge/app.ts";
import { UpstreamPool } from "../../src/edge/upstreams.ts";
import { defaultImageConfig } from "../../src/image/config.ts";

type Handler = (req: Request) => Response | Promise<Response>;

async function withUpstreams(
  handlers: Handler[],
  fn: (
    edge: (init: RequestInit & { path?: string }) => Promise<Response>,
    pool: UpstreamPool,
  ) => Promise<void>,
  opts: {
    token?: string;
    apiKey?: string;
    timeoutMs?: number;
    extraUrls?: string[];
    allowedHosts?: string[];
  } = {},
) {
  const servers = handlers.map((h) =>
    Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, h)
  );
  const urls = [
    ...servers.map((s) => `http://127.0.0.1:${s.addr.port}`),
    ...(opts.extraUrls ?? []),
  ];
  const pool = new UpstreamPool(urls, {
    healthIntervalMs: 1000,
    breakerFailures: 1,
    breakerCooldownMs: 60_000,
    sessionTtlMs: 60_000,
  });
  for (const u of pool.upstreams) u.healthy = true;
  const { app } = edgeApp({
    pool,
    pipeline: null,
    imageConfig: defaultImageConfig(),
    upstreamToken: opts.token,
    apiKey: opts.apiKey,
    // Always a deadline: a timer a path forgets to disarm fails the test (op sanitizer).
    upstreamTimeoutMs: opts.timeoutMs ?? 30_000,
    allowedHosts: opts.allowedHosts,
  });
  const edge = ({ path, ...init }: RequestInit & { path?: string }) =>
    Promise.resolve(app.request(path ?? "/v1/chat/completions", { method: "POST", ...init }));
  try {
    await fn(edge, pool);
  } finally {
    await Promise.all(servers.map((s) => s.shutdown()));
  }
}

const CHAT = JSON.stringify({ messages: [{ role: "user", content: "hi" }], stream: true });
const sse = (s: string) => new TextEncoder().encode(s);

Deno.test("POST /v1/chat/completions refuses invalid JSON and bad messages with OpenAI error JSON", async () => {
  await withUpstreams([() => new Response("{}")], async (edge) => {
    const bad = await edge({ body: "{nope" });
    assert.equal(bad.status, 400);
    assert.equal((await bad.json()).error.code, "invalid_json");
    const res = await edge({
      body: JSON.stringify({ messages: [{ role: "robot", content: "x" }] }),
    });
    assert.equal(res.status, 400);
    const { error } = await res.json();
    assert.equal(error.type, "invalid_request_error");
    assert.equal(error.param, "messages.0.role");
  });
});

Deno.test("POST /v1/chat/completions passes video parts (what the page sends) on to the upstream", async () => {
  const seen: string[] = [];
  const frame = "data:image/jpeg;base64,/9j/AA==";
  const sent = JSON.stringify({
    messages: [{
      role: "user",
      content: [
        {
          type: "video_frames",
          video_frames: { duration: 1, frames: [{ url: frame, timestamp: 0 }] },
        },
        { type: "video_url", video_url: { url: "data:video/mp4;base64,AAAA" } },
        { type: "text", text: "what happens?" },
      ],
    }],
  });
  await withUpstreams([async (req) => {
    seen.push(await req.text());
    return Response.json({ ok: true });
  }], async (edge) => {
    const res = await edge({ body: sent });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { ok: true });
    for (
      const [content, param] of [
        [[{ type: "image_url", image_url: 5 }], "messages.0.content.0.image_url"],
        [[{ type: "text" }], "messages.0.content.0.text"],
        [[{ type: 7 }], "messages.0.content.0.type"],
        [["just a string"], "messages.0.content.0"],
      ] as const
    ) {
      const bad = await edge({ body: JSON.stringify({ messages: [{ role: "user", content }] }) });
      assert.equal(bad.status, 400);
      const { error } = await bad.json();
      assert.equal(error.param, param);
      assert.equal(error.type, "invalid_request_error");
    }
  });
  assert.deepEqual(seen, [sent]);
});

Deno.test("forward() sends the upstream bearer token, not the client's credentials", async () => {
  let seen: string | null = "unset";
  await withUpstreams([(req) => {
    seen = req.headers.get("authorization");
    return Response.json({ ok: true });
  }], async (edge) => {
    const res = await edge({
      body: CHAT,
      headers: { authorization: "Bearer client", "content-type": "application/json" },
    });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { ok: true });
  }, { token: "upstream-secret" });
  assert.equal(seen, "Bearer upstream-secret");
});

Deno.test("forward() sends a chat body upstream as application/json whatever the client labelled it", async () => {
  const seen: (string | null)[] = [];
  await withUpstreams([(req) => {
    seen.push(req.headers.get("content-type"));
    return Response.json({ ok: true });
  }], async (edge) => {
    for (const type of [null, "application/x-www-form-urlencoded", "text/plain"]) {
      const res = await edge({ body: CHAT, headers: type ? { "content-type": type } : {} });
      assert.equal(res.status, 200);
      await res.body?.cancel();
    }
    await (await edge({ path: "/v1/models", method: "GET" })).body?.cancel();
  });
  assert.deepEqual(seen, ["application/json", "application/json", "application/json", null]);
});

Deno.test("forward() retries on another upstream after a 5xx or a refused connection", async () => {
  const hits = [0, 0];
  await withUpstreams([
    () => (hits[0]!++, new Response("boom", { status: 502 })),
    () => (hits[1]!++,
      new Response(sse("data: [DONE]\n\n"), { headers: { "content-type": "text/event-stream" } })),
  ], async (edge, pool) => {
    for (let i = 0; i < 3; i++) {
      const res = await edge({ body: CHAT });
      assert.equal(res.status, 200);
      assert.equal(await res.text(), "data: [DONE]\n\n");
    }
    assert.equal(hits[0], 1, "the failing upstream's breaker opened after its first failure");
    assert.equal(pool.upstreams[0]!.counters.retriedAway, 1);
    assert.equal(pool.upstreams[0]!.status, "down");
  });
  const closed = `http://127.0.0.1:${
    (() => {
      const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
      const p = (l.addr as Deno.NetAddr).port;
      l.close();
      return p;
    })()
  }`;
  await withUpstreams([() => Response.json({ from: "live" })], async (edge) => {
    for (let i = 0; i < 2; i++) {
      assert.deepEqual(await (await edge({ body: CHAT })).json(), { from: "live" });
    }
  }, { extraUrls: [closed] });
});

Deno.test("forward() treats an upstream's 401 (the edge's token refused) as that upstream failing", async () => {
  const refuses = () =>
    Response.json({ error: { code: "invalid_api_key" } }, {
      status: 401,
      headers: { "www-authenticate": "Bearer" },
    });
  await withUpstreams([refuses, () => Response.json({ from: "ok" })], async (edge, pool) => {
    pool.upstreams[1]!.outstanding = 5; // the refusing one is the first choice
    assert.deepEqual(await (await edge({ body: CHAT })).json(), { from: "ok" });
    assert.equal(pool.upstreams[0]!.counters.failures, 1);
  }, { token: "stale" });
  await withUpstreams([refuses], async (edge, pool) => {
    const res = await edge({ body: CHAT });
    assert.equal(res.status, 503);
    assert.equal(res.headers.get("www-authenticate"), null);
    const { error } = await res.json();
    assert.equal(error.code, "upstream_unavailable");
    assert.equal(
      error.message,
      `no upstream could take the request (${
        pool.upstreams[0]!.url
      }: HTTP 401: it refused the edge's bearer token (EDGE_UPSTREAM_TOKEN))`,
    );
  }, { token: "stale" });
});

Deno.test("forward() moves a request off a busy (429) upstream, and passes 429 on when all are busy", async () => {
  const busy = () =>
    Response.json({ error: { code: "queue_full" } }, {
      status: 429,
      headers: { "retry-after": "1" },
    });
  await withUpstreams([busy, () => Response.json({ from: "free" })], async (edge, pool) => {
    pool.upstreams[1]!.outstanding = 5; // the busy one is the first choice
    assert.deepEqual(await (await edge({ body: CHAT })).json(), { from: "free" });
    assert.equal(pool.upstreams[0]!.breaker.state, "closed", "busy is not broken");
  });
  await withUpstreams([busy, busy], async (edge) => {
    const res = await edge({ body: CHAT });
    assert.equal(res.status, 429);
    assert.equal(res.headers.get("retry-after"), "1");
    assert.equal((await res.json()).error.code, "queue_full");
  });
});

/** An SSE upstream that sends `chunks`, then breaks off its body (the connection is cut). */
const breaksAfter = (chunks: string[], hits: number[]) => () => {
  hits[0]!++;
  return new Response(
    new ReadableStream({
      async start(c) {
        for (const s of chunks) c.enqueue(sse(s));
        await new Promise((r) => setTimeout(r, 50));
        c.error(new Error("upstream died"));
      },
    }),
    { headers: { "content-type": "text/event-stream" } },
  );
};

/** The bytes the client must get after the events relayed: one error event, then [DONE]. */
function brokenStreamTail(text: string, upstream: string): string {
  const start = text.lastIndexOf("data: {", text.lastIndexOf("data: [DONE]"));
  const { error } = JSON.parse(text.slice(start + 6, text.indexOf("\n\n", start)));
  assert.match(error.message, new RegExp(`^the upstream ${upstream} broke off the stream: `));
  return `data: ${
    JSON.stringify({
      error: {
        message: error.message,
        type: "server_error",
        param: null,
        code: "upstream_stream_broken",
      },
    })
  }\n\ndata: [DONE]\n\n`;
}

Deno.test("forward() does not retry once a chunk has reached the client; a broken stream ends with an error event", async () => {
  const hits = [0, 0];
  await withUpstreams(
    [breaksAfter(['data: {"first":1}\n\n'], hits), () => (hits[1]!++, new Response("x"))],
    async (edge, pool) => {
      pool.upstreams[1]!.outstanding = 5; // make the broken one the first choice
      const res = await edge({ body: CHAT });
      assert.equal(res.status, 200);
      const text = await res.text();
      const tail = brokenStreamTail(text, pool.upstreams[0]!.url);
      assert.equal(text, 'data: {"first":1}\n\n' + tail);
      assert.deepEqual(hits, [1, 0]);
      assert.equal(pool.upstreams[0]!.counters.failures, 1);
      assert.equal(pool.upstreams[0]!.outstanding, 0);
    },
  );
});

Deno.test("forward() never relays half an SSE event: the error event follows the last whole one", async () => {
  const hits = [0];
  await withUpstreams(
    [breaksAfter(['data: {"first":1}\n\ndata: {"sec', 'ond":2}\n\ndata: {"thi'], hits)],
    async (edge, pool) => {
      const text = await (await edge({ body: CHAT })).text();
      assert.equal(
        text,
        'data: {"first":1}\n\ndata: {"second":2}\n\n' +
          brokenStreamTail(text, pool.upstreams[0]!.url),
      );
    },
  );
});

Deno.test("forward() ends a stream whose event grows past 1 MiB with an error event", async () => {
  const big = "x".repeat(64 * 1024);
  await withUpstreams([() =>
    new Response(
      new ReadableStream({
        start(c) {
          const enc = new TextEncoder();
          c.enqueue(enc.encode('data: {"first":1}\n\ndata: "'));
          for (let i = 0; i < 20; i++) c.enqueue(enc.encode(big)); // 1.25 MiB, no blank line
          c.close();
        },
      }),
      { headers: { "content-type": "text/event-stream" } },
    )], async (edge, pool) => {
    const text = await (await edge({ body: CHAT })).text();
    assert.equal(
      text,
      'data: {"first":1}\n\n' +
        `data: ${
          JSON.stringify({
            error: {
              message: `the upstream ${pool.upstreams[0]!.url} sent an event over 1048576 bytes`,
              type: "server_error",
              param: null,
              code: "upstream_stream_broken",
            },
          })
        }\n\ndata: [DONE]\n\n`,
    );
  });
});

Deno.test("forward() answers 504 when a busy (429) upstream stalls its body past the deadline", async () => {
  await withUpstreams([() => new Response(new ReadableStream({ start() {} }), { status: 429 }) // headers, then nothing
  ], async (edge) => {
    const t0 = performance.now();
    const res = await edge({ body: CHAT });
    assert.equal(res.status, 504);
    assert.equal((await res.json()).error.code, "upstream_timeout");
    assert.ok(performance.now() - t0 < 5000);
  }, { timeoutMs: 200 });
});

/** Resolves when the edge has given up on (aborted) the upstream's request. */
const abandoned = (req: Request) =>
  new Promise<void>((r) => req.signal.addEventListener("abort", () => r(), { once: true }));

Deno.test("forward() answers 504 upstream_timeout when an upstream sends nothing, and drops its request", async () => {
  let dropped = false;
  await withUpstreams([async (req) => {
    await abandoned(req);
    dropped = true;
    return new Response("too late");
  }], async (edge, pool) => {
    const t0 = performance.now();
    const res = await edge({ body: CHAT });
    assert.equal(res.status, 504);
    assert.deepEqual(await res.json(), {
      error: {
        message: `the upstream ${pool.upstreams[0]!.url} sent nothing for 200 ms`,
        type: "server_error",
        param: null,
        code: "upstream_timeout",
      },
    });
    assert.ok(performance.now() - t0 < 2000);
    const u = pool.upstreams[0]!;
    assert.deepEqual([u.counters.failures, u.outstanding, u.breaker.state], [1, 0, "open"]);
  }, { timeoutMs: 200 });
  assert.ok(dropped, "the upstream saw its request aborted");
});

Deno.test("forward() ends a stream whose upstream goes silent with an upstream_timeout event", async () => {
  await withUpstreams([(req) =>
    new Response(
      new ReadableStream({
        async start(c) {
          c.enqueue(sse('data: {"first":1}\n\n'));
          await abandoned(req);
          c.close();
        },
      }),
      { headers: { "content-type": "text/event-stream" } },
    )], async (edge, pool) => {
    const text = await (await edge({ body: CHAT })).text();
    const error = {
      message: `the upstream ${pool.upstreams[0]!.url} sent nothing for 200 ms`,
      type: "server_error",
      param: null,
      code: "upstream_timeout",
    };
    assert.equal(
      text,
      `data: {"first":1}\n\ndata: ${JSON.stringify({ error })}\n\ndata: [DONE]\n\n`,
    );
    assert.deepEqual([pool.upstreams[0]!.counters.failures, pool.upstreams[0]!.outstanding], [
      1,
      0,
    ]);
  }, { timeoutMs: 200 });
});

Deno.test("a client that leaves before the first byte aborts the upstream request, quietly", async () => {
  let dropped = false;
  const errors: unknown[][] = [];
  const consoleError = console.error;
  console.error = (...args: unknown[]) => errors.push(args);
  try {
    await withUpstreams([async (req) => {
      await abandoned(req);
      dropped = true;
      return new Response("too late");
    }], async (edge, pool) => {
      const client = new AbortController();
      setTimeout(() => client.abort(), 50);
      const res = await edge({ body: CHAT, signal: client.signal });
      assert.equal(res.status, 499);
      await res.body?.cancel();
      assert.equal(pool.upstreams[0]!.outstanding, 0);
      assert.equal(pool.upstreams[0]!.counters.failures, 0, "not the upstream's fault");
      assert.equal(pool.upstreams[0]!.counters.successes, 0, "nor proof that it works");
    });
  } finally {
    console.error = consoleError;
  }
  assert.ok(dropped, "the upstream saw its request aborted");
  assert.deepEqual(errors, [], "nothing logged as an unexpected error");
});

Deno.test("forward() relays each chunk as it arrives (no buffering)", async () => {
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  await withUpstreams([() =>
    new Response(
      new ReadableStream({
        async start(c) {
          c.enqueue(sse("data: 1\n\n"));
          await released;
          c.enqueue(sse("data: [DONE]\n\n"));
          c.close();
        },
      }),
      { headers: { "content-type": "text/event-stream" } },
    )], async (edge, pool) => {
    const res = await edge({ body: CHAT });
    assert.equal(res.headers.get("content-type"), "text/event-stream");
    const reader = res.body!.getReader();
    assert.equal(new TextDecoder().decode((await reader.read()).value), "data: 1\n\n");
    assert.equal(pool.upstreams[0]!.outstanding, 1, "still in flight while streaming");
    release();
    assert.equal(new TextDecoder().decode((await reader.read()).value), "data: [DONE]\n\n");
    assert.equal((await reader.read()).done, true);
    assert.equal(pool.upstreams[0]!.outstanding, 0);
  });
});

Deno.test("POST /v1/chat/completions answers 503 upstream_unavailable with Retry-After when every upstream is down", async () => {
  await withUpstreams([() => new Response("x")], async (edge, pool) => {
    pool.upstreams[0]!.healthy = false;
    const res = await edge({ body: CHAT });
    assert.equal(res.status, 503);
    assert.equal(res.headers.get("retry-after"), "1", "the next health check is within 1 s");
    assert.equal((await res.json()).error.code, "upstream_unavailable");
    const health = await edge({ path: "/health", method: "GET" });
    assert.equal(health.status, 503);
    assert.equal((await health.json()).upstreams[0].status, "down");
  });
  await withUpstreams([() => new Response("boom", { status: 502 })], async (edge) => {
    const res = await edge({ body: CHAT });
    assert.equal(res.status, 503);
    assert.equal(res.headers.get("retry-after"), "60", "its breaker opened for 60 s");
    assert.equal((await res.json()).error.code, "upstream_unavailable");
  });
});

Deno.test("/v1/* with EDGE_API_KEY set refuses a missing, malformed or wrong key with a 401", async () => {
  await withUpstreams([() => Response.json({ ok: true })], async (edge) => {
    for (
      const authorization of [undefined, "Basic Zm9vOmJhcg==", "Bearer", "Bearer wrong"]
    ) {
      const headers: Record<string, string> = authorization ? { authorization } : {};
      for (
        const init of [{ body: CHAT, headers }, { path: "/v1/models", method: "GET", headers }]
      ) {
        const res = await edge(init);
        assert.equal(res.status, 401, `${authorization}`);
        assert.equal(res.headers.get("www-authenticate"), 'Bearer realm="edge"');
        assert.deepEqual(await res.json(), {
          error: {
            message: "Incorrect or missing API key (Authorization: Bearer <key>)",
            type: "invalid_request_error",
            param: null,
            code: "invalid_api_key",
          },
        });
      }
    }
    const ok = await edge({ body: CHAT, headers: { authorization: "Bearer client-key" } });
    assert.equal(ok.status, 200);
    assert.deepEqual(await ok.json(), { ok: true });
  }, { apiKey: "client-key" });
});

Deno.test("/metrics counts every chat request, refused ones included, and only chat requests", async () => {
  await withUpstreams([() => Response.json({})], async (edge) => {
    const key = { authorization: "Bearer k" };
    await (await edge({ body: CHAT })).body?.cancel(); // 401
    await (await edge({ body: "{", headers: key })).body?.cancel(); // 400
    await (await edge({ body: CHAT, headers: key })).body?.cancel(); // 200
    await (await edge({ path: "/v1/models", method: "GET" })).body?.cancel(); // 401, not chat
    const m = await (await edge({ path: "/metrics", method: "GET" })).text();
    assert.match(m, /\nedge_requests_total 3\n/);
    assert.match(m, /\nedge_requests_rejected_total 2\n/);
    assert.match(m, /\nedge_requests_unavailable_total 0\n/);
  }, { apiKey: "k" });
});

Deno.test("GET / serves the embedded page; /metrics counts per upstream", async () => {
  await withUpstreams([() => Response.json({})], async (edge) => {
    const page = await edge({ path: "/", method: "GET" });
    assert.equal(page.status, 200);
    assert.match(page.headers.get("content-type")!, /^text\/html/);
    assert.match(page.headers.get("content-security-policy")!, /script-src 'self'/);
    assert.match(await page.text(), /<html/i);
    await (await edge({ body: CHAT })).text();
    const m = await (await edge({ path: "/metrics", method: "GET" })).text();
    assert.match(m, /edge_upstream_requests_total\{upstream="http:\/\/127\.0\.0\.1:\d+"\} 1\n/);
    assert.equal((await edge({ path: "/nope.js", method: "GET" })).status, 404);
  });
});

Deno.test("POST /v1/chat/completions keeps a session (x-session-id or user) on one upstream", async () => {
  const who = (name: string) => () => Response.json({ from: name });
  await withUpstreams([who("a"), who("b")], async (edge, pool) => {
    const from = async (init: RequestInit) => (await (await edge(init)).json()).from as string;
    const first = await from({ body: CHAT, headers: { "x-session-id": "cam-1" } });
    // Make the session's upstream the busier one: the session still goes there.
    pool.upstreams[first === "a" ? 0 : 1]!.outstanding = 7;
    for (let i = 0; i < 3; i++) {
      assert.equal(await from({ body: CHAT, headers: { "x-session-id": "cam-1" } }), first);
    }
    const userBody = JSON.stringify({ messages: [{ role: "user", content: "hi" }], user: "u-9" });
    const byUser = await from({ body: userBody });
    pool.upstreams[byUser === "a" ? 0 : 1]!.outstanding = 9;
    assert.equal(await from({ body: userBody }), byUser);
  });
});

Deno.test("POST /v1/chat/completions forwards the client's body byte for byte when no image changed", async () => {
  let seen = "";
  const sent =
    '{ "messages" : [ {"role":"user","content":"hi"} ], "vendor_extra": {"top_n_sigma": 1.5} }';
  await withUpstreams([async (req) => {
    seen = await req.text();
    return Response.json({});
  }], async (edge) => {
    assert.equal((await edge({ body: sent })).status, 200);
  });
  assert.equal(seen, sent);
});

Deno.test("POST /v1/chat/completions refuses a browser's cross-site request before any upstream", async () => {
  let reached = 0;
  await withUpstreams([() => (reached++, new Response("{}"))], async (edge) => {
    const crossSite = await edge({
      body: CHAT,
      headers: {
        "content-type": "text/plain",
        origin: "https://evil.example",
        "sec-fetch-site": "cross-site",
      },
    });
    assert.equal(crossSite.status, 403);
    assert.equal((await crossSite.json()).error.code, "cross_origin_forbidden");
    assert.equal(reached, 0);
    // The page the edge serves (same origin) and non-browser clients (no such headers) pass.
    for (const headers of [{ "sec-fetch-site": "same-origin" }, {}] as Record<string, string>[]) {
      const ok = await edge({
        body: CHAT,
        headers: { "content-type": "application/json", ...headers },
      });
      assert.equal(ok.status, 200);
      await ok.body?.cancel();
    }
    assert.equal(reached, 2);
  });
});

Deno.test("the edge refuses a Host that is not allowed before any upstream, on every route", async () => {
  let reached = 0;
  await withUpstreams([() => (reached++, Response.json({}))], async (edge) => {
    // A page on a name rebound to the edge's address: same-origin for the browser.
    const rebound = {
      host: "evil.example:8080",
      origin: "http://evil.example:8080",
      "sec-fetch-site": "same-origin",
    };
    const requests: (RequestInit & { path?: string })[] = [
      { body: CHAT, headers: { ...rebound, "content-type": "application/json" } },
      { path: "/v1/models", method: "GET", headers: rebound },
      { path: "/health", method: "GET", headers: rebound },
      { path: "/metrics", method: "GET", headers: rebound },
      { path: "/", method: "GET", headers: rebound },
    ];
    for (const init of requests) {
      const res = await edge(init);
      assert.equal(res.status, 403, init.path);
      const { error } = await res.json();
      assert.equal(error.code, "host_not_allowed");
      assert.equal(error.type, "invalid_request_error");
      assert.match(error.message, /'evil\.example:8080'.*--allowed-host/);
    }
    assert.equal(reached, 0);
    const m = await (await edge({ path: "/metrics", method: "GET" })).text();
    assert.match(m, /\nedge_requests_total 1\n/, "the refused chat request is counted");
    assert.match(m, /\nedge_requests_rejected_total 1\n/);
    for (const host of ["127.0.0.1:8080", "localhost:8080", "[::1]:8080", "edge.example.com"]) {
      const ok = await edge({ body: CHAT, headers: { host, "content-type": "application/json" } });
      assert.equal(ok.status, 200, host);
      await ok.body?.cancel();
    }
    assert.equal(reached, 4);
  }, { allowedHosts: ["edge.example.com"] });
});

Deno.test("the edge lets any Host through with --allowed-host *", async () => {
  await withUpstreams([() => Response.json({})], async (edge) => {
    const res = await edge({ body: CHAT, headers: { host: "evil.example:8080" } });
    assert.equal(res.status, 200);
    await res.body?.cancel();
  }, { allowedHosts: ["*"] });
});
