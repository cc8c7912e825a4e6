/**
 * Developer tools' entry point (the product's is main.ts, which never imports tools/):
 *   native      build llama.cpp's libraries into native/lib (cached)
 *   fixtures    write the synthetic SmolVLM GGUF models used by tests and benchmarks
 */
const USAGE = `usage: ./run <native|fixtures> [options]
  ./run native    [--cuda] [--cuda-arch A] [--portable] [--lib-dir DIR] [--jobs N] [--force]
  ./run fixtures  [--preset tiny|500m|all] [--type f16|f32|q8_0] [--seed N] [--force]`;

const NATIVE_USAGE = `usage: ./run native [options]
  build (or reuse from ~/.cache/smolvlm-deno) llama.cpp's shared libraries into native/lib
  --cuda           add the CUDA backend          --cuda-arch A   CUDA architectures
  --portable       ggml's dynamic CPU variants   --jobs N        parallel compile jobs
  --lib-dir DIR    use libraries built elsewhere --force         rebuild even when cached`;

export async function toolsMain(args: string[]): Promise<number> {
  const [command, ...rest] = args;
  const wantsHelp = rest.includes("--help") || rest.includes("-h");
  switch (command) {
    case "native":
      if (wantsHelp) {
        console.log(NATIVE_USAGE);
        return 0;
      }
      return (await import("../native/build.ts")).runNative(rest);
    case "fixtures":
      return (await import("./gguf/cli.ts")).runFixtures(rest);
    case undefined:
    case "--help":
    case "-h":
      console.log(USAGE);
      return command === undefined ? 2 : 0;
    default:
      console.error(`unknown tool '${command}'\n${USAGE}`);
      return 2;
  }
}

if (import.meta.main) {
  Deno.exitCode = await toolsMain(Deno.args);
}
