/**
 * The page (static/) embedded in the module graph through Deno's text imports, so the edge
 * serves it without reading a file. tests/edge/assets.test.ts checks this table against
 * static/ (same files, same bytes); add a line here when a file is added there.
 *
 * @module
 */
import appJs from "../../static/app.js" with { type: "text" };
import faviconSvg from "../../static/favicon.svg" with { type: "text" };
import indexHtml from "../../static/index.html" with { type: "text" };
import jsApiJs from "../../static/js/api.js" with { type: "text" };
import jsCameraJs from "../../static/js/camera.js" with { type: "text" };
import jsConfigJs from "../../static/js/config.js" with { type: "text" };
import jsConversationJs from "../../static/js/conversation.js" with { type: "text" };
import jsDefaultsJs from "../../static/js/defaults.js" with { type: "text" };
import jsFormatJs from "../../static/js/format.js" with { type: "text" };
import jsGeometryJs from "../../static/js/geometry.js" with { type: "text" };
import jsImagesJs from "../../static/js/images.js" with { type: "text" };
import jsMarkdownJs from "../../static/js/markdown.js" with { type: "text" };
import jsRealtimeJs from "../../static/js/realtime.js" with { type: "text" };
import jsVideoJs from "../../static/js/video.js" with { type: "text" };
import jsSseJs from "../../static/js/sse.js" with { type: "text" };
import jsValidateJs from "../../static/js/validate.js" with { type: "text" };
import styleCss from "../../static/style.css" with { type: "text" };

export interface EmbeddedAsset {
  readonly body: string;
  readonly type: string;
}

/** URL path → file, for every file under static/. */
export const STATIC_ASSETS: Readonly<Record<string, EmbeddedAsset>> = {
  "/app.js": { body: appJs, type: "text/javascript; charset=utf-8" },
  "/favicon.svg": { body: faviconSvg, type: "image/svg+xml" },
  "/index.html": { body: indexHtml, type: "text/html; charset=utf-8" },
  "/js/api.js": { body: jsApiJs, type: "text/javascript; charset=utf-8" },
  "/js/camera.js": { body: jsCameraJs, type: "text/javascript; charset=utf-8" },
  "/js/config.js": { body: jsConfigJs, type: "text/javascript; charset=utf-8" },
  "/js/conversation.js": { body: jsConversationJs, type: "text/javascript; charset=utf-8" },
  "/js/defaults.js": { body: jsDefaultsJs, type: "text/javascript; charset=utf-8" },
  "/js/format.js": { body: jsFormatJs, type: "text/javascript; charset=utf-8" },
  "/js/geometry.js": { body: jsGeometryJs, type: "text/javascript; charset=utf-8" },
  "/js/images.js": { body: jsImagesJs, type: "text/javascript; charset=utf-8" },
  "/js/markdown.js": { body: jsMarkdownJs, type: "text/javascript; charset=utf-8" },
  "/js/realtime.js": { body: jsRealtimeJs, type: "text/javascript; charset=utf-8" },
  "/js/video.js": { body: jsVideoJs, type: "text/javascript; charset=utf-8" },
  "/js/sse.js": { body: jsSseJs, type: "text/javascript; charset=utf-8" },
  "/js/validate.js": { body: jsValidateJs, type: "text/javascript; charset=utf-8" },
  "/style.css": { body: styleCss, type: "text/css; charset=utf-8" },
};
