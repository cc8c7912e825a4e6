/**
 * The launcher behind `deno task edge <args>`: parses the edge's arguments the way edge.ts will,
 * derives its exact permission flags (src/edge/permissions.ts: the listen address and upstream
 * hosts, two environment variables, read access to the image workers' modules only), then runs
 * `deno run <flags> edge.ts <args>` and passes on its exit code. `--print-flags` prints the
 * flags and runs nothing (tests use it to start the edge exactly as the task does).
 *
 * Deno cannot exec(), so the launcher stays as the parent: SIGTERM, SIGHUP and SIGINT are
 * forwarded, and it exits when the edge does. SIGINT too, unlike tools/launch.ts: a SIGINT
 * sent to the launcher alone (`kill -INT`, a process manager's stop signal) otherwise ends it
 * and leaves the edge running, orphaned; Ctrl-C's second copy, moments after the first, is
 * the same request to stop for the edge (edge.ts).
 *
 * @module
 */
import { EDGE_USAGE, parseEdgeArgs, UsageError } from "../src/edge/config.ts";
import { edgePermissionFlags, repoRoot } from "../src/edge/permissions.ts";

/** `deno run` arguments (flags, entry, edge arguments) for the given edge arguments. */
export function edgeRunArgs(args: readonly string[]): string[] | "help" {
  const config = parseEdgeArgs(args);
  if (config === "help") return "help";
  return ["run", ...edgePermissionFlags(config), `${repoRoot()}/edge.ts`, ...args];
}

if (import.meta.main) {
  const printOnly = Deno.args[0] === "--print-flags";
  const args = printOnly ? Deno.args.slice(1) : Deno.args;
  let runArgs;
  try {
    runArgs = edgeRunArgs(args);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    console.error(`edge: ${e.message}\n${EDGE_USAGE}`);
    Deno.exit(2);
  }
  if (runArgs === "help") {
    console.log(EDGE_USAGE);
    Deno.exit(0);
  }
  if (printOnly) {
    console.log(JSON.stringify(runArgs));
    Deno.exit(0);
  }
  const child = new Deno.Command(Deno.execPath(), { args: runArgs, stdin: "inherit" }).spawn();
  for (const sig of ["SIGTERM", "SIGHUP", "SIGINT"] as const) {
    Deno.addSignalListener(sig, () => {
      try {
        child.kill(sig);
      } catch { /* already gone */ }
    });
  }
  Deno.exit((await child.status).code);
}
