/**
 * The page's video section in headless Chromium against the real server (tiny demo model): a
 * webm clip made by ffmpeg in the test and dropped on the page becomes a strip of sampled frames
 * with timestamps, and asking streams an answer; the fake camera supplies a recording too.
 */
import assert from "node:assert/strict";
import type { Browser, Route } from "playwright-core";
import { launchBrowser, openPage, type ServerHandle, startServer, waitFor } from "./harness.ts";
import { makeClip } from "../video/clips.ts";

function base64(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(s);
}

Deno.test({
  name: "video on the page: dropped clip → frame strip → streamed answer",
  sanitizeOps: false,
  sanitizeResources: false,
}, async (t) => {
  const clip = await makeClip(3, { container: "webm", size: "320x240" });
  let server: ServerHandle | null = null;
  let browser: Browser | null = null;
  try {
    server = await startServer();
    browser = await launchBrowser();
    const w = await openPage(browser, `${server.base}/`);
    const { page } = w;
    const bodies: string[] = [];
    page.on("request", (r) => {
      if (r.url().endsWith("/v1/chat/completions")) bodies.push(r.postData() ?? "");
    });

    await t.step("a dropped webm becomes three frames stamped 00:00, 00:01, 00:02", async () => {
      await page.evaluate((b64) => {
        const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
        const dt = new DataTransfer();
        dt.items.add(new File([bytes], "clip.webm", { type: "video/webm" }));
        for (const type of ["dragenter", "drop"]) {
          document.body.dispatchEvent(
            new DragEvent(type, { dataTransfer: dt, bubbles: true, cancelable: true }),
          );
        }
      }, base64(clip));
      await page.locator("#video-strip li").nth(2).waitFor({ timeout: 30_000 });
      assert.equal(await page.locator("#video-strip li").count(), 3);
      const stamps = await page.locator("#video-strip .video-stamp").allTextContents();
      assert.deepEqual(stamps, ["00:00", "00:01", "00:02"]);
      assert.match(await page.locator("#video-status").textContent() ?? "", /3 frames from 3\.0 s/);
      // The image area did not take the video for an image, and its drop overlay is gone.
      assert.equal(await page.locator("#image-message").isVisible(), false);
      assert.equal(await page.locator("#stage.dragging").count(), 0);
      assert.equal(await page.locator("#drop-overlay").isVisible(), false);
    });

    await t.step("the video chooser shows keyboard focus on its label", async () => {
      await page.locator("#video-record").focus();
      await page.keyboard.press("Shift+Tab");
      assert.equal(await page.evaluate(() => document.activeElement?.id), "video-file");
      const outline = await page.locator("label.button-like").evaluate((l) => {
        const s = getComputedStyle(l);
        return `${s.outlineStyle} ${s.outlineWidth}`;
      });
      assert.equal(outline, "solid 3px");
    });

    await t.step("asking sends the frames form and streams the answer", async () => {
      // By keyboard: the button is disabled while the answer streams, then has the focus back.
      await page.locator("#video-ask").focus();
      await page.keyboard.press("Enter");
      await page.locator('#video-answer[data-state="done"]').waitFor({ timeout: 120_000 });
      assert.equal(await page.evaluate(() => document.activeElement?.id), "video-ask");
      const answer = await page.locator("#video-answer").textContent() ?? "";
      assert.ok(answer.length > 0, "an answer streamed in");
      const body = JSON.parse(bodies.at(-1)!);
      const part = body.messages[0].content[0];
      assert.equal(part.type, "video_frames");
      assert.equal(part.video_frames.frames.length, 3);
      assert.match(part.video_frames.frames[0].url, /^data:image\/jpeg;base64,/);
      assert.equal(body.stream, true);
    });

    await t.step("the answer's live region is busy while it streams", async () => {
      const held: Route[] = [];
      const hold = (route: Route) => void held.push(route);
      await page.route("**/v1/chat/completions", hold);
      await page.locator("#video-ask").click();
      await page.locator('#video-answer[data-state="streaming"]').waitFor();
      assert.equal(await page.locator("#video-answer").getAttribute("aria-busy"), "true");
      await waitFor(() => held.length === 1, "the request was held");
      await held[0]!.abort("connectionrefused");
      await page.locator('#video-answer[data-state="error"]').waitFor();
      assert.equal(await page.locator("#video-answer").getAttribute("aria-busy"), "false");
      await page.unroute("**/v1/chat/completions", hold);
    });

    await t.step(
      "Stop ends an answer being waited for, keeps what came and gives Ask back",
      async () => {
        const held: Route[] = [];
        const hold = (route: Route) => void held.push(route);
        await page.route("**/v1/chat/completions", hold);
        assert.equal(await page.locator("#video-stop").isVisible(), false);
        await page.locator("#video-ask").focus();
        await page.keyboard.press("Enter");
        await page.locator('#video-answer[data-state="streaming"]').waitFor();
        await waitFor(() => held.length === 1, "the request was held");
        // By keyboard: the focus went from Ask to Stop, and comes back to Ask.
        assert.equal(await page.evaluate(() => document.activeElement?.id), "video-stop");
        await page.keyboard.press("Enter");
        await page.locator('#video-answer[data-state="stopped"]').waitFor();
        assert.equal(await page.locator("#video-stop").isVisible(), false);
        assert.equal(await page.locator("#video-ask").isDisabled(), false);
        assert.equal(await page.evaluate(() => document.activeElement?.id), "video-ask");
        assert.equal(await page.locator("#video-answer").getAttribute("aria-busy"), "false");
        await page.unroute("**/v1/chat/completions", hold);
      },
    );

    await t.step("the fake camera's recording is sampled into a strip too", async () => {
      await page.locator("#video-record").focus();
      await page.keyboard.press("Enter");
      await waitFor(
        async () =>
          /frames from .* the recording/.test(
            await page.locator("#video-status").textContent() ?? "",
          ),
        "the recording was never sampled",
        30_000,
      );
      assert.ok(await page.locator("#video-strip li").count() >= 2);
      await page.locator("#video-record:not([disabled])").waitFor();
      assert.equal(await page.evaluate(() => document.activeElement?.id), "video-record");
    });
    w.assertNoConsoleErrors([/ERR_CONNECTION_REFUSED/]);
  } finally {
    await browser?.close();
    await server?.stop();
  }
});
