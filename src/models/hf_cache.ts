/**
 * The standard Hugging Face cache layout, shared with huggingface_hub, transformers and
 * llama.cpp's `-hf`: `<cache>/models--org--name/{blobs/<sha256>, snapshots/<commit>/<file> →
 * ../../blobs/<sha256>, refs/<branch>}` with `.incomplete` partial blobs. The environment
 * variables are huggingface_hub's: HF_HUB_CACHE, HF_HOME, HF_ENDPOINT, HF_TOKEN, HF_HUB_OFFLINE.
 *
 * @module
 */
import { type HubModelSpec, pickModelFiles } from "./spec.ts";

export const DEFAULT_ENDPOINT = "https://huggingface.co";

/** Every variable this module reads (the launcher grants exactly these to `pull`). */
export const HUB_ENV_VARS: readonly string[] = [
  "HF_HUB_CACHE",
  "HUGGINGFACE_HUB_CACHE",
  "HF_HOME",
  "XDG_CACHE_HOME",
  "HOME",
  "HF_ENDPOINT",
  "HF_TOKEN",
  "HF_HUB_OFFLINE",
];

export interface HubEnv {
  readonly cacheDir: string;
  readonly endpoint: string;
  readonly token: string | null;
  readonly offline: boolean;
}

type EnvGet = (name: string) => string | undefined;

function safeEnv(name: string): string | undefined {
  try {
    return Deno.env.get(name) || undefined;
  } catch {
    // Not granted: the variable counts as unset.
    return undefined;
  }
}

/** huggingface_hub's resolution of the cache directory, endpoint, token and offline switch. */
export function hubEnv(get: EnvGet = safeEnv): HubEnv {
  const home = get("HOME") ?? "/root";
  const hfHome = get("HF_HOME") ?? `${get("XDG_CACHE_HOME") ?? `${home}/.cache`}/huggingface`;
  const cacheDir = get("HF_HUB_CACHE") ?? get("HUGGINGFACE_HUB_CACHE") ?? `${hfHome}/hub`;
  const offline = ["1", "on", "yes", "true"].includes((get("HF_HUB_OFFLINE") ?? "").toLowerCase());
  return {
    cacheDir: cacheDir.replace(/\/+$/, ""),
    endpoint: (get("HF_ENDPOINT") ?? DEFAULT_ENDPOINT).replace(/\/+$/, ""),
    token: get("HF_TOKEN") ?? null,
    offline,
  };
}

/** `<cache>/models--org--name`. */
export function repoFolder(cacheDir: string, repo: string): string {
  return `${cacheDir}/models--${repo.split("/").join("--")}`;
}

const COMMIT = /^[0-9a-f]{40}$/;

export function isCommitHash(revision: string): boolean {
  return COMMIT.test(revision);
}

/** A model pair found in (or written to) the cache: snapshot paths, which are symlinks to blobs. */
export interface CachedModel {
  readonly repo: string;
  readonly commit: string;
  readonly snapshotDir: string;
  readonly model: string;
  readonly mmproj: string | null;
}

async function readRef(folder: string, revision: string): Promise<string | null> {
  if (isCommitHash(revision)) return revision;
  try {
    const commit = (await Deno.readTextFile(`${folder}/refs/${revision}`)).trim();
    return isCommitHash(commit) ? commit : null;
  } catch {
    return null;
  }
}

async function listSnapshot(dir: string, prefix = ""): Promise<string[]> {
  const out: string[] = [];
  try {
    for await (const e of Deno.readDir(`${dir}/${prefix}`)) {
      const rel = prefix ? `${prefix}/${e.name}` : e.name;
      if (e.isDirectory && !prefix) out.push(...await listSnapshot(dir, rel));
      else if (!e.isDirectory) out.push(rel);
    }
  } catch {
    // A missing snapshot lists as empty.
  }
  return out;
}

async function resolvesToFile(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isFile;
  } catch {
    return false;
  }
}

/**
 * The spec's files as the cache holds them, without any network: `refs/<revision>` names the
 * commit, its snapshot holds the quantization's files (symlinks whose blobs must exist).
 */
export async function findCachedModel(
  spec: HubModelSpec,
  cacheDir: string,
): Promise<CachedModel | null> {
  const folder = repoFolder(cacheDir, spec.repo);
  const commit = await readRef(folder, spec.revision);
  if (!commit) return null;
  const snapshotDir = `${folder}/snapshots/${commit}`;
  const picked = pickModelFiles(await listSnapshot(snapshotDir), spec.quant);
  if (!picked) return null;
  const model = `${snapshotDir}/${picked.model}`;
  const mmproj = picked.mmproj ? `${snapshotDir}/${picked.mmproj}` : null;
  if (!await resolvesToFile(model)) return null;
  if (mmproj && !await resolvesToFile(mmproj)) return null;
  return { repo: spec.repo, commit, snapshotDir, model, mmproj };
}
