/**
 * The product's entry point (it imports nothing from tools/ or tests/). Users start it through
 * `./run <command>`, which grants each command the exact permissions its arguments need:
 *   serve       the HTTP service (API + frontend)
 *   describe    one-shot: describe an image with a model, streaming to stdout
 *   preprocess  run the image pipeline on a file
 *   config      print serve's effective configuration and where each value came from
 *   pull        download a hub model into the Hugging Face cache
 * Developer tools (native build, fixtures, benchmarks, the launcher) live in tools/main.ts.
 */
const USAGE = `usage: ./run <command> [options]      (./run <command> --help for its options)
  ./run serve       [--model M --mmproj P | --model REPO:QUANT | --demo] [--host H] [--port N]
  ./run pull        [REPO:QUANT | alias]   download a model into the Hugging Face cache
  ./run describe    --model M --mmproj P --image I [--prompt TEXT] [--max-tokens N]
  ./run preprocess  <input> <output.png> [--config F]
  ./run config      [--json] [serve's options]   (effective configuration and its sources)
  ./run test | check | native | fixtures | bench     (developer tasks, see README.md)`;

export async function main(args: string[]): Promise<number> {
  const [command, ...rest] = args;
  switch (command) {
    case "describe":
      return (await import("./src/cli/describe.ts")).runDescribe(rest);
    case "preprocess":
      return (await import("./src/cli/preprocess.ts")).runPreprocess(rest);
    case "serve":
      return (await import("./src/cli/serve.ts")).runServe(rest);
    case "config":
      return (await import("./src/cli/config.ts")).runConfig(rest);
    case "pull":
      return (await import("./src/cli/pull.ts")).runPull(rest);
    case undefined:
    case "help":
    case "--help":
    case "-h":
      console.log(USAGE);
      return command === undefined ? 2 : 0;
    default:
      console.error(`unknown command '${command}'\n${USAGE}`);
      return 2;
  }
}

if (import.meta.main) {
  Deno.exitCode = await main(Deno.args);
}
