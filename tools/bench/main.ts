/**
 * `deno task bench`: runs every benchmark and rewrites its section of BENCHMARKS.md.
 *   deno task bench [engine] [image] [http]   (default: all)
 */
import { writeBenchmarksSection } from "./sections.ts";

const ALL = ["engine", "image", "http"] as const;
type Name = typeof ALL[number];

async function run(name: Name): Promise<string> {
  switch (name) {
    case "engine":
      return (await (await import("./engine.ts")).benchEngine()).markdown;
    case "image":
      return (await (await import("./image.ts")).benchImage()).markdown;
    case "http":
      return (await (await import("./http.ts")).benchHttp()).markdown;
  }
}

if (import.meta.main) {
  const wanted = Deno.args.length ? Deno.args : [...ALL];
  for (const name of wanted) {
    if (!(ALL as readonly string[]).includes(name)) {
      console.error(`unknown benchmark '${name}' (choose from ${ALL.join(", ")})`);
      Deno.exit(2);
    }
    console.error(`== bench ${name}`);
    const markdown = await run(name as Name);
    await writeBenchmarksSection(name, markdown);
    console.log(markdown);
  }
}
