/**
 * The edge front's entry point: `deno task edge --upstream URL[,URL…]` (tools/launch_edge.ts
 * derives the exact permission flags). Parses arguments, starts the router, prints where it
 * listens, and shuts down on SIGINT/SIGTERM.
 *
 * @module
 */
import { EDGE_USAGE, parseEdgeArgs, startEdge, UsageError } from "./src/edge/mod.ts";

if (import.meta.main) {
  let config;
  try {
    config = parseEdgeArgs(Deno.args);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    console.error(`edge: ${e.message}\n${EDGE_USAGE}`);
    Deno.exit(2);
  }
  if (config === "help") {
    console.log(EDGE_USAGE);
    Deno.exit(0);
  }
  let edge;
  try {
    edge = startEdge(config);
  } catch (e) {
    if (!(e instanceof Deno.errors.AddrInUse || e instanceof Deno.errors.AddrNotAvailable)) throw e;
    console.error(`edge: cannot listen on ${config.host}:${config.port}: ${e.message}`);
    Deno.exit(1);
  }
  // Ctrl-C reaches the edge twice within moments (from the terminal, and forwarded by its
  // launcher, tools/launch_edge.ts): that is one request to stop. A signal a second or more
  // later is a second request: exit without waiting.
  let firstSignalAt: number | null = null;
  const stop = () => {
    const now = performance.now();
    if (firstSignalAt !== null && now - firstSignalAt >= 1000) Deno.exit(1);
    firstSignalAt ??= now;
    void edge.shutdown();
  };
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);
  await edge.finished;
  // In-flight connections left after the grace period do not keep the process.
  Deno.exit(0);
}
