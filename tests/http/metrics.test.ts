/** GET /metrics (prom-client): counters and histograms move as requests are served. */
import assert from "node:assert/strict";
import { FakeEngine } from "./fake_engine.ts";
import { chatBody, JSON_HEADERS, makeApp, metricSample as sample, pngDataUrl } from "./helpers.ts";

Deno.test("GET /metrics after a few requests: counters and histograms move as expected", async () => {
  const { app } = makeApp(new FakeEngine());
  const chat = (body: string) =>
    app.request("/v1/chat/completions", { method: "POST", headers: JSON_HEADERS, body });
  const scrape = async () => {
    const res = await app.request("/metrics");
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type")!, /^text\/plain; version=0\.0\.4/);
    return await res.text();
  };

  const before = await scrape();
  assert.equal(sample(before, 'smolvlm_lifecycle_state{state="ready"}'), 1);
  assert.equal(sample(before, 'smolvlm_lifecycle_state{state="loading"}'), 0);
  assert.ok(sample(before, 'smolvlm_process_memory_bytes{kind="rss"}') > 1e6, "rss measured");

  for (let i = 0; i < 2; i++) await (await chat(chatBody({ max_tokens: 8 }))).text();
  const image = [
    { type: "text", text: "what is it?" },
    { type: "image_url", image_url: { url: await pngDataUrl(64, 48) } },
  ];
  await (await chat(chatBody({ stream: true }, image))).text();
  await (await chat("{not json")).text();
  await (await app.request("/v1/models/nope")).text();

  const after = await scrape();
  const chatOk = 'smolvlm_http_requests_total{method="POST",route="/v1/chat/completions",' +
    'status="200"}';
  assert.equal(sample(after, chatOk), 3);
  assert.equal(
    sample(after, 'smolvlm_http_errors_total{route="/v1/chat/completions",status="400"}'),
    1,
  );
  assert.equal(
    sample(after, 'smolvlm_http_errors_total{route="/v1/models/:id{.+}",status="404"}'),
    1,
  );
  assert.equal(sample(after, "smolvlm_completion_tokens_total"), 12, "4 tokens x 3");
  assert.equal(sample(after, "smolvlm_images_total"), 1);
  assert.equal(sample(after, 'smolvlm_generations_total{finish_reason="stop"}'), 3);
  // Histograms: one observation per generation (total, prefill, queue, decode rate), one per
  // streamed generation (TTFT), one per generation with images (preprocess, encode).
  for (const name of ["generation_duration", "prefill", "queue_wait"]) {
    assert.equal(sample(after, `smolvlm_${name}_seconds_count`), 3, name);
  }
  assert.equal(sample(after, "smolvlm_decode_tokens_per_second_count"), 3);
  assert.equal(sample(after, "smolvlm_decode_tokens_per_second_sum"), 300, "100 tokens/s x 3");
  assert.equal(sample(after, "smolvlm_time_to_first_token_seconds_count"), 1);
  assert.equal(sample(after, "smolvlm_image_preprocess_seconds_count"), 1);
  assert.ok(sample(after, "smolvlm_image_preprocess_seconds_sum") > 0, "pipeline time recorded");
  assert.equal(sample(after, "smolvlm_image_encode_seconds_count"), 1);
  assert.equal(
    sample(
      after,
      'smolvlm_http_request_duration_seconds_bucket{le="+Inf",method="POST",' +
        'route="/v1/chat/completions"}',
    ),
    4,
  );
  assert.equal(sample(after, "smolvlm_queue_depth"), 0);
  assert.equal(sample(after, "smolvlm_http_in_flight_requests"), 0);
  // The first scrape itself is counted by the second.
  assert.equal(
    sample(after, 'smolvlm_http_requests_total{method="GET",route="/metrics",status="200"}'),
    1,
  );
});

Deno.test("GET /metrics follows the engine's image-cache totals monotonically across a reload", async () => {
  const engine = new FakeEngine();
  let cache = { hits: 3, misses: 2, entries: 2, bytes: 1000, capacityBytes: 10_000 };
  const stats = engine.stats.bind(engine);
  engine.stats = () => ({ ...stats(), imageCache: cache });
  const { app } = makeApp(engine);
  const scrape = async () => await (await app.request("/metrics")).text();
  let text = await scrape();
  assert.equal(sample(text, "smolvlm_image_cache_hits_total"), 3);
  assert.equal(sample(text, "smolvlm_image_cache_misses_total"), 2);
  assert.equal(sample(text, "smolvlm_image_cache_entries"), 2);
  cache = { ...cache, hits: 5 };
  assert.equal(sample(await scrape(), "smolvlm_image_cache_hits_total"), 5);
  // A reloaded model's cache starts from zero: the counter keeps counting on.
  cache = { ...cache, hits: 1, misses: 0, entries: 0 };
  text = await scrape();
  assert.equal(sample(text, "smolvlm_image_cache_hits_total"), 6);
  assert.equal(sample(text, "smolvlm_image_cache_misses_total"), 2);
});

Deno.test("GET /metrics and /v1/info report the engine's slots: states and KV positions held", async () => {
  const slots = [
    { sequence: 0, state: "generate", kvTokens: 120 },
    { sequence: 1, state: "idle", kvTokens: 300 },
    { sequence: 2, state: "idle", kvTokens: 0 },
  ] as const;
  const { app } = makeApp(new FakeEngine({ parallel: 3, slots }));
  const text = await (await app.request("/metrics")).text();
  assert.equal(sample(text, 'smolvlm_slots{state="generate"}'), 1);
  assert.equal(sample(text, 'smolvlm_slots{state="prefill"}'), 0);
  assert.equal(sample(text, 'smolvlm_slots{state="idle"}'), 2);
  assert.equal(sample(text, "smolvlm_kv_cache_tokens"), 420);
  assert.match(text, /# TYPE smolvlm_slots gauge/);
  const info = await (await app.request("/v1/info")).json();
  assert.deepEqual(info.slots, [
    { sequence: 0, state: "generate", kv_tokens: 120 },
    { sequence: 1, state: "idle", kv_tokens: 300 },
    { sequence: 2, state: "idle", kv_tokens: 0 },
  ]);
});
