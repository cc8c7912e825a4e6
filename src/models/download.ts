/**
 * Downloads a hub model's GGUF pair into the standard Hugging Face cache: resumable (HTTP Range
 * on the `.incomplete` partial), verified against the hub's SHA-256 before the blob exists,
 * written atomically (rename), then linked from `snapshots/<commit>/` with `refs/<branch>`
 * naming the commit, as huggingface_hub does.
 *
 * The repo listing uses `@huggingface/hub`'s `listFiles`. The file transfer is written here:
 * the library's `downloadFileToCacheDir` restarts a partial from zero, never checks the SHA-256,
 * reports no progress and writes no `refs/`, and `fileDownloadInfo` follows redirects, so the
 * commit (`X-Repo-Commit`, only on the hub's own response) is lost.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { listFiles } from "@huggingface/hub";
import {
  type CachedModel,
  findCachedModel,
  type HubEnv,
  isCommitHash,
  repoFolder,
} from "./hf_cache.ts";
import { expectedFileNames, formatModelSpec, type HubModelSpec, pickModelFiles } from "./spec.ts";

/** Progress of one file: bytes so far (including a resumed part), total, rate, ETA. */
export interface DownloadProgress {
  readonly file: string;
  readonly bytes: number;
  readonly total: number;
  readonly bytesPerSecond: number;
  readonly etaSeconds: number | null;
  readonly resumedFrom: number;
  readonly done: boolean;
}

/** The hub could not be reached, or refused, or a file failed its checksum. */
export class HubDownloadError extends Error {
  constructor(message: string, readonly url: string) {
    super(message);
  }
}

/** The downloaded bytes do not hash to the hub's SHA-256; nothing was kept. */
export class ChecksumMismatchError extends HubDownloadError {}

export interface DownloadOptions {
  readonly env: HubEnv;
  readonly fetch?: typeof fetch;
  readonly onProgress?: (p: DownloadProgress) => void;
  readonly signal?: AbortSignal;
}

interface RemoteFile {
  readonly path: string;
  readonly commit: string;
  readonly sha256: string;
  readonly size: number;
  /** Where the bytes are: the hub's redirect target, or the resolve URL itself. */
  readonly location: string;
}

function authHeaders(env: HubEnv): Record<string, string> {
  return env.token ? { Authorization: `Bearer ${env.token}` } : {};
}

function resolveUrl(env: HubEnv, repo: string, revision: string, path: string): string {
  return `${env.endpoint}/${repo}/resolve/${encodeURIComponent(revision)}/${path}`;
}

/** ETag values arrive quoted and sometimes weak (`W/"…"`). */
function unquoteEtag(v: string | null): string | null {
  if (!v) return null;
  return v.replace(/^W\//, "").replace(/^"|"$/g, "");
}

/**
 * huggingface_hub's `get_hf_file_metadata`: the hub's own answer to a HEAD on the resolve URL,
 * redirects not followed, gives the commit, the LFS SHA-256 (`X-Linked-Etag`, else `ETag`), the
 * size and the CDN location.
 */
async function remoteFile(
  spec: HubModelSpec,
  path: string,
  listedSha: string | null,
  opts: DownloadOptions,
): Promise<RemoteFile> {
  const f = opts.fetch ?? fetch;
  const url = resolveUrl(opts.env, spec.repo, spec.revision, path);
  let res: Response;
  try {
    res = await f(url, {
      method: "HEAD",
      redirect: "manual",
      headers: { ...authHeaders(opts.env), "Accept-Encoding": "identity" },
      signal: opts.signal,
    });
  } catch (e) {
    throw new HubDownloadError(`cannot reach ${url}: ${(e as Error).message}`, url);
  }
  await res.body?.cancel();
  if (res.status >= 400) {
    throw new HubDownloadError(`${url} answered ${res.status} ${res.statusText}`.trim(), url);
  }
  const commit = res.headers.get("X-Repo-Commit") ??
    (isCommitHash(spec.revision) ? spec.revision : null);
  const etag = unquoteEtag(res.headers.get("X-Linked-Etag") ?? res.headers.get("ETag"));
  const sha256 = (etag && /^[0-9a-f]{64}$/.test(etag) ? etag : null) ?? listedSha;
  const size = Number(res.headers.get("X-Linked-Size") ?? res.headers.get("Content-Length"));
  if (!commit || !isCommitHash(commit)) {
    throw new HubDownloadError(`${url} gave no commit (X-Repo-Commit header)`, url);
  }
  if (!sha256) {
    throw new HubDownloadError(`${url} published no SHA-256 (X-Linked-Etag / ETag)`, url);
  }
  if (!Number.isSafeInteger(size) || size < 0) {
    throw new HubDownloadError(`${url} gave no size (X-Linked-Size / Content-Length)`, url);
  }
  const location = res.status >= 300 && res.headers.get("Location")
    ? new URL(res.headers.get("Location")!, url).href
    : url;
  return { path, commit, sha256, size, location };
}

async function fileSize(path: string): Promise<number> {
  try {
    return (await Deno.stat(path)).size;
  } catch {
    return 0;
  }
}

async function hashFile(path: string, hash: ReturnType<typeof createHash>): Promise<void> {
  using file = await Deno.open(path, { read: true });
  for await (const chunk of file.readable) hash.update(chunk);
}

/** Streams `file` into its blob, resuming a partial; returns the blob path once verified. */
async function downloadBlob(
  spec: HubModelSpec,
  file: RemoteFile,
  opts: DownloadOptions,
): Promise<string> {
  const folder = repoFolder(opts.env.cacheDir, spec.repo);
  const blob = `${folder}/blobs/${file.sha256}`;
  if (await fileSize(blob) === file.size && file.size > 0) return blob;
  await Deno.mkdir(`${folder}/blobs`, { recursive: true });
  const partial = `${blob}.incomplete`;
  let have = await fileSize(partial);
  if (have > file.size) {
    await Deno.remove(partial);
    have = 0;
  }
  const hash = createHash("sha256");
  if (have > 0) await hashFile(partial, hash);
  const resumedFrom = have;
  const f = opts.fetch ?? fetch;
  // The CDN location is pre-signed: the token goes to the hub's own origin only.
  const sameOrigin = new URL(file.location).origin === new URL(opts.env.endpoint).origin;
  const headers: Record<string, string> = {
    ...(sameOrigin ? authHeaders(opts.env) : {}),
    "Accept-Encoding": "identity",
    ...(have > 0 ? { Range: `bytes=${have}-` } : {}),
  };
  let res: Response;
  try {
    res = await f(file.location, { headers, signal: opts.signal });
  } catch (e) {
    throw new HubDownloadError(
      `cannot reach ${file.location}: ${(e as Error).message}`,
      file.location,
    );
  }
  if (res.status === 416 && have === file.size) {
    await res.body?.cancel();
  } else {
    if (res.status !== 200 && res.status !== 206) {
      await res.body?.cancel();
      throw new HubDownloadError(
        `${file.location} answered ${res.status} ${res.statusText}`.trim(),
        file.location,
      );
    }
    const start = res.status === 206
      ? Number(/^bytes (\d+)-/.exec(res.headers.get("Content-Range") ?? "")?.[1] ?? NaN)
      : 0;
    if (start !== have) {
      // A server that ignores Range (200) or answers another range: start over.
      if (res.status === 206) {
        await res.body?.cancel();
        throw new HubDownloadError(`${file.location} answered an unexpected range`, file.location);
      }
      have = 0;
    }
    const digest = start === 0 && resumedFrom > 0 ? createHash("sha256") : hash;
    using out = await Deno.open(partial, {
      write: true,
      create: true,
      truncate: have === 0,
      append: have > 0,
    });
    const began = performance.now();
    let bytes = have;
    let lastReport = 0;
    const report = (done: boolean) => {
      const seconds = (performance.now() - began) / 1000;
      const rate = seconds > 0 ? (bytes - have) / seconds : 0;
      opts.onProgress?.({
        file: file.path,
        bytes,
        total: file.size,
        bytesPerSecond: rate,
        etaSeconds: rate > 0 ? (file.size - bytes) / rate : null,
        resumedFrom: have,
        done,
      });
    };
    if (res.body) {
      for await (const chunk of res.body) {
        digest.update(chunk);
        let off = 0;
        while (off < chunk.length) off += await out.write(chunk.subarray(off));
        bytes += chunk.length;
        if (performance.now() - lastReport > 250) {
          lastReport = performance.now();
          report(false);
        }
      }
    }
    await out.syncData();
    report(true);
    if (bytes !== file.size) {
      throw new HubDownloadError(
        `${file.location} ended after ${bytes} of ${file.size} bytes; run again to resume`,
        file.location,
      );
    }
    return await verifyAndCommit(partial, blob, file, digest.digest("hex"));
  }
  return await verifyAndCommit(partial, blob, file, hash.digest("hex"));
}

async function verifyAndCommit(
  partial: string,
  blob: string,
  file: RemoteFile,
  sha256: string,
): Promise<string> {
  if (sha256 !== file.sha256) {
    await Deno.remove(partial).catch(() => {});
    throw new ChecksumMismatchError(
      `${file.path}: downloaded bytes hash to ${sha256}, the hub publishes ${file.sha256}; ` +
        `the file was discarded (run again to download it anew)`,
      file.location,
    );
  }
  // rename(2) within one directory is atomic: a blob either is complete or does not exist.
  await Deno.rename(partial, blob);
  return blob;
}

async function linkSnapshot(
  env: HubEnv,
  spec: HubModelSpec,
  file: RemoteFile,
): Promise<string> {
  const folder = repoFolder(env.cacheDir, spec.repo);
  const pointer = `${folder}/snapshots/${file.commit}/${file.path}`;
  const dir = pointer.slice(0, pointer.lastIndexOf("/"));
  await Deno.mkdir(dir, { recursive: true });
  // Relative, like huggingface_hub's: the cache stays valid when moved.
  const up = "../".repeat(file.path.split("/").length + 1);
  const target = `${up}blobs/${file.sha256}`;
  const tmp = `${pointer}.${crypto.randomUUID()}.tmp`;
  try {
    await Deno.symlink(target, tmp);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotCapable)) throw e;
    // Deno 2.9 allows symlink() only under unscoped read+write; `pull` runs with the cache
    // directory alone, so the entry becomes a hard link to the blob (same bytes, no copy),
    // which huggingface_hub reads like its own no-symlink cache mode.
    await Deno.link(`${folder}/blobs/${file.sha256}`, tmp);
  }
  await Deno.rename(tmp, pointer);
  return pointer;
}

async function writeRef(env: HubEnv, spec: HubModelSpec, commit: string): Promise<void> {
  if (isCommitHash(spec.revision)) return;
  const folder = repoFolder(env.cacheDir, spec.repo);
  const ref = `${folder}/refs/${spec.revision}`;
  await Deno.mkdir(ref.slice(0, ref.lastIndexOf("/")), { recursive: true });
  const tmp = `${ref}.${crypto.randomUUID()}.tmp`;
  await Deno.writeTextFile(tmp, commit);
  await Deno.rename(tmp, ref);
}

/** The files a spec names on the hub, with their listed SHA-256 (LFS oid). */
async function listRepo(
  spec: HubModelSpec,
  opts: DownloadOptions,
): Promise<{ model: string; mmproj: string | null; sha: Map<string, string> }> {
  const treeUrl = `${opts.env.endpoint}/api/models/${spec.repo}/tree/${spec.revision}`;
  const sha = new Map<string, string>();
  const paths: string[] = [];
  try {
    for await (
      const entry of listFiles({
        repo: { type: "model", name: spec.repo },
        revision: spec.revision,
        hubUrl: opts.env.endpoint,
        accessToken: opts.env.token ?? undefined,
        fetch: opts.fetch,
      })
    ) {
      if (entry.type !== "file") continue;
      paths.push(entry.path);
      if (entry.lfs?.oid) sha.set(entry.path, entry.lfs.oid);
    }
  } catch (e) {
    throw new HubDownloadError(`cannot list ${treeUrl}: ${(e as Error).message}`, treeUrl);
  }
  const picked = pickModelFiles(paths, spec.quant);
  if (!picked) {
    throw new HubDownloadError(
      `${spec.repo}@${spec.revision} has no ${spec.quant} GGUF (files: ${
        paths.filter((p) => p.endsWith(".gguf")).join(", ") || "none"
      })`,
      treeUrl,
    );
  }
  return { ...picked, sha };
}

/** Formats progress as one status line: bytes, rate, ETA. */
export function formatProgress(p: DownloadProgress): string {
  const mb = (n: number) => `${(n / 1e6).toFixed(1)} MB`;
  const pct = p.total > 0 ? ` ${(100 * p.bytes / p.total).toFixed(0).padStart(3)}%` : "";
  const eta = p.done
    ? "done"
    : p.etaSeconds === null
    ? "ETA --"
    : `ETA ${Math.ceil(p.etaSeconds)}s`;
  const resumed = p.resumedFrom > 0 ? ` (resumed at ${mb(p.resumedFrom)})` : "";
  return `${p.file}${pct} ${mb(p.bytes)} / ${mb(p.total)}  ${
    mb(p.bytesPerSecond)
  }/s  ${eta}${resumed}`;
}

/**
 * The spec's pair in the cache, downloading what is missing. With HF_HUB_OFFLINE set, only the
 * cache is consulted (a HubDownloadError when it lacks the files).
 */
export async function pullModel(spec: HubModelSpec, opts: DownloadOptions): Promise<CachedModel> {
  const cached = await findCachedModel(spec, opts.env.cacheDir);
  if (cached) return cached;
  if (opts.env.offline) {
    const names = expectedFileNames(spec);
    throw new HubDownloadError(
      `HF_HUB_OFFLINE is set and the cache lacks ${formatModelSpec(spec)}` +
        (names ? ` (${names.model}, ${names.mmproj})` : ""),
      resolveUrl(opts.env, spec.repo, spec.revision, ""),
    );
  }
  const listed = await listRepo(spec, opts);
  const wanted = [listed.model, ...(listed.mmproj ? [listed.mmproj] : [])];
  let commit: string | null = null;
  for (const path of wanted) {
    const file = await remoteFile(spec, path, listed.sha.get(path) ?? null, opts);
    commit ??= file.commit;
    // Both files come from one commit: later files resolve at the first file's commit.
    const pinned = file.commit === commit
      ? file
      : await remoteFile({ ...spec, revision: commit }, path, listed.sha.get(path) ?? null, opts);
    await downloadBlob(spec, pinned, opts);
    await linkSnapshot(opts.env, spec, pinned);
  }
  await writeRef(opts.env, spec, commit!);
  const done = await findCachedModel({ ...spec, revision: commit! }, opts.env.cacheDir);
  if (!done) throw new Error(`the cache does not show ${formatModelSpec(spec)} after download`);
  return done;
}
