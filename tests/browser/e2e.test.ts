/**
 * The frontend end to end: Debian's headless Chromium (playwright-core) against the real
 * service started with the tiny random-weights model. Screenshots of the main states go to
 * artifacts/screenshots/. Every step asserts that the page logged no console error.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import type { Browser, Page, Route } from "playwright-core";
import {
  launchBrowser,
  makeTestFiles,
  openPage,
  screenshot,
  type ServerHandle,
  sleep,
  startServer,
  type TestFile,
  waitFor,
  type Watched,
} from "./harness.ts";

const CHAT = "**/v1/chat/completions";

const asUpload = (f: TestFile) => ({
  name: f.name,
  mimeType: f.mimeType,
  buffer: Buffer.from(f.buffer),
});

async function upload(page: Page, f: TestFile) {
  await page.locator("#file-input").setInputFiles(asUpload(f));
}

async function thumbCount(page: Page) {
  return await page.locator("#history button.thumb").count();
}

/** Watches the latest answer's (#answer's) text length change while a request streams. */
async function watchAnswer(page: Page) {
  await page.evaluate(() => {
    const conversation = document.getElementById("conversation")!;
    const g = globalThis as unknown as { __lengths: number[] };
    g.__lengths = [];
    new MutationObserver(() =>
      g.__lengths.push(document.getElementById("answer")?.textContent?.length ?? 0)
    ).observe(conversation, { childList: true, characterData: true, subtree: true });
  });
}

async function answerLengths(page: Page): Promise<number[]> {
  return await page.evaluate(() => (globalThis as unknown as { __lengths: number[] }).__lengths);
}

async function waitAnswerState(page: Page, state: "done" | "error" | "stopped", timeout = 60_000) {
  await page.locator(`#answer[data-state="${state}"]`).waitFor({ timeout });
}

async function setMaxTokens(page: Page, n: number) {
  await page.locator("#max-tokens").fill(String(n));
}

Deno.test({
  name: "frontend in headless Chromium against the real server (demo model)",
  sanitizeOps: false,
  sanitizeResources: false,
}, async (t) => {
  let server: ServerHandle = await startServer();
  let browser: Browser | null = null;
  const pages: Watched[] = [];
  const open = async (path = "/", opts?: Parameters<typeof openPage>[2]) => {
    const w = await openPage(browser!, `${server.base}${path}`, opts);
    pages.push(w);
    return w;
  };
  try {
    browser = await launchBrowser();
    const files = await makeTestFiles(browser);

    await t.step(
      "empty page: health ready, demo label, nothing sent without an image",
      async () => {
        const w = await open();
        const { page } = w;
        await page.locator('#health[data-state="ready"]').waitFor();
        assert.match(await page.locator("#health-text").innerText(), /Ready/);
        await page.locator("#demo-badge").waitFor({ state: "visible" });
        assert.match(
          await page.locator("#demo-badge").innerText(),
          /random weights, output is meaningless/i,
        );
        assert.equal(await page.locator("#question").inputValue(), "Describe this image");
        // The toggles start from the server's defaults (no config file: the pipeline's own,
        // smart crop, noise reduction and colour balance on).
        for (const id of ["#opt-smart-crop", "#opt-noise", "#opt-color"]) {
          assert.equal(await page.locator(id).isChecked(), true, id);
        }
        assert.equal(await page.locator("#stage").getAttribute("data-mode"), "empty");
        assert.equal(await thumbCount(page), 0);
        await screenshot(page, "01-empty-desktop");
        await page.getByRole("button", { name: "Send" }).click();
        await page.locator("#image-message").waitFor({ state: "visible" });
        assert.match(await page.locator("#image-message").innerText(), /image first/);
        await sleep(300);
        assert.equal(w.chat.started, 0);
        w.assertNoConsoleErrors();
        await w.close();
      },
    );

    const main = await open();
    const page = main.page;

    await t.step(
      "upload an image: 120x90 letterboxed thumbnail, streamed answer, stats, report",
      async () => {
        await page.locator('#health[data-state="ready"]').waitFor();
        await upload(page, files.wide!);
        await page.locator("#history button.thumb").first().waitFor();
        const thumb = page.locator("#history button.thumb img").first();
        const natural = await thumb.evaluate((img) => {
          const i = img as HTMLImageElement;
          return [i.naturalWidth, i.naturalHeight];
        });
        assert.deepEqual(natural, [120, 90]);
        const box = await thumb.boundingBox();
        assert.ok(
          box && Math.round(box.width) === 120 && Math.round(box.height) === 90,
          JSON.stringify(box),
        );
        // 16:9 in 4:3: black bands above and below, picture in the middle.
        const [top, middle] = await thumb.evaluate((img) => {
          const c = document.createElement("canvas");
          c.width = 120;
          c.height = 90;
          const g = c.getContext("2d")!;
          g.drawImage(img as HTMLImageElement, 0, 0);
          const px = (x: number, y: number) => [...g.getImageData(x, y, 1, 1).data].slice(0, 3);
          return [px(60, 3), px(10, 45)];
        });
        assert.ok(top!.every((v) => v < 20), `top band not black: ${top}`);
        assert.ok(middle!.some((v) => v > 40), `middle is empty: ${middle}`);
        assert.equal(await page.locator("#stage").getAttribute("data-mode"), "image");
        assert.match(
          (await page.locator("#history button.thumb").first().getAttribute("aria-label"))!,
          /street-16x9\.jpg, 1280×720/,
        );

        await page.getByLabel("Noise reduction").uncheck();
        await setMaxTokens(page, 24);
        await watchAnswer(page);
        const reqPromise = page.waitForRequest(CHAT);
        await page.getByRole("button", { name: "Send" }).click();
        const req = await reqPromise;
        const body = req.postDataJSON();
        assert.equal(body.stream, true);
        assert.equal(body.max_tokens, 24);
        assert.equal(body.image_processing.smart_crop, true);
        assert.equal(body.image_processing.noise_reduction.enabled, false);
        assert.equal(body.image_processing.color_balance.enabled, true);
        assert.equal(body.messages[0].content[0].type, "image_url");
        assert.match(body.messages[0].content[0].image_url.url, /^data:image\/jpeg;base64,\/9j\//);
        assert.deepEqual(body.messages[0].content[1], {
          type: "text",
          text: "Describe this image",
        });
        await waitAnswerState(page, "done");
        const lengths = await answerLengths(page);
        assert.ok(new Set(lengths).size >= 3, `the answer did not stream in pieces: ${lengths}`);
        assert.ok((await page.locator("#answer").innerText()).length > 0);
        assert.match(await page.locator("#stat-tokens").innerText(), /^\d+$/);
        assert.ok(Number(await page.locator("#stat-tokens").innerText()) > 0);
        assert.match(await page.locator("#stat-rate").innerText(), /tok\/s/);
        assert.match(await page.locator("#stat-ttft").innerText(), /\d+(\.\d+)? m?s/);
        await page.locator("#report summary").click();
        const report = await page.locator("#report-body").innerText();
        assert.match(report, /Smart crop\s+on/);
        assert.match(report, /Original size\s+1280×720/);
        assert.match(report, /Processed size\s+\d+×\d+/);
        assert.match(report, /Tiles\s+\d+×\d+/);
        assert.match(report, /Crop box/);
        await screenshot(page, "02-answered-desktop");
        main.assertNoConsoleErrors();
      },
    );

    await t.step(
      "history: several images, click and keyboard reselect, Ctrl+Enter sends",
      async () => {
        await upload(page, files.tall!);
        await upload(page, files.square!);
        await waitFor(async () => (await thumbCount(page)) === 3, "three thumbnails");
        const thumbs = page.locator("#history button.thumb");
        assert.equal(await thumbs.nth(2).getAttribute("aria-pressed"), "true");
        for (let i = 0; i < 3; i++) {
          const size = await thumbs.nth(i).locator("img").evaluate((img) => {
            const r = img.getBoundingClientRect();
            return [Math.round(r.width), Math.round(r.height)];
          });
          assert.deepEqual(size, [120, 90]);
        }
        await thumbs.nth(0).click();
        assert.equal(await thumbs.nth(0).getAttribute("aria-pressed"), "true");
        assert.equal(await thumbs.nth(2).getAttribute("aria-pressed"), "false");
        assert.match((await page.locator("#preview").getAttribute("alt"))!, /street-16x9\.jpg/);
        // Keyboard: focus is on the first thumbnail; → moves to the second, Enter selects it.
        await thumbs.nth(0).focus();
        await page.keyboard.press("ArrowRight");
        await page.keyboard.press("Enter");
        assert.equal(await thumbs.nth(1).getAttribute("aria-pressed"), "true");
        await page.locator("#question").fill("What colour is the circle?");
        const reqPromise = page.waitForRequest(CHAT);
        await page.locator("#question").press("Control+Enter");
        const body = (await reqPromise).postDataJSON();
        assert.match(body.messages[0].content[0].image_url.url, /^data:image\/png;base64,/);
        assert.equal(body.messages[0].content[1].text, "What colour is the circle?");
        await waitAnswerState(page, "done");
        main.assertNoConsoleErrors();
      },
    );

    await t.step("drag and drop, and paste from the clipboard", async () => {
      const before = await thumbCount(page);
      const bytes = [...files.wide!.buffer];
      const dt = await page.evaluateHandle((b) => {
        const dt = new DataTransfer();
        dt.items.add(new File([new Uint8Array(b)], "dropped.jpg", { type: "image/jpeg" }));
        return dt;
      }, bytes);
      await page.dispatchEvent("#stage", "dragenter", { dataTransfer: dt });
      assert.equal(await page.locator("#stage.dragging").count(), 1);
      await page.dispatchEvent("#stage", "drop", { dataTransfer: dt });
      await waitFor(async () => (await thumbCount(page)) === before + 1, "dropped thumbnail");
      assert.equal(await page.locator("#stage.dragging").count(), 0);
      await page.evaluate((b) => {
        const dt = new DataTransfer();
        dt.items.add(new File([new Uint8Array(b)], "", { type: "image/jpeg" }));
        document.dispatchEvent(new ClipboardEvent("paste", { clipboardData: dt, bubbles: true }));
      }, bytes);
      await waitFor(async () => (await thumbCount(page)) === before + 2, "pasted thumbnail");
      const label = await page.locator("#history button.thumb").last().getAttribute("aria-label");
      assert.match(label!, /pasted image, 1280×720, paste/);
      main.assertNoConsoleErrors();
    });

    await t.step("validation: invalid files show a message and send nothing", async () => {
      const before = await thumbCount(page);
      const sent = main.chat.started;
      const cases: [TestFile, RegExp][] = [
        [
          files.text!,
          /“notes\.txt” \(text\/plain\) is not a supported image\. Use JPEG, PNG, GIF, WebP or BMP/,
        ],
        [files.tiny!, /“tiny\.png” is too small: 8×8 px/],
        [
          files.heic!,
          /“IMG_0001\.HEIC” is HEIC\/HEIF, which the server does not take and this browser cannot convert/,
        ],
        // The server's 20 MiB image limit, lowered to what fits its 25 MiB body in base64.
        [files.big!, /“huge\.jpg” is too large: 21 MB; the limit is 18\.7 MB/],
      ];
      for (const [file, message] of cases) {
        await upload(page, file);
        await waitFor(
          async () => message.test(await page.locator("#image-message").innerText()),
          `message ${message}`,
        );
        assert.equal(await page.locator("#image-message").getAttribute("role"), "alert");
        if (file === files.text) await screenshot(page, "03-invalid-file");
      }
      assert.equal(await thumbCount(page), before);
      assert.equal(main.chat.started, sent, "an invalid file sent a request");
      // SVG: not a server format, but Chromium decodes it: converted to JPEG and accepted.
      await upload(page, files.svg!);
      await waitFor(async () => (await thumbCount(page)) === before + 1, "svg thumbnail");
      assert.match(
        await page.locator("#image-message").innerText(),
        /Converted “drawing\.svg” from SVG to JPEG/,
      );
      const reqPromise = page.waitForRequest(CHAT);
      await page.getByRole("button", { name: "Send" }).click();
      const body = (await reqPromise).postDataJSON();
      assert.match(body.messages[0].content[0].image_url.url, /^data:image\/jpeg;base64,\/9j\//);
      await waitAnswerState(page, "done");
      main.assertNoConsoleErrors();
    });

    await t.step("webcam: fake camera preview in 16:9, capture a frame, ask about it", async () => {
      // By keyboard: the button, disabled while the camera starts, keeps the focus.
      await page.locator("#camera-toggle").focus();
      await page.keyboard.press("Enter");
      await page.locator('#stage[data-mode="camera"]').waitFor();
      await page.locator("#camera-toggle:not([disabled])").waitFor();
      assert.equal(await page.evaluate(() => document.activeElement?.id), "camera-toggle");
      await waitFor(
        () => page.locator("#video").evaluate((v) => (v as HTMLVideoElement).videoWidth > 0),
        "camera frames",
      );
      const stage = await page.locator("#stage").boundingBox();
      const videoRatio = await page.locator("#video").evaluate((v) =>
        (v as HTMLVideoElement).videoWidth / (v as HTMLVideoElement).videoHeight
      );
      assert.ok(
        stage && Math.abs(stage.width / stage.height - videoRatio) < 0.02,
        `stage ${JSON.stringify(stage)} vs camera ${videoRatio}`,
      );
      assert.equal(await page.locator("#camera-toggle").getAttribute("aria-pressed"), "true");
      const before = await thumbCount(page);
      await page.getByRole("button", { name: "Capture frame" }).click();
      await waitFor(async () => (await thumbCount(page)) === before + 1, "captured thumbnail");
      const last = page.locator("#history button.thumb").last();
      assert.equal(await last.getAttribute("aria-pressed"), "true");
      assert.match((await last.getAttribute("aria-label"))!, /Camera .*camera frame/);
      // The stage now holds that still: what Send asks about.
      assert.equal(await page.locator("#stage").getAttribute("data-mode"), "image");
      assert.match((await page.locator("#preview").getAttribute("alt"))!, /Camera /);
      assert.deepEqual(
        await last.locator("img").evaluate((
          i,
        ) => [(i as HTMLImageElement).naturalWidth, (i as HTMLImageElement).naturalHeight]),
        [120, 90],
      );
      await screenshot(page, "04-webcam-captured");
      const reqPromise = page.waitForRequest(CHAT);
      await page.getByRole("button", { name: "Send" }).click();
      const body = (await reqPromise).postDataJSON();
      assert.match(body.messages[0].content[0].image_url.url, /^data:image\/jpeg;base64,/);
      await waitAnswerState(page, "done");
      main.assertNoConsoleErrors();
    });

    await t.step(
      "realtime: runs for seconds with at most one request in flight; stop/start is clean",
      async () => {
        await setMaxTokens(page, 8);
        await page.getByLabel("Every").selectOption("250");
        const startedBefore = main.chat.started;
        main.chat.maxInFlight = main.chat.inFlight;
        await page.getByRole("button", { name: "Start realtime" }).click();
        assert.equal(await page.locator("#rt-toggle").getAttribute("aria-pressed"), "true");
        assert.equal(await page.locator("#send").isDisabled(), true);
        // Several requests, one after another (no time budget: the machine may be loaded).
        await waitFor(
          () => main.chat.started - startedBefore >= 3,
          `realtime keeps asking (${main.chat.started - startedBefore} so far)`,
          30_000,
        );
        assert.equal(main.chat.maxInFlight, 1);
        // Choosing a picture meanwhile does not hide the live view realtime asks about.
        await page.locator("#history button.thumb").first().click();
        assert.equal(await page.locator("#stage").getAttribute("data-mode"), "camera");

        // A slow server (each request held 1.2 s): frames taken every 250 ms must be superseded.
        const held: Route[] = [];
        const slow = async (route: Route) => {
          held.push(route);
          await sleep(1200);
          try {
            await route.continue();
          } catch {
            // The page aborted it (realtime stopped) meanwhile.
          }
        };
        await page.route(CHAT, slow);
        await sleep(3500);
        const status = await page.locator("#rt-status").innerText();
        const skipped = Number(
          /Skipped because a newer frame came: (\d+)/.exec(status)?.[1] ?? "0",
        );
        assert.ok(skipped > 0, `no frame was skipped for a newer one: ${status}`);
        assert.doesNotMatch(status, /supersed/i, "plain words");
        assert.equal(main.chat.maxInFlight, 1);
        await screenshot(page, "05-realtime");
        await page.unroute(CHAT, slow);

        await page.getByRole("button", { name: "Stop realtime" }).click();
        assert.equal(await page.locator("#rt-toggle").getAttribute("aria-pressed"), "false");
        await waitFor(() => main.chat.inFlight === 0, "in-flight request ended after stop");
        const afterStop = main.chat.started;
        await sleep(1200);
        assert.equal(main.chat.started, afterStop, "requests went on after stop");

        // Quick start/stop/start: still one loop, one request at a time.
        for (let i = 0; i < 3; i++) {
          await page.locator("#rt-toggle").click();
          await page.locator("#rt-toggle").click();
        }
        await page.locator("#rt-toggle").click();
        await sleep(2000);
        await page.getByRole("button", { name: "Stop realtime" }).click();
        await waitFor(() => main.chat.inFlight === 0, "in-flight request ended after stop");
        assert.equal(main.chat.maxInFlight, 1, "more than one request was in flight");
        assert.equal(await page.locator("#send").isDisabled(), false);
        await page.getByRole("button", { name: "Stop camera" }).click();
        assert.equal(await page.locator("#stage").getAttribute("data-mode"), "image");
        main.assertNoConsoleErrors();
      },
    );

    await t.step("server errors show as readable messages, with retry", async () => {
      await setMaxTokens(page, 16);
      await page.locator("#history button.thumb").first().click();
      const errorText = page.locator("#error-text");
      const json =
        (status: number, message: string, headers: Record<string, string> = {}) =>
        async (route: Route) =>
          await route.fulfill({
            status,
            headers: { "content-type": "application/json", ...headers },
            body: JSON.stringify({
              error: { message, type: "server_error", param: null, code: null },
            }),
          });

      let handler = json(503, "the model is still loading; retry shortly", { "retry-after": "2" });
      await page.route(CHAT, handler);
      await page.getByRole("button", { name: "Send" }).click();
      await waitAnswerState(page, "error");
      assert.equal(
        await errorText.innerText(),
        "The server is not ready (HTTP 503): the model is still loading; retry shortly. Try again in 2 s.",
      );
      assert.equal(await page.locator("#retry").isDisabled(), true, "retry waits for Retry-After");
      assert.match(await page.locator("#retry").innerText(), /Retry in \d s/);
      await screenshot(page, "06-error-503");
      await page.locator("#retry:not([disabled])").waitFor({ timeout: 5000 });
      await page.unroute(CHAT, handler);

      handler = json(500, "decoder crashed");
      await page.route(CHAT, handler);
      await page.getByRole("button", { name: "Retry" }).click();
      await waitFor(async () => /HTTP 500/.test(await errorText.innerText()), "500 message");
      assert.equal(await errorText.innerText(), "The server failed (HTTP 500): decoder crashed.");
      await page.unroute(CHAT, handler);

      handler = json(400, "messages[0].content[1].text must be a string");
      await page.route(CHAT, handler);
      await page.getByRole("button", { name: "Retry" }).click();
      await waitFor(async () => /HTTP 400/.test(await errorText.innerText()), "400 message");
      assert.equal(await page.locator("#retry").isVisible(), false, "a 400 offers no retry");
      await page.unroute(CHAT, handler);

      const midStream = async (route: Route) =>
        await route.fulfill({
          status: 200,
          headers: { "content-type": "text/event-stream" },
          body:
            `data: ${
              JSON.stringify({ choices: [{ index: 0, delta: { content: "Half an ans" } }] })
            }\n\n` +
            `data: ${
              JSON.stringify({
                error: { message: "engine failed", type: "server_error", param: null, code: null },
              })
            }\n\n`,
        });
      await page.route(CHAT, midStream);
      await page.getByRole("button", { name: "Send" }).click();
      await waitFor(
        async () => /failed while answering/.test(await errorText.innerText()),
        "mid-stream",
      );
      assert.equal(await errorText.innerText(), "The server failed while answering: engine failed");
      assert.equal(await page.locator("#answer").innerText(), "Half an ans");
      await page.unroute(CHAT, midStream);

      // Retry against the real server succeeds and clears the error. By keyboard: hiding the
      // error takes the focused Retry button away; focus goes to Send (by Stop), not the page.
      await page.locator("#retry").focus();
      await page.keyboard.press("Enter");
      await waitAnswerState(page, "done");
      assert.equal(await page.locator("#error").isVisible(), false);
      assert.equal(await page.evaluate(() => document.activeElement?.id), "send");
      main.assertNoConsoleErrors([/status of (503|500|400)/]);
    });

    await t.step("a server that does not answer times out with a message", async () => {
      const w = await open("/?timeout_ms=1500");
      const hung: Route[] = [];
      const hang = (route: Route) => {
        hung.push(route);
      };
      await w.page.route(CHAT, hang);
      await upload(w.page, files.square!);
      await w.page.locator("#history button.thumb").first().waitFor();
      // Stop ends a waiting request without an error. By keyboard: focus goes from Send to Stop
      // and back, never to the page (a disabled button drops it).
      const focused = () => w.page.evaluate(() => document.activeElement?.id ?? "");
      await w.page.locator("#send").focus();
      await w.page.keyboard.press("Enter");
      await w.page.locator("#stop:not([disabled])").waitFor();
      assert.equal(await focused(), "stop");
      await w.page.keyboard.press("Enter");
      await waitAnswerState(w.page, "stopped");
      assert.equal(await focused(), "send");
      assert.equal(await w.page.locator("#error").isVisible(), false);
      assert.equal(await w.page.locator("#send").isDisabled(), false);
      await w.page.getByRole("button", { name: "Send" }).click();
      await waitAnswerState(w.page, "error");
      assert.equal(
        await w.page.locator("#error-text").innerText(),
        "The server did not answer within 2 s.",
      );
      assert.equal(await w.page.locator("#retry").isVisible(), true);
      for (const r of hung) await r.abort().catch(() => {});
      await w.page.unroute(CHAT, hang);
      w.assertNoConsoleErrors();
      await w.close();
    });

    await t.step("health indicator: model loading, then ready", async () => {
      const loading = async (route: Route) =>
        await route.fulfill({
          status: 503,
          headers: { "content-type": "application/json", "retry-after": "5" },
          body: JSON.stringify({ status: "loading", active_model: "smolvlm", timestamp: "" }),
        });
      const context = await browser!.newContext();
      await context.route("**/health", loading);
      const p = await context.newPage();
      const errors: string[] = [];
      p.on("console", (m) => {
        if (m.type() === "error" && !/Failed to load resource.*status of 503/.test(m.text())) {
          errors.push(m.text());
        }
      });
      p.on("pageerror", (e) => errors.push(e.message));
      await p.goto(server.base);
      await p.locator('#health[data-state="loading"]').waitFor();
      assert.equal(await p.locator("#health-text").innerText(), "Model loading…");
      await context.unroute("**/health", loading);
      await p.locator('#health[data-state="ready"]').waitFor({ timeout: 10_000 });
      assert.deepEqual(errors, []);
      await context.close();
    });

    await t.step("phone width: one column, no sideways scrolling, 120x90 thumbnails", async () => {
      const w = await open("/", { width: 390, height: 844, isMobile: true });
      const p = w.page;
      await p.locator('#health[data-state="ready"]').waitFor();
      await screenshot(p, "07-phone-empty");
      await upload(p, files.wide!);
      await p.locator("#history button.thumb").first().waitFor();
      await setMaxTokens(p, 24);
      await p.getByRole("button", { name: "Send" }).click();
      await waitAnswerState(p, "done");
      // A long file name in a message, and a long word in an error, wrap too. (A mobile
      // viewport widens to fit what overflows: the page must stay 390 px wide.)
      await upload(p, { ...files.text!, name: `${"IMG_20260101_123456789_HDR".repeat(3)}.txt` });
      await p.locator("#image-message").waitFor({ state: "visible" });
      const pageWidths = () => p.evaluate(() => [document.documentElement.scrollWidth, innerWidth]);
      assert.deepEqual(
        await pageWidths(),
        [390, 390],
        "a file name makes the page scroll sideways",
      );
      await p.route(CHAT, (route) =>
        route.fulfill({
          status: 400,
          headers: { "content-type": "application/json" },
          body: JSON.stringify({
            error: {
              message: `image host not allowed: https://${"imagescdn".repeat(8)}.example.com/`,
              type: "invalid_request_error",
              param: null,
              code: null,
            },
          }),
        }));
      await p.getByRole("button", { name: "Send" }).click();
      await p.locator("#error").waitFor();
      assert.deepEqual(await pageWidths(), [390, 390], "an error makes the page scroll sideways");
      const image = await p.locator(".image-panel").boundingBox();
      const ask = await p.locator(".ask-panel").boundingBox();
      assert.ok(image && ask && ask.y >= image.y + image.height - 1, "panels are not stacked");
      const thumb = await p.locator("#history button.thumb img").first().boundingBox();
      assert.ok(thumb && Math.round(thumb.width) === 120 && Math.round(thumb.height) === 90);
      await screenshot(p, "08-phone-answered");
      w.assertNoConsoleErrors([/status of 400/]);
      await w.close();
    });

    await t.step(
      "the server goes away: unreachable, error, then retry once it is back",
      async () => {
        const port = server.port;
        await server.stop();
        await page.getByRole("button", { name: "Send" }).click();
        await waitAnswerState(page, "error");
        assert.match(await page.locator("#error-text").innerText(), /Could not reach the server/);
        await page.locator('#health[data-state="unreachable"]').waitFor({ timeout: 10_000 });
        assert.equal(await page.locator("#health-text").innerText(), "Server unreachable");
        await screenshot(page, "09-unreachable");
        server = await startServer(port);
        await page.locator('#health[data-state="ready"]').waitFor({ timeout: 15_000 });
        await page.getByRole("button", { name: "Retry" }).click();
        await waitAnswerState(page, "done");
        assert.equal(await page.locator("#error").isVisible(), false);
        main.assertNoConsoleErrors([
          /status of (503|500|400)/,
          /ERR_CONNECTION_REFUSED|ERR_EMPTY_RESPONSE|ERR_CONNECTION_RESET/,
        ]);
      },
    );
  } catch (error) {
    throw new Error(
      `${error instanceof Error ? error.stack : error}\n--- server output ---\n${
        server.logs().slice(-4000)
      }`,
    );
  } finally {
    for (const w of pages) await w.close().catch(() => {});
    await browser?.close().catch(() => {});
    await server.stop();
  }
});
