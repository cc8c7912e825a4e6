/**
 * The exact Deno permission flags a command needs, derived from its resolved arguments: the
 * launcher (tools/launch/) computes them, then starts `deno run <flags> main.ts <command> ...`.
 * Nothing is widened to the whole disk and nothing uses -A.
 *
 * - net: the bind address as `host:port` (just `host` for port 0, which picks a free one), and
 *   each allowed image host (any port; Deno matches a `*.example.com` entry on subdomains).
 * - read: exactly the files named (model, projector, config, API keys file, images), the
 *   frontend directory, the native library directory, and the image pipeline's directory (its
 *   worker threads load their modules from disk). The codecs' wasm comes through the module graph
 *   (src/image/wasm_modules.js), so no package folder is readable.
 * - write: the log directory (nothing when logging to the console only).
 * - ffi: unscoped `--allow-ffi`: Deno 2.9.6 refuses every pointer operation (UnsafePointer,
 *   UnsafePointerView, UnsafeCallback) under a path-scoped grant; measured with
 *   `--allow-ffi=native/lib`: dlopen works, then UnsafePointer.create throws NotCapable. Which
 *   libraries get loaded is still fixed by the code (native/lib, or SMOLVLM_LIB_DIR).
 * - env: the native library override, FFMPEG_PATH and PRLIMIT_PATH (where ffmpeg and prlimit
 *   are) and the configuration's variables (SMOLVLM_PORT, ...: the table in
 *   src/config/settings.ts), so the server resolves the same configuration the launcher did;
 *   nothing else.
 * - run: ffmpeg and ffprobe by absolute path, only when the launcher found them (video decoding;
 *   without them the server refuses `video_url` and still takes client-sampled frames), and
 *   util-linux prlimit by absolute path when it is there too: the server starts each decoder
 *   through it to cap the decoder's memory (src/video/ffmpeg.ts). prlimit can exec any program,
 *   but so can ffi, which the server has unscoped already; the code only ever hands it ffmpeg
 *   and ffprobe.
 *
 * @module
 */
import type { ServiceConfig } from "../config/service_config.ts";
import { CONFIG_ENV_NAMES } from "../config/settings.ts";
import { HUB_ENV_VARS, type HubEnv } from "../models/hf_cache.ts";

/** Paths relative to the repository root (the working directory of every task). */
export const NATIVE_LIB_READ = "native/lib";
export const IMAGE_PIPELINE_READ = "src/image";
/**
 * The engine's worker thread loads its module graph from disk, and Deno checks read permission
 * for every local module a worker loads: the engine, the FFI layer and the native manifest.
 */
export const ENGINE_WORKER_READ: readonly string[] = [
  "src/engine",
  // The GGUF check (src/models/gguf.ts) runs in the worker before llama.cpp loads a file.
  "src/models",
  "ffi",
  "native/manifest.ts",
];
export const SERVE_ENV: readonly string[] = [
  "SMOLVLM_LIB_DIR",
  "FFMPEG_PATH",
  "PRLIMIT_PATH",
  ...CONFIG_ENV_NAMES,
];

/** One flag per permission kind; lists are deduplicated and keep their first order. */
export interface PermissionSet {
  readonly net: readonly string[];
  readonly read: readonly string[];
  readonly write: readonly string[];
  readonly env: readonly string[];
  readonly ffi: boolean;
  /** Executables by absolute path (`--allow-run`); none when absent. */
  readonly run?: readonly string[];
}

/** ffmpeg's two binaries and prlimit (null: none), as src/video/locate.ts found them. */
export interface DecoderGrant {
  readonly ffmpeg: string;
  readonly ffprobe: string;
  readonly prlimit?: string | null;
}

/** The executables a decoder grant runs: ffmpeg, ffprobe and prlimit when there is one. */
export function decoderRun(decoder: DecoderGrant | null | undefined): string[] {
  if (!decoder) return [];
  return [decoder.ffmpeg, decoder.ffprobe, ...(decoder.prlimit ? [decoder.prlimit] : [])];
}

/** Thrown when a path cannot be written into a Deno permission flag. */
export class PermissionPathError extends Error {}

function entry(path: string): string {
  // Deno splits flag values on commas; such a path cannot be granted exactly.
  if (path.includes(",")) {
    throw new PermissionPathError(`cannot grant access to a path with a comma: ${path}`);
  }
  return path;
}

function unique(items: readonly string[]): string[] {
  return [...new Set(items.map(entry))];
}

/** `--allow-*` flags for a permission set, in a fixed order. */
export function permissionFlags(p: PermissionSet): string[] {
  const flags: string[] = [];
  if (p.net.length) flags.push(`--allow-net=${unique(p.net).join(",")}`);
  if (p.read.length) flags.push(`--allow-read=${unique(p.read).join(",")}`);
  if (p.write.length) flags.push(`--allow-write=${unique(p.write).join(",")}`);
  if (p.ffi) flags.push("--allow-ffi");
  if (p.run?.length) flags.push(`--allow-run=${unique(p.run).join(",")}`);
  if (p.env.length) flags.push(`--allow-env=${unique(p.env).join(",")}`);
  return flags;
}

/** The address to grant for a bind: Deno checks `host:port` for a listener. */
export function bindAddress(host: string, port: number): string {
  const h = host.includes(":") && !host.startsWith("[") ? `[${host}]` : host;
  return port === 0 ? h : `${h}:${port}`;
}

function directoryOf(path: string): string {
  return path.slice(0, Math.max(1, path.lastIndexOf("/")));
}

function nativeLibDir(env: { libDir?: string }): string {
  return env.libDir || NATIVE_LIB_READ;
}

/** The nameservers of /etc/resolv.conf (IPv6 in brackets); none when it cannot be read. */
export function systemNameservers(): string[] {
  let text: string;
  try {
    text = Deno.readTextFileSync("/etc/resolv.conf");
  } catch {
    return [];
  }
  return [...text.matchAll(/^\s*nameserver\s+(\S+)/gm)].map((m) =>
    m[1]!.includes(":") ? `[${m[1]}]` : m[1]!
  );
}

/**
 * A model file and, when it is a symlink (a Hugging Face snapshot entry → blobs/<sha256>), the
 * file it resolves to: both are granted, nothing else of the cache.
 */
export function modelReadPaths(path: string): string[] {
  try {
    const real = Deno.realPathSync(path);
    return real === path ? [path] : [path, real];
  } catch {
    return [path];
  }
}

/** Hosts the hub redirects downloads to (LFS and Xet CDNs), for the default endpoint. */
export const HUB_CDN_HOSTS: readonly string[] = ["*.huggingface.co", "*.hf.co"];

/**
 * What `main.ts pull` needs: the endpoint's host (and its CDN hosts: for huggingface.co the
 * LFS/Xet ones, for a mirror its own subdomains), the cache directory, the HF_* variables.
 */
export function pullPermissions(env: HubEnv): PermissionSet {
  const url = new URL(env.endpoint);
  const hosts = url.hostname === "huggingface.co"
    ? [url.host, ...HUB_CDN_HOSTS]
    : /^[\d.]+$|^\[|^localhost$/.test(url.hostname)
    // A local mirror (or a test hub) may redirect to its CDN on another port of the same host.
    ? [url.hostname]
    : [url.host, `*.${url.hostname}`];
  return {
    net: hosts,
    read: [env.cacheDir],
    write: [env.cacheDir],
    env: HUB_ENV_VARS,
    ffi: false,
  };
}

/** What `main.ts serve` needs for a resolved config (model paths already absolute). */
export function servePermissions(
  config: ServiceConfig,
  env: { libDir?: string; decoder?: DecoderGrant | null } = {},
): PermissionSet {
  const models = [config.modelPath, config.mmprojPath].filter((p): p is string => !!p);
  const read = [
    config.staticDir,
    // --demo looks the pair up in its directory; otherwise exactly the files named.
    ...(config.demo ? models.map(directoryOf) : models.flatMap(modelReadPaths)),
    ...(config.source ? [config.source] : []),
    // The API keys file (auth.api_keys_file) is read at start; like a model file it may be a
    // symlink (a mounted secret), so its target is granted too.
    ...(config.apiKeysFile ? modelReadPaths(config.apiKeysFile) : []),
    nativeLibDir(env),
    IMAGE_PIPELINE_READ,
    ...ENGINE_WORKER_READ,
  ];
  const imageHosts = config.remoteImages.allowHosts;
  return {
    // Remote images are checked against their resolved addresses (src/http/remote_guard.ts),
    // so the server may query the system's nameservers, and only when image hosts are allowed.
    net: [
      bindAddress(config.host, config.port),
      ...imageHosts,
      ...(imageHosts.length > 0 ? systemNameservers().map((ip) => `${ip}:53`) : []),
    ],
    read,
    write: config.logDir ? [config.logDir] : [],
    env: SERVE_ENV,
    ffi: true,
    run: decoderRun(env.decoder),
  };
}

/** What `main.ts config` needs: the config file and the variables; the demo pair's folder. */
export function configPermissions(config: ServiceConfig): PermissionSet {
  const models = [config.modelPath, config.mmprojPath].filter((p): p is string => !!p);
  return {
    net: [],
    read: [
      ...(config.source ? [config.source] : []),
      ...(config.demo ? models.map(directoryOf) : []),
    ],
    write: [],
    env: CONFIG_ENV_NAMES,
    ffi: false,
  };
}

/** What `main.ts describe` needs: the model files, the images, the native libraries. */
export function describePermissions(
  files: { model: string; mmproj?: string; images: readonly string[]; video?: string },
  env: { libDir?: string; decoder?: DecoderGrant | null } = {},
): PermissionSet {
  const decoder = files.video ? env.decoder : null;
  return {
    net: [],
    run: decoderRun(decoder),
    read: [
      ...modelReadPaths(files.model),
      ...(files.mmproj ? modelReadPaths(files.mmproj) : []),
      ...files.images,
      ...(files.video ? [files.video] : []),
      nativeLibDir(env),
      IMAGE_PIPELINE_READ,
      ...ENGINE_WORKER_READ,
    ],
    write: [],
    env: ["SMOLVLM_LIB_DIR", ...(decoder ? ["FFMPEG_PATH", "PRLIMIT_PATH"] : [])],
    ffi: true,
  };
}

/** What `main.ts preprocess` needs: its input and config, its outputs, the image pipeline. */
export function preprocessPermissions(
  files: { input: string; config?: string; outputs: readonly string[] },
): PermissionSet {
  return {
    net: [],
    read: [
      files.input,
      ...(files.config ? [files.config] : []),
      IMAGE_PIPELINE_READ,
    ],
    write: files.outputs,
    env: [],
    ffi: false,
  };
}
