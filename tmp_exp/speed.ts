import { loadEngine } from "../src/engine/mod.ts";
import { cpuBackendInfo } from "../ffi/backends.ts";
const engine = await loadEngine({ modelPath: "tests/fixtures/generated/500m/smolvlm-500m-f16.gguf", contextSize: 4096, threads: 2, nativeLog: "silent" });
const text = Array.from({ length: 400 }, (_, i) => ["sea", "sky", "stone", "light"][i % 4]).join(" ");
const rows = [];
for (let i = 0; i < 4; i++) {
  const r = await engine.generate({ messages: [{ role: "user", content: [{ type: "text", text: `${i} ${text}` }] }], maxTokens: 64, sampling: { temperature: 0 } }).result;
  if (i > 0) rows.push([r.timings.prefillTokensPerSecond, r.timings.decodeTokensPerSecond]);
}
const med = (a: number[]) => a.sort((x, y) => x - y)[Math.floor(a.length / 2)]!;
console.log(JSON.stringify({ variant: (await cpuBackendInfo()).variant, prefill: med(rows.map((r) => r[0]!)).toFixed(1), decode: med(rows.map((r) => r[1]!)).toFixed(2) }));
Deno.exit(0);
