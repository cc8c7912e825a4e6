/**
 * The one entry point. Subcommands:
 *   serve       the HTTP service (API + frontend)
 *   describe    one-shot: describe an image with a model, streaming to stdout
 *   preprocess  run the image pipeline on a file
 *   native      build llama.cpp's libraries into native/lib (cached)
 *   fixtures    write the synthetic SmolVLM GGUF models used by tests and benchmarks
 */
const USAGE = `usage: main.ts <serve|describe|preprocess|native|fixtures> [options]
  serve       --model M --mmproj P | --demo  [--host H] [--port N] [--config F]
  describe    --model M --mmproj P --image I [--prompt TEXT] [--max-tokens N]
  preprocess  <input> <output.png> [--config F]
  native      [--cuda] [--portable] [--lib-dir DIR] [--force]
  fixtures    [--preset tiny|500m|all]`;

export async function main(args: string[]): Promise<number> {
  const [command, ...rest] = args;
  switch (command) {
    case "native":
      return (await import("./native/build.ts")).runNative(rest);
    case "describe":
      return (await import("./src/cli/describe.ts")).runDescribe(rest);
    case "fixtures":
      return (await import("./tools/gguf/cli.ts")).runFixtures(rest);
    case "preprocess":
      return (await import("./src/cli/preprocess.ts")).runPreprocess(rest);
    case "serve":
      return (await import("./src/cli/serve.ts")).runServe(rest);
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
