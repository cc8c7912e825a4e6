// @ts-check
/** The webcam: start, stop, and frames captured from the live preview. */

import { canvasToBlob } from "./images.js";
import { scaleDown } from "./geometry.js";

/** Why the camera cannot be had, in words. */
export class CameraError extends Error {
  /** @param {string} message */
  constructor(message) {
    super(message);
    this.name = "CameraError";
  }
}

/**
 * @param {unknown} error
 * @returns {string}
 */
function cameraMessage(error) {
  const name = error instanceof DOMException ? error.name : "";
  switch (name) {
    case "NotAllowedError":
    case "SecurityError":
      return "Camera access was denied. Allow the camera for this site in the browser's settings, then try again.";
    case "NotFoundError":
    case "OverconstrainedError":
      return "No camera was found. Connect one, or choose a file instead.";
    case "NotReadableError":
    case "AbortError":
      return "The camera is in use by another program or could not be started.";
    default:
      return `The camera could not be started${
        error instanceof Error && error.message ? `: ${error.message}` : "."
      }`;
  }
}

export class Camera {
  /** @param {HTMLVideoElement} video */
  constructor(video) {
    this.video = video;
    /** @type {MediaStream | null} */
    this.stream = null;
  }

  get active() {
    return this.stream !== null &&
      this.stream.getVideoTracks().some((t) => t.readyState === "live");
  }

  /** Asks for the camera (16:9 preferred) and shows it in the video element. */
  async start() {
    if (this.active) return;
    if (!globalThis.isSecureContext) {
      throw new CameraError(
        "The camera needs a secure page: open this service over https:// or on localhost.",
      );
    }
    if (!navigator.mediaDevices?.getUserMedia) {
      throw new CameraError("This browser does not offer camera access.");
    }
    try {
      this.stream = await navigator.mediaDevices.getUserMedia({
        audio: false,
        video: {
          width: { ideal: 1280 },
          height: { ideal: 720 },
          aspectRatio: { ideal: 16 / 9 },
          facingMode: "environment",
        },
      });
    } catch (error) {
      throw new CameraError(cameraMessage(error));
    }
    this.video.srcObject = this.stream;
    try {
      await this.video.play();
    } catch {
      // Autoplay of a muted element works; a refused play still shows frames once loaded.
    }
    if (this.video.readyState < HTMLMediaElement.HAVE_CURRENT_DATA) {
      await new Promise((resolve) =>
        this.video.addEventListener("loadeddata", resolve, { once: true })
      );
    }
  }

  stop() {
    this.stream?.getTracks().forEach((t) => t.stop());
    this.stream = null;
    this.video.srcObject = null;
  }

  /**
   * The current frame as a JPEG, scaled so its longer side is at most maxSide.
   * @param {number} [maxSide]
   * @param {number} [quality]
   * @returns {Promise<{ blob: Blob, width: number, height: number, canvas: HTMLCanvasElement }>}
   */
  async capture(maxSide = 4096, quality = 0.9) {
    const w = this.video.videoWidth;
    const h = this.video.videoHeight;
    if (!this.active || !(w > 0 && h > 0)) {
      throw new CameraError("The camera has no picture yet.");
    }
    const size = scaleDown(w, h, maxSide);
    const canvas = document.createElement("canvas");
    canvas.width = size.width;
    canvas.height = size.height;
    const ctx = canvas.getContext("2d");
    if (!ctx) throw new CameraError("2D canvas unavailable.");
    ctx.drawImage(this.video, 0, 0, size.width, size.height);
    const blob = await canvasToBlob(canvas, "image/jpeg", quality);
    return { blob, width: size.width, height: size.height, canvas };
  }
}
