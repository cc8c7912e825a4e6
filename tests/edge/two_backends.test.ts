/**
 * The edge as `deno task edge` runs it (the launcher's exact flags: no FFI, no file access
 * beyond the image workers' modules) in front of two real backends (this service, tiny model)
 * on loopback: requests spread over both; one backend is killed mid-run and every request that
 * had not started streaming still succeeds; the dead one is marked down, then up again after
 * it restarts on the same port.
 */
import assert from "node:assert/strict";
import { realEngineMissing, type SpawnedServer, spawnServer } from "../http/server_helpers.ts";
import { REPO } from "../http/helpers.ts";
import { freePort, readSse, spawnEdge, waitForHealth } from "./edge_helpers.ts";

const backend = (port: number) =>
  spawnServer(["--demo", "--no-log-file", "--max-queue", "64", "--port", String(port)], {
    timeoutMs: 120_000,
  });

interface Outcome {
  upstream: string | null;
  /** The edge answered 200: a first chunk had been relayed, so streaming had started. */
  started: boolean;
  ok: boolean;
  error?: string;
}

async function chat(edge: string, i: number, stream: boolean): Promise<Outcome> {
  try {
    const res = await fetch(`${edge}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        messages: [{ role: "user", content: `request ${i}: describe the weather` }],
        max_tokens: 12,
        stream,
      }),
    });
    const upstream = res.headers.get("x-edge-upstream");
    if (res.status !== 200) {
      return { upstream, started: false, ok: false, error: `${res.status} ${await res.text()}` };
    }
    if (!stream) {
      const body = await res.json();
      return { upstream, started: true, ok: typeof body.choices?.[0]?.message === "object" };
    }
    const { ok, text } = await readSse(res);
    return { upstream, started: true, ok, ...(ok ? {} : { error: text.slice(-200) }) };
  } catch (e) {
    return { upstream: null, started: false, ok: false, error: String(e) };
  }
}

Deno.test("the edge under its task's flags spreads over two backends, survives one dying, sees it return", async () => {
  const missing = realEngineMissing();
  assert.equal(missing, null, `${missing}: run ./run native && ./run fixtures --preset tiny`);
  const ports = [freePort(), freePort()] as const;
  const urls = ports.map((p) => `http://127.0.0.1:${p}`);
  const backends: (SpawnedServer | null)[] = await Promise.all(ports.map(backend));
  const edgePort = freePort();
  const edge = await spawnEdge([
    "--upstream",
    urls.join(","),
    "--port",
    String(edgePort),
    "--health-interval-ms",
    "200",
    "--health-timeout-ms",
    "1000",
    "--breaker-cooldown-ms",
    "1000",
  ]);
  try {
    // The launcher's flags: exact hosts, no FFI, no write, no run, reads only for workers.
    const flags = edge.args.filter((a) => a.startsWith("--"));
    assert.equal(
      flags.find((f) => f.startsWith("--allow-net")),
      `--allow-net=${[edgePort, ...ports].map((p) => `127.0.0.1:${p}`).join(",")}`,
    );
    assert.ok(!flags.some((f) => /^--allow-(ffi|write|run|all)|^-A$/.test(f)), flags.join(" "));
    await waitForHealth(edge.url, (h) => h.up === 2);
    // The page comes from the module graph (the edge may not read static/).
    const page = await fetch(`${edge.url}/`);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<html/i);
    const script = await fetch(`${edge.url}/js/sse.js`);
    assert.equal(script.headers.get("content-type"), "text/javascript; charset=utf-8");
    assert.equal(await script.text(), await Deno.readTextFile(`${REPO}/static/js/sse.js`));

    // 1. Spread: concurrent requests land on both backends.
    const spread = await Promise.all([0, 1, 2, 3, 4, 5].map((i) => chat(edge.url, i, false)));
    assert.ok(spread.every((o) => o.ok), JSON.stringify(spread));
    assert.deepEqual(new Set(spread.map((o) => o.upstream)), new Set(urls));

    // 2. Kill backend 1 while a stream of requests is under way.
    const runs: Promise<Outcome>[] = [];
    for (let i = 0; i < 14; i++) {
      runs.push(chat(edge.url, 100 + i, true));
      if (i === 4) await backends[1]!.stop("SIGKILL").then(() => (backends[1] = null));
      await new Promise((r) => setTimeout(r, 120));
    }
    const outcomes = await Promise.all(runs);
    const failed = outcomes.filter((o) => !o.ok);
    for (const o of failed) {
      assert.ok(
        o.started && o.upstream === urls[1],
        `only streams already under way on the killed backend may fail: ${JSON.stringify(o)}`,
      );
    }
    assert.ok(outcomes.filter((o) => o.ok).length >= 9, JSON.stringify(outcomes));

    // 3. Marked down, then up again after a restart on the same port.
    const down = await waitForHealth(edge.url, (h) => h.upstreams[1]?.status === "down");
    assert.equal(down.upstreams[0]!.status, "up");
    const after = await Promise.all([0, 1, 2].map((i) => chat(edge.url, 200 + i, true)));
    assert.ok(after.every((o) => o.ok && o.upstream === urls[0]), JSON.stringify(after));
    backends[1] = await backend(ports[1]);
    await waitForHealth(edge.url, (h) => h.up === 2 && h.upstreams[1]?.status === "up");
    const back = await Promise.all([0, 1, 2, 3].map((i) => chat(edge.url, 300 + i, false)));
    assert.ok(back.every((o) => o.ok), JSON.stringify(back));
    assert.ok(
      back.some((o) => o.upstream === urls[1]),
      `the restarted backend takes traffic: ${JSON.stringify(back)}`,
    );

    const metrics = await (await fetch(`${edge.url}/metrics`)).text();
    for (const u of urls) {
      assert.match(metrics, new RegExp(`edge_upstream_requests_total\\{upstream="${u}"\\} [1-9]`));
      assert.match(metrics, new RegExp(`edge_upstream_up\\{upstream="${u}"\\} 1`));
    }
    assert.match(
      metrics,
      new RegExp(`edge_upstream_health_failures_total\\{upstream="${urls[1]}"\\} [1-9]`),
    );
    assert.equal((await edge.stop()).code, 0, "SIGTERM ends the edge cleanly");
  } finally {
    await edge.stop();
    await Promise.all(backends.map((b) => b?.stop()));
  }
});
