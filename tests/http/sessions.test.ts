/**
 * Realtime sessions through the real server: a newer request with the same X-Session-Id
 * supersedes the older one, which ends at once with finish_reason "superseded"; other sessions
 * are untouched, and a malformed session id is a 400.
 */
import assert from "node:assert/strict";
import { chatBody, type Ev, JSON_HEADERS, parseSse } from "./helpers.ts";
import { longOutputFormat, spawnServer } from "./server_helpers.ts";

Deno.test({
  name: "X-Session-Id: a newer request supersedes the running one of its session",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const server = await spawnServer(["--demo", "--no-log-file", "--timeout", "120"]);
    try {
      const post = (session: string, extra: Record<string, unknown>) =>
        fetch(`${server.url}/v1/chat/completions`, {
          method: "POST",
          headers: { ...JSON_HEADERS, "x-session-id": session },
          body: chatBody({ stream: true, ...extra }),
        });
      const long = { max_tokens: 1500, response_format: longOutputFormat(1500) };
      const stale = await post("cam-1", long);
      assert.equal(stale.status, 200);
      const reader = stale.body!.getReader();
      await reader.read(); // it is generating
      const fresh = await post("cam-1", { max_tokens: 4 });
      const dec = new TextDecoder();
      let rest = "";
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        rest += dec.decode(value, { stream: true });
      }
      const staleEvents = parseSse(rest) as Ev[];
      const last = staleEvents.filter((e) => typeof e === "object" && e.choices?.[0]?.finish_reason)
        .at(-1);
      assert.equal(last?.choices[0].finish_reason, "superseded");
      assert.equal(staleEvents.at(-1), "[DONE]");
      const freshEvents = parseSse(await fresh.text()) as Ev[];
      assert.equal(fresh.status, 200);
      assert.ok(
        freshEvents.some((e) => typeof e === "object" && e.choices?.[0]?.finish_reason),
        "the fresh request completes",
      );
      const bad = await fetch(`${server.url}/v1/chat/completions`, {
        method: "POST",
        headers: { ...JSON_HEADERS, "x-session-id": "x".repeat(200) },
        body: chatBody({ max_tokens: 2 }),
      });
      assert.equal(bad.status, 400);
      assert.equal((await bad.json()).error.code, "invalid_session_id");
    } finally {
      assert.equal((await server.stop()).code, 0);
    }
  },
});

Deno.test({
  name: "X-Session-Id: a newer frame takes its stale frame's place when the queue is full",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const server = await spawnServer([
      "--demo",
      "--no-log-file",
      "--timeout",
      "120",
      "--parallel",
      "1",
      "--max-queue",
      "0",
    ]);
    try {
      const post = (headers: Record<string, string>, extra: Record<string, unknown>) =>
        fetch(`${server.url}/v1/chat/completions`, {
          method: "POST",
          headers: { ...JSON_HEADERS, ...headers },
          body: chatBody({ stream: true, ...extra }),
        });
      const long = { max_tokens: 1500, response_format: longOutputFormat(1500) };
      const stale = await post({ "x-session-id": "cam-1" }, long);
      assert.equal(stale.status, 200);
      const reader = stale.body!.getReader();
      await reader.read(); // it holds the only slot
      const other = await post({}, { max_tokens: 4 });
      assert.equal(other.status, 429, "a request of no session finds the server full");
      await other.body?.cancel();
      const fresh = await post({ "x-session-id": "cam-1" }, { max_tokens: 4 });
      assert.equal(fresh.status, 200, "the session's newer frame is not refused");
      let rest = "";
      const dec = new TextDecoder();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        rest += dec.decode(value, { stream: true });
      }
      const reasons = (parseSse(rest) as Ev[])
        .filter((e) => typeof e === "object" && e.choices?.[0]?.finish_reason)
        .map((e) => e.choices[0].finish_reason);
      assert.deepEqual(reasons, ["superseded"]);
      const freshReasons = (parseSse(await fresh.text()) as Ev[])
        .filter((e) => typeof e === "object" && e.choices?.[0]?.finish_reason)
        .map((e) => e.choices[0].finish_reason);
      assert.deepEqual(freshReasons, ["length"]);
    } finally {
      assert.equal((await server.stop()).code, 0);
    }
  },
});
