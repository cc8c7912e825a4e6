/**
 * Model names: a Hugging Face repo id with a quantization (`ggml-org/SmolVLM-500M-Instruct-GGUF:Q8_0`,
 * the seed's `smolvlm_version`), a family alias (`smolvlm2-500m-video`), or a local GGUF path.
 * Pure TypeScript: no engine, no FFI, no file system.
 *
 * @module
 */

/** A model on the Hugging Face Hub: which repo, which quantization, which revision. */
export interface HubModelSpec {
  /** `org/name` of a GGUF repo. */
  readonly repo: string;
  /** Quantization label as it appears in the file names (`Q8_0`, `Q4_K_M`, `F16`). */
  readonly quant: string;
  /** Branch, tag or commit; `main` unless given with `@`. */
  readonly revision: string;
  /**
   * The family's file stem when the repo follows ggml-org's naming (`SmolVLM2-500M-Video-Instruct`
   * → `SmolVLM2-500M-Video-Instruct-Q8_0.gguf` + `mmproj-…-Q8_0.gguf`); null for other repos.
   */
  readonly stem: string | null;
}

/** One member of the SmolVLM family and the ggml-org repo that publishes its GGUFs. */
export interface FamilyModel {
  readonly alias: string;
  readonly repo: string;
  readonly stem: string;
  /** Other names users type for it (HF model ids, the seed's `model_name`). */
  readonly names: readonly string[];
}

export const SMOLVLM_FAMILY: readonly FamilyModel[] = [
  {
    alias: "smolvlm-256m",
    repo: "ggml-org/SmolVLM-256M-Instruct-GGUF",
    stem: "SmolVLM-256M-Instruct",
    names: ["SmolVLM-256M-Instruct", "HuggingFaceTB/SmolVLM-256M-Instruct", "SmolVLM-256M"],
  },
  {
    alias: "smolvlm-500m",
    repo: "ggml-org/SmolVLM-500M-Instruct-GGUF",
    stem: "SmolVLM-500M-Instruct",
    names: ["SmolVLM-500M-Instruct", "HuggingFaceTB/SmolVLM-500M-Instruct", "SmolVLM-500M"],
  },
  {
    alias: "smolvlm-2.2b",
    repo: "ggml-org/SmolVLM-Instruct-GGUF",
    stem: "SmolVLM-Instruct",
    names: ["SmolVLM-Instruct", "HuggingFaceTB/SmolVLM-Instruct", "SmolVLM", "SmolVLM-2.2B"],
  },
  {
    alias: "smolvlm2-256m-video",
    repo: "ggml-org/SmolVLM2-256M-Video-Instruct-GGUF",
    stem: "SmolVLM2-256M-Video-Instruct",
    names: [
      "SmolVLM2-256M-Video-Instruct",
      "HuggingFaceTB/SmolVLM2-256M-Video-Instruct",
      "SmolVLM2-256M-Video",
      "SmolVLM2-256M",
    ],
  },
  {
    alias: "smolvlm2-500m-video",
    repo: "ggml-org/SmolVLM2-500M-Video-Instruct-GGUF",
    stem: "SmolVLM2-500M-Video-Instruct",
    names: [
      "SmolVLM2-500M-Video-Instruct",
      "HuggingFaceTB/SmolVLM2-500M-Video-Instruct",
      "SmolVLM2-500M-Video",
      "SmolVLM2-500M",
    ],
  },
  {
    alias: "smolvlm2-2.2b",
    repo: "ggml-org/SmolVLM2-2.2B-Instruct-GGUF",
    stem: "SmolVLM2-2.2B-Instruct",
    names: ["SmolVLM2-2.2B-Instruct", "HuggingFaceTB/SmolVLM2-2.2B-Instruct", "SmolVLM2-2.2B"],
  },
];

export const DEFAULT_QUANT = "Q8_0";
/** The seed's `model_name` (SmolVLM2-500M-Video-Instruct) in Q8_0. */
export const DEFAULT_MODEL_SPEC = "smolvlm2-500m-video:Q8_0";

/** A model name that is neither a known alias, a repo id, nor a path. */
export class ModelSpecError extends Error {}

const REPO_ID = /^[A-Za-z0-9][\w.-]*\/[A-Za-z0-9][\w.-]*$/;
const QUANT = /^[A-Za-z0-9_]+$/;
const REVISION = /^[\w.\-/]+$/;

function familyByName(name: string): FamilyModel | undefined {
  const n = name.toLowerCase();
  return SMOLVLM_FAMILY.find((m) =>
    m.alias === n || m.repo.toLowerCase() === n || m.names.some((x) => x.toLowerCase() === n)
  );
}

/**
 * Whether a `--model` value names a file rather than a hub model: it ends in `.gguf`, starts
 * like a path (`/`, `./`, `../`, `~`), or is neither an alias nor an `org/name` repo id.
 */
export function isLocalModelPath(value: string): boolean {
  if (/\.gguf$/i.test(value)) return true;
  if (/^(\/|\.\.?\/|~)/.test(value)) return true;
  const [name = ""] = value.split(/[:@]/, 1);
  return familyByName(name) === undefined && !REPO_ID.test(name);
}

/**
 * Parses `repo[:QUANT][@revision]` or `alias[:QUANT][@revision]`; the quantization defaults to
 * Q8_0 and the revision to `main`.
 */
export function parseModelSpec(value: string): HubModelSpec {
  const at = value.indexOf("@");
  const head = at >= 0 ? value.slice(0, at) : value;
  const revision = at >= 0 ? value.slice(at + 1) : "main";
  const colon = head.indexOf(":");
  const name = colon >= 0 ? head.slice(0, colon) : head;
  const quant = colon >= 0 ? head.slice(colon + 1) : DEFAULT_QUANT;
  if (!QUANT.test(quant)) {
    throw new ModelSpecError(`model '${value}': quantization '${quant}' is not a label like Q8_0`);
  }
  if (!revision || !REVISION.test(revision) || revision.includes("..")) {
    throw new ModelSpecError(`model '${value}': revision '${revision}' is not a branch or commit`);
  }
  const family = familyByName(name);
  if (family) return { repo: family.repo, quant, revision, stem: family.stem };
  if (!REPO_ID.test(name)) {
    throw new ModelSpecError(
      `model '${value}' is not a GGUF path, a Hugging Face repo id (org/name[:QUANT]) or one of ` +
        SMOLVLM_FAMILY.map((m) => m.alias).join(", "),
    );
  }
  return { repo: name, quant, revision, stem: null };
}

/** `repo:QUANT[@rev]`, the canonical spelling. */
export function formatModelSpec(spec: HubModelSpec): string {
  return `${spec.repo}:${spec.quant}${spec.revision === "main" ? "" : `@${spec.revision}`}`;
}

/**
 * The quantization label inside a GGUF file name, case-insensitively and whole: `Q4_K` does not
 * match `Q4_K_M` (a label ends at `-`, `.` or the end of the name).
 */
function hasQuant(file: string, quant: string): boolean {
  const q = quant.toLowerCase().replace(/[^a-z0-9_]/g, "");
  return new RegExp(`(^|[-_.])${q}([-.]|$)`).test(file.toLowerCase().replace(/\.gguf$/, ""));
}

function baseName(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}

/**
 * Picks the text model and the projector for a quantization among a repo's files: the text
 * GGUF carries the label and does not start with `mmproj`; the projector prefers the same label,
 * then F16 (ggml-org publishes projectors in Q8_0 and F16 only), then any mmproj GGUF.
 */
export function pickModelFiles(
  files: readonly string[],
  quant: string,
): { model: string; mmproj: string | null } | null {
  const ggufs = files.filter((f) => /\.gguf$/i.test(f)).toSorted();
  const isProjector = (f: string) => baseName(f).toLowerCase().startsWith("mmproj");
  const model = ggufs.find((f) => !isProjector(f) && hasQuant(baseName(f), quant));
  if (!model) return null;
  const projectors = ggufs.filter(isProjector);
  const mmproj = projectors.find((f) => hasQuant(baseName(f), quant)) ??
    projectors.find((f) => hasQuant(baseName(f), "f16")) ?? projectors[0] ?? null;
  return { model, mmproj };
}

/** The file names a spec is expected to have (for messages; null when the repo's naming is unknown). */
export function expectedFileNames(spec: HubModelSpec): { model: string; mmproj: string } | null {
  if (!spec.stem) return null;
  return {
    model: `${spec.stem}-${spec.quant}.gguf`,
    mmproj: `mmproj-${spec.stem}-${spec.quant}.gguf`,
  };
}
