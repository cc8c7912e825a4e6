/**
 * `main.ts pull NAME`: downloads a hub model (`org/repo:QUANT` or an alias) into the Hugging
 * Face cache, with progress on stderr, and prints the two cached paths on stdout. `./run pull`
 * grants it the endpoint's hosts and the cache directory only; `./run serve` runs it before
 * the server when the cache lacks the model, so the server itself never reaches the network.
 *
 * @module
 */
import { formatProgress, HubDownloadError, pullModel } from "../models/download.ts";
import { hubEnv } from "../models/hf_cache.ts";
import { ModelNotAvailableError } from "../models/resolve.ts";
import { DEFAULT_MODEL_SPEC, ModelSpecError, parseModelSpec } from "../models/spec.ts";

export const PULL_USAGE = `usage: ./run pull [NAME]
  NAME   a Hugging Face GGUF repo with a quantization (ggml-org/SmolVLM-500M-Instruct-GGUF:Q8_0)
         or an alias (smolvlm2-500m-video[:Q8_0], ...); default ${DEFAULT_MODEL_SPEC}
  Downloads the text GGUF and its mmproj into the Hugging Face cache (HF_HUB_CACHE / HF_HOME),
  resumable, checked against the hub's SHA-256; honours HF_TOKEN, HF_ENDPOINT, HF_HUB_OFFLINE.`;

function progressPrinter(): (line: string, done: boolean) => void {
  const tty = Deno.stderr.isTerminal();
  const enc = new TextEncoder();
  let last = 0;
  return (line, done) => {
    if (tty) {
      Deno.stderr.writeSync(enc.encode(`\r\x1b[2K${line}${done ? "\n" : ""}`));
    } else if (done || performance.now() - last > 5000) {
      // Logs and pipes get a line every few seconds instead of a redrawn bar.
      last = performance.now();
      Deno.stderr.writeSync(enc.encode(`${line}\n`));
    }
  };
}

export async function runPull(args: string[]): Promise<number> {
  if (args.includes("--help") || args.includes("-h")) {
    console.log(PULL_USAGE);
    return 0;
  }
  if (args.length > 1) {
    console.error(`pull: expected one model name\n${PULL_USAGE}`);
    return 2;
  }
  let spec;
  try {
    spec = parseModelSpec(args[0] ?? DEFAULT_MODEL_SPEC);
  } catch (e) {
    if (!(e instanceof ModelSpecError)) throw e;
    console.error(`pull: ${e.message}`);
    return 2;
  }
  const env = hubEnv();
  const print = progressPrinter();
  try {
    const got = await pullModel(spec, {
      env,
      onProgress: (p) => print(formatProgress(p), p.done),
    });
    console.log(got.model);
    if (got.mmproj) console.log(got.mmproj);
    return 0;
  } catch (e) {
    if (!(e instanceof HubDownloadError)) throw e;
    console.error(`pull: ${new ModelNotAvailableError(spec, env, e.message).message}`);
    return 1;
  }
}
