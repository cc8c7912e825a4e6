/**
 * Chat messages → one prompt string with mtmd media markers where images go, plus the images in
 * marker order. The text is formatted by llama.cpp's built-in template for the model.
 */
import { applyChatTemplate } from "../../ffi/llama.ts";
import { InvalidRequestError } from "./errors.ts";
import type { ChatMessage, RgbImage } from "./types.ts";
import { videoPromptText } from "./video_prompt.ts";

export interface RenderedPrompt {
  readonly text: string;
  /** Every picture in marker order: images and video frames. */
  readonly images: readonly RgbImage[];
  /** Per entry of `images`: true for a video frame (one encoder pass, never tiled). */
  readonly isFrame: readonly boolean[];
}

/** Used when the GGUF carries no chat template: the service is built for SmolVLM. */
export const FALLBACK_TEMPLATE = "smolvlm";

export function validateImage(image: RgbImage, where: string): void {
  const { width, height, data } = image;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw new InvalidRequestError("invalid_image", `${where}: image is ${width}x${height}`);
  }
  if (data.length !== width * height * 3) {
    throw new InvalidRequestError(
      "invalid_image",
      `${where}: ${data.length} bytes of pixels for a ${width}x${height} RGB image`,
    );
  }
}

export async function renderPrompt(
  messages: readonly ChatMessage[],
  template: string | null,
  marker: string,
): Promise<RenderedPrompt> {
  if (messages.length === 0) {
    throw new InvalidRequestError("invalid_request", "messages must not be empty");
  }
  const images: RgbImage[] = [];
  const isFrame: boolean[] = [];
  const flat = messages.map((message, m) => {
    if (typeof message.content === "string") {
      return { role: message.role, content: message.content.replaceAll(marker, "") };
    }
    let content = "";
    message.content.forEach((part, p) => {
      if (part.type === "text") {
        // A marker typed by a user must not become an image slot.
        content += part.text.replaceAll(marker, "");
      } else if (part.type === "video") {
        const { frames } = part.video;
        if (frames.length === 0) {
          throw new InvalidRequestError("invalid_video", `messages[${m}].content[${p}]: no frames`);
        }
        frames.forEach((f, i) => {
          validateImage(f.image, `messages[${m}].content[${p}].frames[${i}]`);
          images.push(f.image);
          isFrame.push(true);
        });
        content += videoPromptText(part.video, marker);
      } else {
        validateImage(part.image, `messages[${m}].content[${p}]`);
        images.push(part.image);
        isFrame.push(false);
        content += marker;
      }
    });
    return { role: message.role, content };
  });
  const text = await applyChatTemplate(template ?? FALLBACK_TEMPLATE, flat, true);
  if (text === null) {
    throw new InvalidRequestError(
      "invalid_request",
      "the model's chat template is not one llama.cpp can apply",
    );
  }
  return { text, images, isFrame };
}
