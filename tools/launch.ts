/**
 * The launcher behind `./run serve|describe|preprocess`: reads the command's arguments the way
 * the command itself will (same option tables, same config resolution), derives the exact Deno
 * permission flags they need (src/cli/permissions.ts), prepares what is missing (native
 * libraries; the demo model), then runs `deno run <flags> main.ts <command> <args>` and passes
 * on its exit code. `--help` prints the usage and does nothing else.
 *
 * Deno cannot exec(), so the launcher stays as the command's parent: SIGTERM and SIGHUP are
 * forwarded to the child. SIGINT is not: Ctrl-C already reaches the whole foreground process
 * group, and a second SIGINT would make the server skip its graceful shutdown.
 *
 * Runs under `--allow-read --allow-run=deno --allow-env`: it reads the arguments' files (any
 * path, to resolve them) and starts `deno` (./run puts the pinned one first on PATH).
 *
 * @module
 */
import { parseArgs } from "node:util";
import { ConfigError } from "../src/config/service_config.ts";
import {
  configPermissions,
  describePermissions,
  permissionFlags,
  PermissionPathError,
  type PermissionSet,
  preprocessPermissions,
  pullPermissions,
  servePermissions,
} from "../src/cli/permissions.ts";
import { PULL_USAGE } from "../src/cli/pull.ts";
import { hubEnv } from "../src/models/hf_cache.ts";
import { ModelNotAvailableError } from "../src/models/resolve.ts";
import { formatModelSpec, isLocalModelPath } from "../src/models/spec.ts";
import {
  resolveServeConfig,
  SERVE_USAGE,
  type ServeConfigOptions,
  UsageError,
} from "../src/cli/serve_args.ts";
import { CONFIG_USAGE } from "../src/cli/config.ts";
import { DESCRIBE_OPTIONS, DESCRIBE_USAGE } from "../src/cli/describe.ts";
import { PREPROCESS_OPTIONS, PREPROCESS_USAGE } from "../src/cli/preprocess.ts";
import { locateDecoder } from "../src/video/locate.ts";

const COMMANDS = ["serve", "describe", "preprocess", "config", "pull"] as const;
type Command = typeof COMMANDS[number];

/** What to run: the exact permission flags for `deno run ... main.ts <command>`. */
export interface LaunchPlan {
  readonly flags: readonly string[];
  /** The command's arguments, when the plan rewrote them (a hub model → its cached files). */
  readonly args?: readonly string[];
  /**
   * Set in the command's environment (FFMPEG_PATH when ffmpeg was found and granted,
   * PRLIMIT_PATH when prlimit was too).
   */
  readonly env?: Readonly<Record<string, string>>;
}

/**
 * ffmpeg for video, when this machine has it, and prlimit to cap its memory: granted by path,
 * handed over in FFMPEG_PATH and PRLIMIT_PATH.
 */
function decoderPlan() {
  const decoder = locateDecoder();
  const env = decoder
    ? { FFMPEG_PATH: decoder.ffmpeg, ...(decoder.prlimit ? { PRLIMIT_PATH: decoder.prlimit } : {}) }
    : undefined;
  return { decoder, env };
}

function libDir(): string | undefined {
  return Deno.env.get("SMOLVLM_LIB_DIR") || undefined;
}

function wantsHelp(args: readonly string[]): boolean {
  return args.some((a) => a === "--help" || a === "-h");
}

/** `--model X` / `--model=X` values and the arguments without them. */
function splitModelArgs(
  args: readonly string[],
): { model?: string; mmproj?: string; rest: string[] } {
  const out: { model?: string; mmproj?: string; rest: string[] } = { rest: [] };
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const m = /^--(model|mmproj)(?:=(.*))?$/.exec(a);
    if (!m) {
      out.rest.push(a);
      continue;
    }
    const value = m[2] ?? args[++i];
    if (m[1] === "model") out.model = value;
    else out.mmproj = value;
    if (m[2] === undefined && value === undefined) out.rest.push(a);
  }
  return out;
}

/**
 * The plan for `serve <args>`; the demo model is written before the config is resolved. A hub
 * model (named, or the default) is resolved from the cache and handed to the server as the two
 * cached paths, so the server reads exactly those files and needs neither network nor HF_*.
 */
export async function planServe(
  args: string[],
  opts: ServeConfigOptions = {},
): Promise<LaunchPlan> {
  const config = await resolveServeConfig(args, opts);
  if (config === "help") return { flags: [] };
  const { decoder, env } = decoderPlan();
  const flags = permissionFlags(servePermissions(config, { libDir: libDir(), decoder }));
  const given = splitModelArgs(args);
  if (config.demo || (given.model !== undefined && isLocalModelPath(given.model))) {
    return { flags, env };
  }
  const resolved = [
    ...given.rest,
    "--model",
    config.modelPath!,
    ...(config.mmprojPath ? ["--mmproj", config.mmprojPath] : []),
  ];
  return { flags, args: resolved, env };
}

/** The plan for `config [--json] <serve's args>`: the config file and the variables. */
export async function planConfig(
  args: string[],
  opts: ServeConfigOptions = {},
): Promise<LaunchPlan> {
  const config = await resolveServeConfig(args.filter((a) => a !== "--json"), {
    ...opts,
    checkFiles: false,
  });
  if (config === "help") return { flags: [] };
  return { flags: permissionFlags(configPermissions(config)) };
}

/** The flags for `main.ts pull`: the endpoint's hosts, the cache, the HF_* variables. */
export function planPull(): LaunchPlan {
  return { flags: permissionFlags(pullPermissions(hubEnv())) };
}

/** The plan for `describe <args>`. */
export function planDescribe(args: string[]): LaunchPlan {
  const { values } = parseArgs({ args, options: DESCRIBE_OPTIONS });
  if (!values.model) throw new UsageError("--model is required");
  const { decoder, env } = values.video ? decoderPlan() : { decoder: null, env: undefined };
  const set: PermissionSet = describePermissions({
    model: values.model,
    mmproj: values.mmproj,
    images: values.image ?? [],
    video: values.video,
  }, { libDir: libDir(), decoder });
  return { flags: permissionFlags(set), env };
}

/** The plan for `preprocess <in> <out.png> [--config F] [--jpeg J] [--tile-size N]`. */
export function planPreprocess(args: string[]): LaunchPlan {
  const { values, positionals } = parseArgs({
    args,
    options: PREPROCESS_OPTIONS,
    allowPositionals: true,
  });
  const [input, output] = positionals;
  if (!input || !output) throw new UsageError("expected <input> and <output.png>");
  const set = preprocessPermissions({
    input,
    config: values.config,
    outputs: [output, ...(values.jpeg ? [values.jpeg] : [])],
  });
  return { flags: permissionFlags(set) };
}

async function runDeno(
  args: readonly string[],
  forwardSignals: boolean,
  env?: Readonly<Record<string, string>>,
): Promise<number> {
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command("deno", { args: [...args], stdin: "inherit", env: { ...env } })
      .spawn();
  } catch (e) {
    throw new Error(
      `cannot start deno (${(e as Error).message.split("\n")[0]}); start commands with ./run`,
    );
  }
  const forwarded: [Deno.Signal, () => void][] = [];
  if (forwardSignals) {
    for (const sig of ["SIGTERM", "SIGHUP"] as const) {
      const handler = () => {
        try {
          child.kill(sig);
        } catch {
          // Already gone.
        }
      };
      Deno.addSignalListener(sig, handler);
      forwarded.push([sig, handler]);
    }
  }
  // Ctrl-C reaches the child directly (same process group); the launcher just waits for it.
  const ignoreInterrupt = () => {};
  Deno.addSignalListener("SIGINT", ignoreInterrupt);
  try {
    const status = await child.status;
    if (status.signal) return 128 + signalNumber(status.signal);
    return status.code;
  } finally {
    for (const [sig, handler] of forwarded) Deno.removeSignalListener(sig, handler);
    Deno.removeSignalListener("SIGINT", ignoreInterrupt);
  }
}

function signalNumber(sig: Deno.Signal): number {
  return ({ SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 } as Record<string, number>)[sig] ?? 1;
}

/** Runs `deno task <task> <args>`; a failure ends the launch with its exit code. */
async function prepare(task: readonly string[]): Promise<number> {
  return await runDeno(["task", "-q", ...task], false);
}

function usageFor(command: Command): string {
  return command === "serve"
    ? SERVE_USAGE
    : command === "config"
    ? CONFIG_USAGE
    : command === "pull"
    ? PULL_USAGE
    : command === "describe"
    ? DESCRIBE_USAGE
    : PREPROCESS_USAGE;
}

export async function launch(argv: string[]): Promise<number> {
  const [command, ...args] = argv;
  if (!COMMANDS.includes(command as Command)) {
    console.error(`launch: unknown command '${command}' (one of ${COMMANDS.join(", ")})`);
    return 2;
  }
  const cmd = command as Command;
  if (wantsHelp(args)) {
    console.log(usageFor(cmd));
    return 0;
  }
  try {
    const demo = (cmd === "serve" || cmd === "config") &&
      (args.includes("--demo") || /^(1|true|yes|on)$/i.test(Deno.env.get("SMOLVLM_DEMO") ?? ""));
    // Arguments are checked before anything is built; the demo model needs the native build
    // (its vocabulary comes from the llama.cpp checkout) and is written before its lookup.
    if (demo) {
      const code = await prepare(["native"]) || await prepare(["fixtures", "--preset", "tiny"]);
      if (code !== 0) return code;
    }
    if (cmd === "pull") {
      return await runDeno(["run", ...planPull().flags, "main.ts", "pull", ...args], true);
    }
    let plan: LaunchPlan;
    try {
      plan = cmd === "serve"
        ? await planServe(args)
        : cmd === "config"
        ? await planConfig(args)
        : cmd === "describe"
        ? planDescribe(args)
        : planPreprocess(args);
    } catch (e) {
      if (!(e instanceof ModelNotAvailableError)) throw e;
      // Not in the cache: `pull` fetches it (its own, network-only permissions), then the plan
      // is made again from the cache. A failed pull has printed its paragraph.
      // The spec the configuration named (a flag, SMOLVLM_* or the config file) or the default.
      const pulled = await runDeno(
        ["run", ...planPull().flags, "main.ts", "pull", formatModelSpec(e.spec)],
        true,
      );
      if (pulled !== 0) return pulled;
      plan = await planServe(args);
    }
    if (!demo && cmd !== "preprocess" && cmd !== "config") {
      const code = await prepare(["native"]);
      if (code !== 0) return code;
    }
    return await runDeno(
      ["run", ...plan.flags, "main.ts", cmd, ...(plan.args ?? args)],
      true,
      plan.env,
    );
  } catch (e) {
    if (e instanceof UsageError || (e instanceof TypeError && "code" in e)) {
      console.error(`${cmd}: ${e.message}\n${usageFor(cmd)}`);
      return 2;
    }
    if (e instanceof ConfigError || e instanceof PermissionPathError) {
      console.error(`${cmd}: ${e.message}`);
      return 1;
    }
    console.error(`${cmd}: ${(e as Error).message ?? String(e)}`);
    return 1;
  }
}

if (import.meta.main) {
  Deno.exitCode = await launch(Deno.args);
}
