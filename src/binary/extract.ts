/**
 * Puts the binary's native libraries on disk. Deno extracts a dlopen'ed library from a compiled
 * binary to a temporary file, but not the libraries it links against (libmtmd → libllama →
 * libggml*), so the whole set goes into `<cacheRoot>/lib/<key>`, where the key is a hash of
 * every file's name and content hash: two builds never share a directory, and one build's
 * directory is reused across starts. Every start re-hashes what is on disk; a directory that
 * does not match (tampered, truncated, half-written) is replaced. Extraction writes to a
 * private temporary directory and renames it into place, so concurrent starts never load a
 * partial set.
 *
 * @module
 */
import type { NativePayload } from "./native_payload.ts";

export class NativeExtractionError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "NativeExtractionError";
  }
}

export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** The directory name for a payload: a hash over names, content hashes and links. */
export async function payloadKey(payload: NativePayload): Promise<string> {
  const lines = [
    ...payload.files.map((f) => `file ${f.name} ${f.sha256}`),
    ...payload.links.map((l) => `link ${l.name} ${l.target}`),
  ].sort();
  const hash = await sha256Hex(new TextEncoder().encode(lines.join("\n")));
  return hash.slice(0, 24);
}

/** Names that are single path components (the payload is data; still, never write elsewhere). */
function plainName(name: string): string {
  if (!/^[A-Za-z0-9._+-]+$/.test(name) || name === "." || name === "..") {
    throw new NativeExtractionError(`refusing a payload entry named ${JSON.stringify(name)}`);
  }
  return name;
}

/** Why `dir` does not hold exactly the payload, or null when it does. */
export async function verifyDirectory(
  dir: string,
  payload: NativePayload,
): Promise<string | null> {
  for (const file of payload.files) {
    const path = `${dir}/${plainName(file.name)}`;
    let info: Deno.FileInfo;
    try {
      info = await Deno.lstat(path);
    } catch {
      return `${path} is missing`;
    }
    if (!info.isFile) return `${path} is not a regular file`;
    const hash = await sha256Hex(await Deno.readFile(path));
    if (hash !== file.sha256) return `${path} has SHA-256 ${hash}, expected ${file.sha256}`;
  }
  for (const link of payload.links) {
    const target = payload.files.find((f) => f.name === link.target);
    if (!target) return `${link.name} links to ${link.target}, which the payload lacks`;
    const path = `${dir}/${plainName(link.name)}`;
    const info = await Deno.lstat(path).catch(() => null);
    if (!info?.isFile) return `${path} is missing`;
    const hash = await sha256Hex(await Deno.readFile(path));
    if (hash !== target.sha256) return `${path} has SHA-256 ${hash}, expected ${target.sha256}`;
  }
  return null;
}

async function writePayload(dir: string, payload: NativePayload): Promise<void> {
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  for (const file of payload.files) {
    const hash = await sha256Hex(file.bytes);
    if (hash !== file.sha256) {
      throw new NativeExtractionError(
        `the binary's embedded ${file.name} is corrupt (SHA-256 ${hash}, expected ` +
          `${file.sha256}); download or rebuild the binary`,
      );
    }
    await Deno.writeFile(`${dir}/${plainName(file.name)}`, file.bytes, { mode: 0o755 });
  }
  // A copy, not a symlink: Deno.symlink needs unscoped read and write permission.
  for (const link of payload.links) {
    const target = payload.files.find((f) => f.name === link.target);
    if (!target) {
      throw new NativeExtractionError(`${link.name} links to ${link.target}, which is missing`);
    }
    await Deno.writeFile(`${dir}/${plainName(link.name)}`, target.bytes, { mode: 0o755 });
  }
}

export interface Extraction {
  /** The directory the libraries load from. */
  readonly dir: string;
  /** True when this call wrote the files (first run, or a damaged directory replaced). */
  readonly extracted: boolean;
  /** Why an existing directory was replaced, if it was. */
  readonly replaced: string | null;
}

/** Makes `<cacheRoot>/lib/<key>` hold exactly the payload, verified, and returns it. */
export async function extractNativeLibraries(
  payload: NativePayload,
  cacheRoot: string,
): Promise<Extraction> {
  const libRoot = `${cacheRoot}/lib`;
  const dir = `${libRoot}/${await payloadKey(payload)}`;
  let replaced: string | null = null;
  const exists = await Deno.lstat(dir).then(() => true, () => false);
  if (exists) {
    replaced = await verifyDirectory(dir, payload);
    if (replaced === null) return { dir, extracted: false, replaced: null };
    await Deno.remove(dir, { recursive: true });
  }
  await Deno.mkdir(libRoot, { recursive: true, mode: 0o700 });
  const staging = `${libRoot}/.${crypto.randomUUID()}.partial`;
  try {
    await writePayload(staging, payload);
    try {
      await Deno.rename(staging, dir);
    } catch (error) {
      // Another process finished first: keep its directory if it is complete.
      if (await verifyDirectory(dir, payload) !== null) throw error;
    }
  } finally {
    await Deno.remove(staging, { recursive: true }).catch(() => {});
  }
  const problem = await verifyDirectory(dir, payload);
  if (problem !== null) {
    throw new NativeExtractionError(`the extracted native libraries do not verify: ${problem}`);
  }
  return { dir, extracted: true, replaced };
}
