/**
 * Run under a command's permission flags: tries what a compromised server would try and prints
 * one JSON line of what happened to each attempt ("denied", or what it got). Every target is on
 * this machine: a file outside the grants, a process, a loopback port not granted, env vars.
 */
type Outcome = "denied" | string;

async function attempt(f: () => Promise<unknown> | unknown): Promise<Outcome> {
  try {
    await f();
    return "allowed";
  } catch (e) {
    if (e instanceof Deno.errors.NotCapable || e instanceof Deno.errors.PermissionDenied) {
      return "denied";
    }
    return `error: ${(e as Error).name}`;
  }
}

const results: Record<string, Outcome> = {
  "read /etc/passwd": await attempt(() => Deno.readTextFile("/etc/passwd")),
  "read README.md": await attempt(() => Deno.readTextFile("README.md")),
  "read deno.json": await attempt(() => Deno.readTextFile("deno.json")),
  "list /root": await attempt(async () => {
    for await (const _ of Deno.readDir("/root")) break;
  }),
  "list src/http": await attempt(async () => {
    for await (const _ of Deno.readDir("src/http")) break;
  }),
  "write /tmp": await attempt(() => Deno.writeTextFile("/tmp/smolvlm-audit", "x")),
  "write static/": await attempt(() => Deno.writeTextFile("static/pwned.js", "x")),
  "spawn sh": await attempt(() => new Deno.Command("sh", { args: ["-c", "true"] }).output()),
  "spawn deno": await attempt(() =>
    new Deno.Command(Deno.execPath(), { args: ["--version"] }).output()
  ),
  "connect 127.0.0.1:9": await attempt(() => Deno.connect({ hostname: "127.0.0.1", port: 9 })),
  "fetch 127.0.0.2:8000": await attempt(() => fetch("http://127.0.0.2:8000/")),
  "listen 127.0.0.1:8999": await attempt(() =>
    Deno.listen({ hostname: "127.0.0.1", port: 8999 }).close()
  ),
  "env HOME": await attempt(() => Deno.env.get("HOME")),
  "env PATH": await attempt(() => Deno.env.get("PATH")),
  "sys hostname": await attempt(() => Deno.hostname()),
};
console.log(JSON.stringify(results));
