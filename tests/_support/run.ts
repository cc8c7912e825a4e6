/**
 * Runs the README's commands as a user types them: `./run <task> ...` from the repository root,
 * through deno.json's tasks and the launcher (never a copy of their flags).
 */
import { REPO_ROOT } from "./fixtures.ts";

export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** `./run <args>` to completion, output captured. */
export async function run(
  args: readonly string[],
  timeoutMs = 240_000,
  env: Record<string, string> = {},
): Promise<RunResult> {
  const out = await new Deno.Command(`${REPO_ROOT}/run`, {
    args: [...args],
    cwd: REPO_ROOT,
    env: { NO_COLOR: "1", ...env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(timeoutMs),
  }).output();
  return {
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
  };
}

export interface RunningServe {
  readonly pid: number;
  readonly url: string;
  readonly status: Promise<Deno.CommandStatus>;
  output(): string;
  /** SIGKILLs what is left of the process tree while ./run runs (cleanup after a failure). */
  kill(): void;
}

/**
 * `./run serve <args>` in the background; resolves once its /health answers 200. `env` adds
 * variables (e.g. SMOLVLM_LIB_DIR) to the inherited environment.
 */
export async function startServe(
  args: readonly string[],
  timeoutMs = 180_000,
  env: Readonly<Record<string, string>> = {},
) {
  const child = new Deno.Command(`${REPO_ROOT}/run`, {
    args: ["serve", ...args],
    cwd: REPO_ROOT,
    env: { NO_COLOR: "1", ...env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let output = "";
  let found: (url: string) => void;
  const url = new Promise<string>((r) => (found = r));
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    const decoder = new TextDecoder();
    for await (const piece of stream) {
      output += decoder.decode(piece, { stream: true });
      const m = /listening on (http:\/\/[\w.:\[\]-]+)/.exec(output);
      if (m) found(m[1]!.replace("0.0.0.0", "127.0.0.1"));
    }
  };
  const pumps = Promise.all([pump(child.stdout), pump(child.stderr)]);
  let exited = false;
  const status = child.status.then(async (s) => {
    exited = true;
    await pumps.catch(() => {});
    return s;
  });
  let timer: ReturnType<typeof setTimeout> | undefined;
  const handle: RunningServe = {
    pid: child.pid,
    url: "",
    status,
    output: () => output,
    kill: () => {
      // Once ./run has exited (and been reaped) its pid may belong to someone else.
      if (exited) return;
      let below: number[] = [];
      try {
        below = descendants(child.pid);
      } catch {
        // Without the process table, at least the launcher goes (it forwards SIGTERM).
        try {
          Deno.kill(child.pid, "SIGTERM");
        } catch {
          // Already gone.
        }
      }
      for (const pid of [...below, child.pid]) {
        try {
          Deno.kill(pid, "SIGKILL");
        } catch {
          // Already gone.
        }
      }
    },
  };
  try {
    const listening = await Promise.race([
      url,
      status.then((s) => {
        throw new Error(`./run serve exited (${s.code}) before listening:\n${output}`);
      }),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no listening line:\n${output}`)), timeoutMs);
      }),
    ]);
    while (true) {
      const ok = await fetch(`${listening}/health`).then((r) => {
        r.body?.cancel();
        return r.ok;
      }, () => false);
      if (ok) break;
      if (!alive(child.pid)) throw new Error(`./run serve exited before healthy:\n${output}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    return { ...handle, url: listening };
  } catch (e) {
    handle.kill();
    await status;
    throw e;
  } finally {
    clearTimeout(timer);
  }
}

/** pid → parent pid of every process, from `ps` (Deno reads /proc only under --allow-all). */
function processTable(): Map<number, number> {
  const out = new Deno.Command("ps", { args: ["-eo", "pid=,ppid="], stdout: "piped" }).outputSync();
  const table = new Map<number, number>();
  for (const line of new TextDecoder().decode(out.stdout).split("\n")) {
    const [pid, ppid] = line.trim().split(/\s+/).map(Number);
    if (pid && ppid !== undefined && !Number.isNaN(ppid)) table.set(pid, ppid);
  }
  return table;
}

/** Every process below `pid`, children first. */
export function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const [p, parent] of processTable()) {
    const list = children.get(parent) ?? [];
    list.push(p);
    children.set(parent, list);
  }
  const found: number[] = [];
  const walk = (p: number) => {
    for (const c of children.get(p) ?? []) {
      walk(c);
      found.push(c);
    }
  };
  walk(pid);
  return found;
}

/** True while some process has this pid. */
export function alive(pid: number): boolean {
  return processTable().has(pid);
}
