/**
 * Each installed native build serving a completion through `./run serve`, and /v1/info saying
 * which variant and devices run what: the default build always; the portable build (ggml's
 * dynamic CPU variants) and the CUDA build when installed in native/lib-portable and
 * native/lib-cuda. Those take most of an hour (portable) or longer (CUDA) to compile on 2 cores,
 * too long for every test run; the output says which builds were checked.
 */
import assert from "node:assert/strict";
import { readInstalledManifest } from "../../native/manifest.ts";
import { REPO_ROOT } from "../_support/fixtures.ts";
import { pngDataUrl } from "../http/helpers.ts";
import { startServe } from "../_support/run.ts";

interface Build {
  readonly name: string;
  /** SMOLVLM_LIB_DIR for `./run serve`; null: the default native/lib. */
  readonly dir: string | null;
  readonly kind: "default" | "portable" | "cuda";
}

/** The default build, and the portable and CUDA builds that are installed. */
async function installedBuilds(): Promise<Build[]> {
  const builds: Build[] = [{ name: "default build", dir: null, kind: "default" }];
  const extra = [
    { dir: `${REPO_ROOT}/native/lib-portable`, kind: "portable" as const },
    { dir: `${REPO_ROOT}/native/lib-cuda`, kind: "cuda" as const },
  ];
  for (const { dir, kind } of extra) {
    const manifest = await readInstalledManifest(dir).catch(() => null);
    const installed = kind === "portable" ? manifest?.portable === true : manifest?.cuda === true;
    if (installed) builds.push({ name: `${kind} build in ${dir}`, dir, kind });
    else {
      const flag = kind === "portable" ? "--portable" : "--cuda";
      console.log(
        `${dir} holds no ${kind} build (install one with ` +
          `\`./run native ${flag} --lib-dir native/lib-${kind}\`)`,
      );
    }
  }
  return builds;
}

/** ggml's CPU feature names and the /proc/cpuinfo flags they stand for (x86). */
const CPUINFO_FLAG: Record<string, string> = {
  SSE3: "pni",
  SSSE3: "ssse3",
  AVX: "avx",
  AVX_VNNI: "avx_vnni",
  AVX2: "avx2",
  F16C: "f16c",
  FMA: "fma",
  BMI2: "bmi2",
  AVX512: "avx512f",
  AVX512_VBMI: "avx512vbmi",
  AVX512_VNNI: "avx512_vnni",
  AVX512_BF16: "avx512_bf16",
  AMX_INT8: "amx_int8",
};

async function hostCpuFlags(): Promise<Set<string>> {
  const out = await new Deno.Command("grep", { args: ["-m1", "^flags", "/proc/cpuinfo"] }).output();
  return new Set(new TextDecoder().decode(out.stdout).split(":")[1]?.trim().split(/\s+/) ?? []);
}

async function streamedImageCompletion(url: string): Promise<string> {
  const dataUrl = await pngDataUrl(96, 64);
  const response = await fetch(`${url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      stream: true,
      max_tokens: 4,
      temperature: 0,
      messages: [{
        role: "user",
        content: [{ type: "text", text: "What is this?" }, {
          type: "image_url",
          image_url: { url: dataUrl },
        }],
      }],
    }),
  });
  assert.equal(response.status, 200);
  assert.match(response.headers.get("content-type") ?? "", /text\/event-stream/);
  return await response.text();
}

Deno.test("./run serve reports which device and CPU variant run the model, from each installed build", async (t) => {
  for (const build of await installedBuilds()) {
    await t.step(build.name, () => checkBuild(build));
  }
});

async function checkBuild(build: Build): Promise<void> {
  const server = await startServe(
    ["--demo", "--port", "0", "--no-log-file"],
    undefined,
    build.dir ? { SMOLVLM_LIB_DIR: build.dir } : {},
  );
  try {
    const stream = await streamedImageCompletion(server.url);
    assert.match(stream, /^data: \{.*"delta"/m);
    assert.match(stream, /^data: \[DONE\]$/m);

    const info = await (await fetch(`${server.url}/v1/info`)).json();
    const b = info.build.backends;
    assert.ok(b, `no build.backends in /v1/info: ${JSON.stringify(info.build)}`);
    const gpus = b.devices.filter((d: { type: string }) => d.type === "gpu");
    if (gpus.length > 0) {
      // A CUDA build on a GPU host: everything offloaded by default.
      assert.equal(build.kind, "cuda", JSON.stringify(b.devices));
      assert.equal(info.build.backend, "GPU");
      assert.deepEqual(b.text_model.devices, [gpus[0].name]);
      assert.equal(b.text_model.gpu_layers, b.text_model.total_layers);
      assert.deepEqual(b.vision_encoder, { device: gpus[0].name });
    } else {
      // No GPU here (a CUDA build included: its backend finds no device and the CPU serves).
      assert.equal(info.build.backend, "CPU");
      assert.deepEqual(b.text_model.devices, ["CPU"]);
      assert.equal(b.text_model.gpu_layers, 0);
      assert.deepEqual(b.vision_encoder, { device: "CPU" });
      assert.equal(b.reason, "no GPU device");
      assert.match(server.output(), /backends: text model on CPU.*; vision encoder on CPU/);
    }
    assert.ok(b.text_model.total_layers >= 2, JSON.stringify(b.text_model));
    const cpus = b.devices.filter((d: { type: string }) => d.type === "cpu");
    assert.equal(cpus.length, 1, JSON.stringify(b.devices));
    assert.equal(cpus[0].backend, "CPU");

    // The CPU backend's instruction sets are ones this CPU has, and the best of them: the
    // portable build picked the variant that fits, not the baseline.
    const host = await hostCpuFlags();
    const isa = (b.cpu.features as string[]).filter((f) => f in CPUINFO_FLAG);
    assert.ok(isa.length > 0, JSON.stringify(b.cpu));
    for (const feature of isa) {
      assert.ok(host.has(CPUINFO_FLAG[feature]!), `${feature} not on host`);
    }
    if (host.has("avx2")) assert.ok(isa.includes("AVX2"), JSON.stringify(b.cpu));
    if (host.has("avx512f")) assert.ok(isa.includes("AVX512"), JSON.stringify(b.cpu));
    if (build.kind === "portable") {
      assert.match(b.cpu.variant ?? "", /^[a-z0-9_.]+$/, JSON.stringify(b.cpu));
      assert.notEqual(b.cpu.variant, "x64");
      assert.match(server.output(), new RegExp(`CPU variant ${b.cpu.variant} \\[`));
    } else {
      assert.equal(b.cpu.variant, null);
      assert.match(server.output(), /CPU backend built for this host/);
    }
  } finally {
    Deno.kill(server.pid, "SIGTERM");
    assert.equal((await server.status).code, 0);
  }
}
