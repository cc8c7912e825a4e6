/** BENCHMARKS.md is assembled from marked sections, one per benchmark, each replaced in place. */
const BENCHMARKS = new URL("../../BENCHMARKS.md", import.meta.url).pathname;

export async function writeBenchmarksSection(
  name: string,
  markdown: string,
  path = BENCHMARKS,
): Promise<void> {
  const start = `<!-- bench:${name}:start -->`;
  const end = `<!-- bench:${name}:end -->`;
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
    text = "# Benchmarks\n";
  }
  const block = `${start}\n${markdown.replace(/\n*$/, "\n")}${end}`;
  const a = text.indexOf(start), b = text.indexOf(end);
  text = a >= 0 && b > a
    ? text.slice(0, a) + block + text.slice(b + end.length)
    : text.replace(/\n*$/, "\n\n") + block + "\n";
  await Deno.writeTextFile(path, text);
}
