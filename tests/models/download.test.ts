/**
 * The downloader against a local server that behaves like the hub (tree API, resolve with
 * X-Repo-Commit / X-Linked-Etag / X-Linked-Size and a redirect, a CDN with Range support).
 */
import assert from "node:assert/strict";
import {
  ChecksumMismatchError,
  type DownloadProgress,
  formatProgress,
  HubDownloadError,
  pullModel,
} from "../../src/models/download.ts";
import { findCachedModel, type HubEnv, repoFolder } from "../../src/models/hf_cache.ts";
import { parseModelSpec } from "../../src/models/spec.ts";
import { sha256Hex, startFakeHub } from "./fake_hub.ts";

const REPO = "ggml-org/SmolVLM-500M-Instruct-GGUF";
const COMMIT = "0123456789abcdef0123456789abcdef01234567";

function bytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

const MODEL = { path: "SmolVLM-500M-Instruct-Q8_0.gguf", bytes: bytes(300_000, 1) };
const MMPROJ = { path: "mmproj-SmolVLM-500M-Instruct-Q8_0.gguf", bytes: bytes(120_000, 2) };
const OTHER = { path: "SmolVLM-500M-Instruct-f16.gguf", bytes: bytes(1000, 3) };
const FILES = [MODEL, MMPROJ, OTHER, { path: "README.md", bytes: bytes(10, 4) }];

function envFor(endpoint: string, cacheDir: string, extra: Partial<HubEnv> = {}): HubEnv {
  return { cacheDir, endpoint, token: null, offline: false, ...extra };
}

Deno.test("pullModel() downloads the quantization's pair into the Hugging Face cache layout", async () => {
  await using hub = startFakeHub({ repo: REPO, commit: COMMIT, files: FILES, token: "hf_secret" });
  const cache = await Deno.makeTempDir();
  const progress: DownloadProgress[] = [];
  const got = await pullModel(parseModelSpec("smolvlm-500m:Q8_0"), {
    env: envFor(hub.endpoint, cache, { token: "hf_secret" }),
    onProgress: (p) => progress.push(p),
  });
  const folder = repoFolder(cache, REPO);
  assert.equal(folder, `${cache}/models--ggml-org--SmolVLM-500M-Instruct-GGUF`);
  assert.equal(got.commit, COMMIT);
  assert.equal(got.model, `${folder}/snapshots/${COMMIT}/${MODEL.path}`);
  assert.equal(got.mmproj, `${folder}/snapshots/${COMMIT}/${MMPROJ.path}`);
  // huggingface_hub's conventions: refs/main names the commit, snapshot entries are relative
  // symlinks to blobs named by SHA-256, no partials left.
  assert.equal(await Deno.readTextFile(`${folder}/refs/main`), COMMIT);
  assert.equal(await Deno.readLink(got.model), `../../blobs/${sha256Hex(MODEL.bytes)}`);
  assert.deepEqual(await Deno.readFile(got.model), MODEL.bytes);
  assert.deepEqual(await Deno.readFile(got.mmproj!), MMPROJ.bytes);
  const blobs = [];
  for await (const e of Deno.readDir(`${folder}/blobs`)) blobs.push(e.name);
  assert.deepEqual(blobs.toSorted(), [sha256Hex(MODEL.bytes), sha256Hex(MMPROJ.bytes)].toSorted());
  assert.ok(!hub.log.some((l) => l.includes(OTHER.path)), "only the Q8_0 pair is fetched");
  const last = progress.findLast((p) => p.file === MODEL.path)!;
  assert.equal(last.done, true);
  assert.equal(last.bytes, MODEL.bytes.length);
  assert.match(formatProgress(last), /MB \/ 0\.3 MB .*MB\/s +done/);
  // A second pull finds everything in the cache and sends nothing.
  const before = hub.log.length;
  await pullModel(parseModelSpec(`${REPO}:Q8_0`), { env: envFor(hub.endpoint, cache) });
  assert.equal(hub.log.length, before);
  await Deno.remove(cache, { recursive: true });
});

Deno.test("pullModel() resumes an interrupted transfer with a Range request", async () => {
  await using hub = startFakeHub({ repo: REPO, commit: COMMIT, files: FILES });
  const cache = await Deno.makeTempDir();
  const env = envFor(hub.endpoint, cache);
  hub.cutAfter = 100_000;
  await assert.rejects(pullModel(parseModelSpec("smolvlm-500m"), { env }));
  const partial = `${repoFolder(cache, REPO)}/blobs/${sha256Hex(MODEL.bytes)}.incomplete`;
  const kept = (await Deno.stat(partial)).size;
  assert.ok(kept > 0 && kept < MODEL.bytes.length, `partial of ${kept} bytes kept`);
  const progress: DownloadProgress[] = [];
  const got = await pullModel(parseModelSpec("smolvlm-500m"), {
    env,
    onProgress: (p) => progress.push(p),
  });
  assert.ok(
    hub.log.includes(`GET /cdn/${sha256Hex(MODEL.bytes)} bytes=${kept}-`),
    hub.log.join("\n"),
  );
  assert.equal(progress.find((p) => p.file === MODEL.path)!.resumedFrom, kept);
  assert.deepEqual(await Deno.readFile(got.model), MODEL.bytes);
  await assert.rejects(Deno.stat(partial), Deno.errors.NotFound);
  await Deno.remove(cache, { recursive: true });
});

Deno.test("pullModel() refuses bytes that do not match the hub's SHA-256 and keeps nothing", async () => {
  await using hub = startFakeHub({ repo: REPO, commit: COMMIT, files: FILES });
  const cache = await Deno.makeTempDir();
  hub.corrupt = true;
  await assert.rejects(
    pullModel(parseModelSpec("smolvlm-500m"), { env: envFor(hub.endpoint, cache) }),
    ChecksumMismatchError,
  );
  const blobs = [];
  for await (const e of Deno.readDir(`${repoFolder(cache, REPO)}/blobs`)) blobs.push(e.name);
  assert.deepEqual(blobs, [], "neither blob nor partial is kept");
  assert.equal(await findCachedModel(parseModelSpec("smolvlm-500m"), cache), null);
  await Deno.remove(cache, { recursive: true });
});

Deno.test("pullModel() names the SHA-256s when a checksum fails", async () => {
  await using hub = startFakeHub({ repo: REPO, commit: COMMIT, files: FILES });
  const cache = await Deno.makeTempDir();
  hub.corrupt = true;
  try {
    await pullModel(parseModelSpec("smolvlm-500m"), { env: envFor(hub.endpoint, cache) });
    assert.fail("expected a checksum error");
  } catch (e) {
    assert.ok(e instanceof ChecksumMismatchError);
    assert.match(e.message, new RegExp(`the hub publishes ${sha256Hex(MODEL.bytes)}`));
    assert.match(e.message, /discarded/);
  }
  await Deno.remove(cache, { recursive: true });
});

Deno.test("pullModel() in offline mode uses the cache only and sends no request", async () => {
  await using hub = startFakeHub({ repo: REPO, commit: COMMIT, files: FILES });
  const cache = await Deno.makeTempDir();
  const spec = parseModelSpec("smolvlm-500m");
  await assert.rejects(
    pullModel(spec, { env: envFor(hub.endpoint, cache, { offline: true }) }),
    (e: Error) => e instanceof HubDownloadError && /HF_HUB_OFFLINE/.test(e.message),
  );
  assert.deepEqual(hub.log, []);
  await pullModel(spec, { env: envFor(hub.endpoint, cache) });
  const n = hub.log.length;
  const got = await pullModel(spec, { env: envFor(hub.endpoint, cache, { offline: true }) });
  assert.equal(hub.log.length, n);
  assert.deepEqual(await Deno.readFile(got.model), MODEL.bytes);
  await Deno.remove(cache, { recursive: true });
});

Deno.test("pullModel() reports an unreachable endpoint and a missing quantization clearly", async () => {
  const cache = await Deno.makeTempDir();
  const closed = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (closed.addr as Deno.NetAddr).port;
  closed.close();
  await assert.rejects(
    pullModel(parseModelSpec("smolvlm-500m"), { env: envFor(`http://127.0.0.1:${port}`, cache) }),
    (e: Error) =>
      e instanceof HubDownloadError &&
      e.message.includes(`http://127.0.0.1:${port}/api/models/${REPO}/tree/main`),
  );
  await using hub = startFakeHub({ repo: REPO, commit: COMMIT, files: FILES });
  await assert.rejects(
    pullModel(parseModelSpec("smolvlm-500m:Q4_K_M"), { env: envFor(hub.endpoint, cache) }),
    (e: Error) => e instanceof HubDownloadError && /no Q4_K_M GGUF/.test(e.message),
  );
  await Deno.remove(cache, { recursive: true });
});
