/**
 * From a hub model name to files on disk without any network: the cache lookup `serve` does at
 * start, and the one paragraph it prints when the files are not there.
 *
 * @module
 */
import { type CachedModel, findCachedModel, type HubEnv, repoFolder } from "./hf_cache.ts";
import { expectedFileNames, formatModelSpec, type HubModelSpec, parseModelSpec } from "./spec.ts";

/** The named hub model is not in the cache (and could not be fetched, when `cause` says why). */
export class ModelNotAvailableError extends Error {
  constructor(readonly spec: HubModelSpec, readonly env: HubEnv, readonly reason?: string) {
    super(modelMissingParagraph(spec, env, reason));
    this.name = "ModelNotAvailableError";
  }
}

/**
 * One paragraph: what was tried (repo, files, endpoint), where the files may go (the cache
 * layout) and which flags name files elsewhere.
 */
export function modelMissingParagraph(spec: HubModelSpec, env: HubEnv, cause?: string): string {
  const names = expectedFileNames(spec);
  const files = names
    ? `${names.model} and ${names.mmproj}`
    : `the ${spec.quant} GGUF and its mmproj`;
  const folder = repoFolder(env.cacheDir, spec.repo);
  const tried = env.offline
    ? `HF_HUB_OFFLINE is set, so only the cache was searched`
    : `tried ${env.endpoint}/${spec.repo}${cause ? ` and failed: ${cause}` : ""}`;
  return `model ${formatModelSpec(spec)} is not available: it needs ${files} from the Hugging ` +
    `Face repo ${spec.repo} (revision ${spec.revision}); ${tried}. Put the files in the Hugging ` +
    `Face cache as ${folder}/snapshots/<commit>/<file> with ${folder}/refs/${spec.revision} ` +
    `holding <commit> (\`./run pull ${formatModelSpec(spec)}\` or \`huggingface-cli download\` ` +
    `on a machine with access writes exactly that; HF_HUB_CACHE or HF_HOME move the cache, ` +
    `HF_ENDPOINT names a mirror), or name GGUF files anywhere on disk with --model PATH and ` +
    `--mmproj PATH.`;
}

/** The cached pair for a hub model name, or ModelNotAvailableError. */
export async function resolveCachedModel(name: string, env: HubEnv): Promise<CachedModel> {
  const spec = parseModelSpec(name);
  const cached = await findCachedModel(spec, env.cacheDir);
  if (!cached) throw new ModelNotAvailableError(spec, env);
  return cached;
}
