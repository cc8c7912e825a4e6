/**
 * What the browser end-to-end tests stand on: the real service (`main.ts serve --demo`) on a
 * free loopback port, Debian's Chromium driven by playwright-core, console-error collection,
 * screenshots under artifacts/screenshots/, and test images drawn by Chromium itself.
 */
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import { fileURLToPath } from "node:url";
import { SERVE_PERMISSION_FLAGS } from "../../src/cli/serve_permissions.ts";

export const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));
export const SCREENSHOT_DIR = `${REPO_ROOT}artifacts/screenshots`;
export const CHROMIUM_PATH = Deno.env.get("CHROMIUM_PATH") ?? "/usr/bin/chromium";

export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--use-fake-ui-for-media-stream",
  "--use-fake-device-for-media-stream",
];

/**
 * A strict Content-Security-Policy the page must work under (no inline scripts, no inline
 * styles from markup); openPage enforces it on the page's HTML, whatever the server sends.
 */
export const STRICT_CSP = "default-src 'self'; script-src 'self'; style-src 'self'; " +
  "img-src 'self' data: blob:; media-src 'self' blob: mediastream:; connect-src 'self'; " +
  "object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A loopback port nothing listens on right now. */
export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

export interface ServerHandle {
  readonly port: number;
  readonly base: string;
  /** stdout and stderr so far, for failure messages. */
  logs(): string;
  /** SIGTERM, then SIGKILL after 10 s; resolves once the process has exited. */
  stop(): Promise<void>;
}

/**
 * Starts the real service with the tiny random-weights model and waits for /health 200.
 * Fails (never skips) when it cannot: no native build, no fixtures, a crash.
 */
export async function startServer(port = freePort(), timeoutMs = 90_000): Promise<ServerHandle> {
  const args = [
    "run",
    ...SERVE_PERMISSION_FLAGS,
    "main.ts",
    "serve",
    "--demo",
    "--host",
    "127.0.0.1",
    "--port",
    String(port),
    "--shutdown-grace",
    "1",
    "--no-log-file",
  ];
  const child = new Deno.Command(Deno.execPath(), {
    args,
    cwd: REPO_ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  let output = "";
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    const decoder = new TextDecoder();
    for await (const piece of stream) {
      output += decoder.decode(piece, { stream: true });
      if (output.length > 200_000) output = output.slice(-100_000);
    }
  };
  const pumps = Promise.all([pump(child.stdout), pump(child.stderr)]).catch(() => {});
  let exited = false;
  const status = child.status.then((s) => {
    exited = true;
    return s;
  });
  const base = `http://127.0.0.1:${port}`;
  const handle: ServerHandle = {
    port,
    base,
    logs: () => output,
    async stop() {
      if (!exited) {
        try {
          child.kill("SIGTERM");
        } catch {
          // Already gone.
        }
        const killer = setTimeout(() => {
          try {
            child.kill("SIGKILL");
          } catch {
            // Already gone.
          }
        }, 10_000);
        await status;
        clearTimeout(killer);
      }
      await pumps;
    },
  };
  const deadline = Date.now() + timeoutMs;
  let last = "no answer yet";
  while (Date.now() < deadline) {
    if (exited) {
      await pumps;
      throw new Error(
        `the server exited before becoming healthy (${(await status).code}):\n${output}`,
      );
    }
    try {
      const res = await fetch(`${base}/health`);
      const body = await res.text();
      if (res.status === 200) return handle;
      last = `${res.status} ${body}`;
      if (body.includes('"unhealthy"')) break;
    } catch (error) {
      last = String(error);
    }
    await sleep(200);
  }
  await handle.stop();
  throw new Error(`the server never became healthy (last: ${last}):\n${output}`);
}

export async function launchBrowser(): Promise<Browser> {
  try {
    await Deno.stat(CHROMIUM_PATH);
  } catch {
    throw new Error(
      `${CHROMIUM_PATH} is missing: install Debian's chromium (apt-get install -y chromium)`,
    );
  }
  // Playwright gives the browser a fresh temporary user-data-dir and removes it on close.
  return await chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: CHROMIUM_ARGS,
    timeout: 60_000,
  });
}

export interface Watched {
  readonly context: BrowserContext;
  readonly page: Page;
  /** Console errors and uncaught exceptions seen so far. */
  readonly errors: string[];
  /** Chat requests started, and the most ever in flight at once. */
  readonly chat: { started: number; inFlight: number; maxInFlight: number; finished: number };
  /**
   * Asserts no console error but the browser's own "Failed to load resource" lines for
   * requests this test failed on purpose (each pattern must match the line).
   */
  assertNoConsoleErrors(expectedNetworkFailures?: RegExp[]): void;
  close(): Promise<void>;
}

/** A new context and page with console errors and chat requests watched. */
export async function openPage(
  browser: Browser,
  url: string,
  opts: { width?: number; height?: number; isMobile?: boolean } = {},
): Promise<Watched> {
  const context = await browser.newContext({
    viewport: { width: opts.width ?? 1280, height: opts.height ?? 900 },
    isMobile: opts.isMobile ?? false,
    hasTouch: opts.isMobile ?? false,
    deviceScaleFactor: 1,
    permissions: ["camera", "clipboard-read", "clipboard-write"],
  });
  await context.route((u) => u.pathname === "/" || u.pathname === "/index.html", async (route) => {
    const response = await route.fetch();
    await route.fulfill({
      response,
      headers: { ...response.headers(), "content-security-policy": STRICT_CSP },
    });
  });
  const page = await context.newPage();
  page.setDefaultTimeout(20_000);
  const errors: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(`console.error: ${m.text()} (${m.location().url})`);
  });
  page.on("pageerror", (e) => errors.push(`uncaught: ${e.message}`));
  await page.exposeFunction("__cspViolation", (what: string) => errors.push(`CSP: ${what}`));
  await page.addInitScript(() => {
    document.addEventListener("securitypolicyviolation", (e) => {
      const report = (globalThis as unknown as { __cspViolation(s: string): void }).__cspViolation;
      report(`${e.violatedDirective} blocked ${e.blockedURI} at ${e.sourceFile}:${e.lineNumber}`);
    });
  });
  const chat = { started: 0, inFlight: 0, maxInFlight: 0, finished: 0 };
  const isChat = (u: string) => u.endsWith("/v1/chat/completions");
  page.on("request", (r) => {
    if (!isChat(r.url())) return;
    chat.started++;
    chat.inFlight++;
    chat.maxInFlight = Math.max(chat.maxInFlight, chat.inFlight);
  });
  const done = (r: { url(): string }) => {
    if (!isChat(r.url())) return;
    chat.inFlight--;
    chat.finished++;
  };
  page.on("requestfinished", done);
  page.on("requestfailed", done);
  await page.goto(url, { waitUntil: "load" });
  return {
    context,
    page,
    errors,
    chat,
    assertNoConsoleErrors(expected: RegExp[] = []) {
      const unexpected = errors.filter((e) =>
        !(e.includes("Failed to load resource") && expected.some((re) => re.test(e)))
      );
      if (unexpected.length > 0) {
        throw new Error(`console errors:\n${unexpected.join("\n")}`);
      }
    },
    async close() {
      await context.close();
    },
  };
}

export async function screenshot(page: Page, name: string): Promise<string> {
  await Deno.mkdir(SCREENSHOT_DIR, { recursive: true });
  const path = `${SCREENSHOT_DIR}/${name}.png`;
  await page.screenshot({ path, fullPage: true, animations: "disabled", caret: "hide" });
  return path;
}

export interface TestFile {
  name: string;
  mimeType: string;
  buffer: Uint8Array;
}

/** Test images drawn by Chromium on a blank page (no server involved). */
export async function makeTestFiles(browser: Browser): Promise<Record<string, TestFile>> {
  const page = await browser.newPage();
  try {
    const drawn = await page.evaluate(async () => {
      const draw = async (w: number, h: number, type: string, seed: number) => {
        const c = document.createElement("canvas");
        c.width = w;
        c.height = h;
        const g = c.getContext("2d")!;
        const grad = g.createLinearGradient(0, 0, w, h);
        grad.addColorStop(0, `hsl(${seed * 40}, 70%, 55%)`);
        grad.addColorStop(1, `hsl(${seed * 40 + 160}, 70%, 35%)`);
        g.fillStyle = grad;
        g.fillRect(0, 0, w, h);
        g.fillStyle = "#ffd400";
        g.beginPath();
        g.arc(w * 0.3, h * 0.45, Math.min(w, h) * 0.2, 0, Math.PI * 2);
        g.fill();
        g.fillStyle = "#1b1b1b";
        g.fillRect(w * 0.55, h * 0.3, w * 0.3, h * 0.45);
        g.fillStyle = "#fff";
        g.font = `${Math.round(h / 10)}px sans-serif`;
        g.fillText(`test ${seed}`, w * 0.05, h * 0.9);
        const blob = await new Promise<Blob>((r) => c.toBlob((b) => r(b!), type, 0.9));
        return [...new Uint8Array(await blob.arrayBuffer())];
      };
      return {
        wide: await draw(1280, 720, "image/jpeg", 1),
        tall: await draw(600, 900, "image/png", 2),
        square: await draw(500, 500, "image/webp", 3),
        tiny: await draw(8, 8, "image/png", 4),
      };
    });
    const enc = new TextEncoder();
    const heic = new Uint8Array(4096);
    heic.set([0, 0, 0, 24], 0);
    heic.set(enc.encode("ftypheic\0\0\0\0mif1heic"), 4);
    const big = new Uint8Array(21 * 1024 * 1024);
    big.set([0xff, 0xd8, 0xff, 0xe0], 0);
    return {
      wide: { name: "street-16x9.jpg", mimeType: "image/jpeg", buffer: new Uint8Array(drawn.wide) },
      tall: { name: "portrait.png", mimeType: "image/png", buffer: new Uint8Array(drawn.tall) },
      square: { name: "square.webp", mimeType: "image/webp", buffer: new Uint8Array(drawn.square) },
      tiny: { name: "tiny.png", mimeType: "image/png", buffer: new Uint8Array(drawn.tiny) },
      svg: {
        name: "drawing.svg",
        mimeType: "image/svg+xml",
        buffer: enc.encode(
          '<svg xmlns="http://www.w3.org/2000/svg" width="400" height="300">' +
            '<rect width="400" height="300" fill="#3a7"/><circle cx="200" cy="150" r="90" ' +
            'fill="#fc3"/></svg>',
        ),
      },
      heic: { name: "IMG_0001.HEIC", mimeType: "image/heic", buffer: heic },
      text: { name: "notes.txt", mimeType: "text/plain", buffer: enc.encode("not an image\n") },
      big: { name: "huge.jpg", mimeType: "image/jpeg", buffer: big },
    };
  } finally {
    await page.close();
  }
}

/** Waits until fn() is true, polling; throws with the message after timeoutMs. */
export async function waitFor(
  fn: () => boolean | Promise<boolean>,
  message: string,
  timeoutMs = 20_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await fn()) return;
    await sleep(50);
  }
  throw new Error(`timed out: ${message}`);
}
