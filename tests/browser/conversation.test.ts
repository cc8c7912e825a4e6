/**
 * The page asks about what it shows, keeps a conversation, and keeps realtime in one view:
 * real Chromium (fake camera) against the real service with the tiny demo model, under a
 * strict Content-Security-Policy. Screenshots of each state go to artifacts/screenshots/.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import type { Browser, Page, Route } from "playwright-core";
import {
  launchBrowser,
  makeTestFiles,
  openPage,
  screenshot,
  SCREENSHOT_DIR,
  type ServerHandle,
  startServer,
  type TestFile,
  waitFor,
  type Watched,
} from "./harness.ts";

const CHAT = "**/v1/chat/completions";

async function upload(page: Page, f: TestFile) {
  const before = await page.locator("#history button.thumb").count();
  await page.locator("#file-input").setInputFiles({
    name: f.name,
    mimeType: f.mimeType,
    buffer: Buffer.from(f.buffer),
  });
  await waitFor(
    async () => (await page.locator("#history button.thumb").count()) === before + 1,
    `thumbnail for ${f.name}`,
  );
}

async function waitDone(page: Page) {
  await page.locator('#answer[data-state="done"]').waitFor({ timeout: 60_000 });
}

/** Natural size of an image URL, decoded by the page. */
async function imageSize(page: Page, url: string): Promise<[number, number]> {
  return await page.evaluate(async (u) => {
    const img = new Image();
    img.src = u;
    await img.decode();
    return [img.naturalWidth, img.naturalHeight] as [number, number];
  }, url);
}

/**
 * Mean absolute difference between the page's own 120x90 thumbnail of `url` (the page's
 * makeThumbnail) and the image at `thumbUrl`.
 */
async function thumbnailDistance(page: Page, url: string, thumbUrl: string): Promise<number> {
  return await page.evaluate(async ([u, t]) => {
    const { makeThumbnail } = await import("/js/images.js");
    const load = async (src: string) => {
      const img = new Image();
      img.src = src;
      await img.decode();
      return img;
    };
    const source = await load(u!);
    const pixels = async (src: string) => {
      const c = document.createElement("canvas");
      c.width = 120;
      c.height = 90;
      const g = c.getContext("2d")!;
      g.drawImage(await load(src), 0, 0);
      return g.getImageData(0, 0, 120, 90).data;
    };
    const a = await pixels(makeThumbnail(source, source.naturalWidth, source.naturalHeight));
    const b = await pixels(t!);
    let sum = 0;
    for (let i = 0; i < a.length; i++) sum += Math.abs(a[i]! - b[i]!);
    return sum / a.length;
  }, [url, thumbUrl]);
}

function requestImage(body: { messages: { content: unknown }[] }): string {
  const first = body.messages[0]!.content as { image_url?: { url: string } }[];
  return first[0]!.image_url!.url;
}

/** An SSE answer with the given text, as the server streams it. */
function sseAnswer(text: string): string {
  const chunk = (delta: object, finish: string | null = null) =>
    `data: ${
      JSON.stringify({
        id: "chatcmpl-test",
        object: "chat.completion.chunk",
        created: 0,
        model: "smolvlm",
        choices: [{ index: 0, delta, finish_reason: finish }],
      })
    }\n\n`;
  const pieces = text.match(/[\s\S]{1,7}/g) ?? [];
  return chunk({ role: "assistant", content: "" }) +
    pieces.map((p) => chunk({ content: p })).join("") + chunk({}, "stop") + "data: [DONE]\n\n";
}

Deno.test({
  name: "the page asks about what it shows, converses, and keeps realtime in view",
  sanitizeOps: false,
  sanitizeResources: false,
}, async (t) => {
  const server: ServerHandle = await startServer();
  let browser: Browser | null = null;
  const pages: Watched[] = [];
  try {
    browser = await launchBrowser();
    const files = await makeTestFiles(browser);

    await t.step("the frame asked about is the frame shown", async () => {
      const w = await openPage(browser!, server.base);
      pages.push(w);
      const { page } = w;
      await page.locator('#health[data-state="ready"]').waitFor();
      await page.locator("#max-tokens").fill("8");
      await upload(page, files.wide!);
      const photoThumb = await page.locator("#history button.thumb img").first()
        .getAttribute("src");

      // A photo is chosen, then the camera started: the stage shows the camera, so Send must
      // ask about the live frame, not the photo.
      await page.getByRole("button", { name: "Start camera" }).click();
      await page.locator('#stage[data-mode="camera"]').waitFor();
      await waitFor(
        () => page.locator("#video").evaluate((v) => (v as HTMLVideoElement).videoWidth > 0),
        "camera frames",
      );
      const video = await page.locator("#video").evaluate((v) => [
        (v as HTMLVideoElement).videoWidth,
        (v as HTMLVideoElement).videoHeight,
      ]);
      assert.match(await page.locator("#send-hint").innerText(), /camera frame/);
      await screenshot(page, "c01-camera-shown");
      const sent = page.waitForRequest(CHAT);
      await page.getByRole("button", { name: "Send" }).click();
      const cameraImage = requestImage((await sent).postDataJSON());
      await waitDone(page);
      assert.deepEqual(await imageSize(page, cameraImage), video, "the camera frame was sent");
      const turnThumb = (await page.locator(".turn .turn-thumb").last().getAttribute("src"))!;
      assert.ok(
        (await thumbnailDistance(page, cameraImage, turnThumb)) < 12,
        "the turn shows the frame that was sent",
      );
      assert.ok(
        (await thumbnailDistance(page, cameraImage, photoThumb!)) > 25,
        "and it is not the photo",
      );
      await screenshot(page, "c02-asked-about-camera-frame");

      // Camera off, photo selected: the stage shows the photo, and Send asks about it.
      await page.getByRole("button", { name: "Stop camera" }).click();
      await page.locator("#history button.thumb").first().click();
      assert.equal(await page.locator("#stage").getAttribute("data-mode"), "image");
      assert.match((await page.locator("#preview").getAttribute("alt"))!, /street-16x9\.jpg/);
      const sent2 = page.waitForRequest(CHAT);
      await page.getByRole("button", { name: "Send" }).click();
      const photoImage = requestImage((await sent2).postDataJSON());
      await waitDone(page);
      assert.deepEqual(await imageSize(page, photoImage), [1280, 720]);
      assert.ok((await thumbnailDistance(page, photoImage, photoThumb!)) < 12);
      await screenshot(page, "c03-asked-about-photo");
      w.assertNoConsoleErrors();
      // The strict CSP is in force: an inline script does not run.
      const inlineRan = await page.evaluate(() => {
        const script = document.createElement("script");
        script.textContent = "globalThis.__inlineRan = true";
        document.head.append(script);
        return (globalThis as unknown as { __inlineRan?: boolean }).__inlineRan === true;
      });
      assert.equal(inlineRan, false, "the page ran under the strict CSP");
    });

    await t.step("a two-turn conversation about one image, copy, safe Markdown", async () => {
      const w = await openPage(browser!, server.base);
      pages.push(w);
      const { page } = w;
      await page.locator('#health[data-state="ready"]').waitFor();
      await page.locator("#max-tokens").fill("12");
      await upload(page, files.tall!);

      await page.locator("#question").fill("Describe this image");
      await page.getByRole("button", { name: "Send" }).click();
      await waitDone(page);
      const shown = await page.locator(".turn").first().locator(".turn-answer").innerText();
      await page.locator(".turn").first().getByRole("button", { name: "Copy answer" }).click();
      const first = await page.evaluate(() => navigator.clipboard.readText());
      // Copy gives the model's text as written; the page shows it as Markdown (markup gone).
      const letters = (x: string) => x.replace(/[^\p{L}]+/gu, "");
      assert.ok(first.length > 0);
      assert.equal(letters(first), letters(shown), "Copy gives the answer's text");

      await page.locator("#question").fill("What colour is the circle?");
      const sent = page.waitForRequest(CHAT);
      await page.getByRole("button", { name: "Send" }).click();
      const body = (await sent).postDataJSON();
      await waitDone(page);
      assert.equal(body.messages.length, 3, JSON.stringify(body.messages).slice(0, 300));
      assert.equal(body.messages[0].role, "user");
      assert.equal(body.messages[0].content[0].type, "image_url");
      assert.equal(body.messages[0].content[1].text, "Describe this image");
      assert.equal(body.messages[1].role, "assistant");
      assert.equal(body.messages[1].content, first, "the first answer, as the model wrote it");
      assert.deepEqual(body.messages[2], { role: "user", content: "What colour is the circle?" });

      const turns = page.locator(".turn");
      assert.equal(await turns.count(), 2);
      const thumbs = await page.locator(".turn .turn-thumb").evaluateAll((imgs) =>
        imgs.map((i) => (i as HTMLImageElement).src)
      );
      assert.equal(new Set(thumbs).size, 1, "both turns show the same image");
      assert.equal(
        await turns.nth(1).locator(".turn-question").innerText(),
        body.messages[2].content,
      );
      assert.match(await turns.nth(1).locator("dd").first().innerText(), /^\d+$/, "timings shown");
      await screenshot(page, "c04-two-turn-conversation");

      // Model text with Markdown and HTML: formatting rendered, HTML shown as text.
      const hostile = "**Bold** and `code` <img src=x onerror=alert(1)>\n\n- one\n- two\n";
      const fake = async (route: Route) =>
        await route.fulfill({
          status: 200,
          headers: { "content-type": "text/event-stream" },
          body: sseAnswer(hostile),
        });
      await page.route(CHAT, fake);
      await page.locator("#question").fill("Format it");
      await page.getByRole("button", { name: "Send" }).click();
      await waitDone(page);
      await page.unroute(CHAT, fake);
      const answer = page.locator("#answer");
      assert.equal(await answer.locator("strong").innerText(), "Bold");
      assert.equal(await answer.locator("code").innerText(), "code");
      assert.equal(await answer.locator("li").count(), 2);
      assert.equal(await answer.locator("img").count(), 0, "no HTML from the model");
      assert.match(await answer.innerText(), /<img src=x onerror=alert\(1\)>/);
      assert.equal(await turns.count(), 3);
      await screenshot(page, "c05-markdown-answer");

      await page.getByRole("button", { name: "New conversation" }).click();
      assert.equal(await turns.count(), 0);
      w.assertNoConsoleErrors();
    });

    await t.step(
      "realtime on a 390x844 phone keeps the live view and the latest answer on screen",
      async () => {
        const w = await openPage(browser!, server.base, {
          width: 390,
          height: 844,
          isMobile: true,
        });
        pages.push(w);
        const { page } = w;
        await page.locator('#health[data-state="ready"]').waitFor();
        await page.locator("#max-tokens").fill("6");
        await page.getByLabel("Every").selectOption("500");
        await page.getByRole("button", { name: "Start realtime" }).click();
        await waitFor(
          async () => /off while realtime runs/.test(await page.locator("#send-hint").innerText()),
          "Send says why it is off",
        );
        assert.equal(await page.locator("#send").isDisabled(), true);
        await waitFor(
          async () => Number(await page.locator("#rt-log-count").innerText()) >= 2,
          "two realtime answers",
          60_000,
        );
        const onScreen = async (selector: string) => {
          const box = await page.locator(selector).boundingBox();
          assert.ok(box, `${selector} is rendered`);
          assert.ok(
            box.y >= 0 && box.y + box.height <= 844 && box.width > 0,
            `${selector} is off screen: ${JSON.stringify(box)}`,
          );
        };
        for (const s of ["#video", "#rt-toggle", "#rt-status", "#rt-latest"]) await onScreen(s);
        assert.ok((await page.locator("#rt-latest").innerText()).trim().length > 0);
        const widths = await page.evaluate(
          () => [document.documentElement.scrollWidth, innerWidth],
        );
        assert.ok(widths[0]! <= widths[1]!, `page scrolls sideways: ${widths}`);
        await Deno.mkdir(SCREENSHOT_DIR, { recursive: true });
        await page.screenshot({ path: `${SCREENSHOT_DIR}/c06-phone-realtime.png` });

        await waitFor(
          async () => Number(await page.locator("#rt-log-count").innerText()) >= 4,
          "more realtime answers",
          60_000,
        );
        for (const s of ["#video", "#rt-latest"]) await onScreen(s);
        const log = await page.locator("#rt-log li").first().innerText();
        assert.match(log, /^\d{2}:\d{2}:\d{2}/, "timestamped log entries");

        const asked = async () =>
          Number(
            /Frames asked about: (\d+)/.exec(await page.locator("#rt-status").innerText())?.[1],
          );
        await page.getByRole("button", { name: "Stop realtime" }).click();
        const afterFirstRun = await asked();
        assert.ok(afterFirstRun >= 4);
        await page.getByRole("button", { name: "Start realtime" }).click();
        await waitFor(async () => (await asked()) > afterFirstRun, "counters go on", 30_000);
        await page.getByRole("button", { name: "Stop realtime" }).click();
        assert.doesNotMatch(await page.locator("#rt-status").innerText(), /supersed/i);
        assert.equal(await page.locator("#send").isDisabled(), false);
        await screenshot(page, "c07-phone-realtime-stopped");
        w.assertNoConsoleErrors();
      },
    );

    await t.step("a portrait photo fills the stage's height on a phone", async () => {
      const w = await openPage(browser!, server.base, { width: 390, height: 844, isMobile: true });
      pages.push(w);
      const { page } = w;
      await upload(page, files.tall!);
      const stage = await page.locator("#stage").boundingBox();
      assert.ok(stage, "stage rendered");
      assert.ok(Math.abs(stage.width / stage.height - 600 / 900) < 0.02, JSON.stringify(stage));
      assert.ok(stage.width > 250, `portrait stage only ${stage.width} px wide`);
      await screenshot(page, "c08-phone-portrait");
      w.assertNoConsoleErrors();
    });
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
