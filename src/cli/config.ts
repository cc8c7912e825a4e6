/**
 * `main.ts config [serve's options]`: prints the configuration `serve` would run with, each
 * value with where it came from (default, file, env VAR, flag --x). `--json` prints it as JSON.
 * API keys show as "(set)". Model files are not opened (serve checks them at start).
 *
 * @module
 */
import { describeOrigin } from "../config/resolve.ts";
import { ConfigError } from "../config/service_config.ts";
import { resolveServeConfigWithOrigins, SERVE_USAGE, UsageError } from "./serve_args.ts";

export const CONFIG_USAGE = `usage: ./run config [--json] [serve's options]
  prints the effective configuration of \`./run serve\` with the same options, and where each
  value came from: default, file PATH, env NAME or flag --NAME (flags win over the environment,
  which wins over the file). Exits 1 with the key, the value and what was expected when a value
  is invalid.`;

const SECRET = /^(api_key|auth\.api_keys)/;

function shown(key: string, value: unknown): string {
  if (SECRET.test(key) && value !== null && !(Array.isArray(value) && value.length === 0)) {
    return '"(set)"';
  }
  return JSON.stringify(value) ?? "null";
}

function flatten(doc: Record<string, unknown>, prefix = ""): [string, unknown][] {
  return Object.entries(doc).flatMap(([k, v]) =>
    typeof v === "object" && v !== null && !Array.isArray(v) && Object.keys(v).length > 0
      ? flatten(v as Record<string, unknown>, `${prefix}${k}.`)
      : [[`${prefix}${k}`, v] as [string, unknown]]
  );
}

/** The listing `config` prints: one `key = value  (origin)` line per setting. */
export function formatConfigListing(
  document: Readonly<Record<string, unknown>>,
  origins: ReadonlyMap<string, Parameters<typeof describeOrigin>[0]>,
): string {
  const rows = flatten(document as Record<string, unknown>).map(([key, value]) => {
    const origin = origins.get(key);
    return [key, shown(key, value), origin ? describeOrigin(origin) : "default"] as const;
  });
  const kw = Math.max(...rows.map((r) => r[0].length));
  const vw = Math.min(40, Math.max(...rows.map((r) => r[1].length)));
  return rows.map(([k, v, o]) => `${k.padEnd(kw)} = ${v.padEnd(vw)}  (${o})`).join("\n");
}

export async function runConfig(args: string[]): Promise<number> {
  if (args.includes("--help") || args.includes("-h")) {
    console.log(`${CONFIG_USAGE}\n\n${SERVE_USAGE}`);
    return 0;
  }
  const json = args.includes("--json");
  const rest = args.filter((a) => a !== "--json");
  try {
    const resolved = await resolveServeConfigWithOrigins(rest, { checkFiles: false });
    if (resolved === "help") return 0;
    const { document, origins, config } = resolved;
    // The model paths as serve uses them (absolute; --demo's pair filled in).
    const doc = { ...document, model_path: config.modelPath, mmproj_path: config.mmprojPath };
    if (json) {
      const out: Record<string, { value: unknown; source: string }> = {};
      for (const [key, value] of flatten(doc)) {
        const origin = origins.get(key);
        out[key] = {
          value: SECRET.test(key) && value !== null ? "(set)" : value,
          source: origin ? describeOrigin(origin) : "default",
        };
      }
      console.log(JSON.stringify(out, null, 2));
    } else {
      console.log(formatConfigListing(doc, origins));
    }
    return 0;
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`config: ${e.message}\n${CONFIG_USAGE}`);
      return 2;
    }
    if (e instanceof ConfigError) {
      console.error(`config: ${e.message}`);
      return 1;
    }
    throw e;
  }
}
