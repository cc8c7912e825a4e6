/**
 * Chat messages → one prompt string with mtmd media markers where images go, plus the images in
 * marker order. The GGUF's own `tokenizer.chat_template` is rendered by `@huggingface/jinja`
 * (the Jinja implementation transformers.js uses); a GGUF without one gets the hand-built
 * prompt of model_facts.ts.
 */
import { Template } from "@huggingface/jinja";
import { InvalidRequestError } from "./errors.ts";
import { HAND_BUILT_FORMAT } from "./model_facts.ts";
import type { ChatMessage, RgbImage } from "./types.ts";
import { FRAME_CLOSE, FRAME_OPEN, videoPromptText } from "./video_prompt.ts";

export interface RenderedPrompt {
  readonly text: string;
  /** Every picture in marker order: images and video frames. */
  readonly images: readonly RgbImage[];
  /** Per entry of `images`: true for a video frame (one encoder pass, never tiled). */
  readonly isFrame: readonly boolean[];
}

/** `media`: text written by the engine around pictures (a video's frames), markers included. */
type Part = { type: "text"; text: string } | { type: "image" } | { type: "media"; text: string };
interface FlatMessage {
  readonly role: string;
  readonly parts: readonly Part[];
}

interface CompiledTemplate {
  readonly template: Template;
  /** Whether the template reads typed content parts (`content[0]['type']`), like SmolVLM's. */
  readonly typedContent: boolean;
  /** What the template writes for an image part (SmolVLM: `<image>`); null when nothing. */
  readonly imagePlaceholder: string | null;
}

const compiled = new Map<string, CompiledTemplate>();

function tryRender(t: Template, messages: unknown[]): string | null {
  try {
    return t.render({ messages, add_generation_prompt: false, bos_token: "", eos_token: "" });
  } catch {
    return null;
  }
}

/**
 * Compiles a template once and probes it, as llama.cpp's Jinja path does: does it print plain
 * string content, and what does it print for an image part (found between two sentinels).
 */
function compile(source: string): CompiledTemplate {
  let c = compiled.get(source);
  if (c) return c;
  let template: Template;
  try {
    template = new Template(source);
  } catch (e) {
    throw new InvalidRequestError(
      "invalid_request",
      `the model's chat template does not parse: ${(e as Error).message}`,
    );
  }
  const typedContent = !(tryRender(template, [{ role: "user", content: "\u0003" }]) ?? "")
    .includes("\u0003");
  const probe = tryRender(template, [{
    role: "user",
    content: [{ type: "text", text: "\u0001" }, { type: "image" }, {
      type: "text",
      text: "\u0002",
    }],
  }]) ?? "";
  const a = probe.indexOf("\u0001");
  const b = probe.indexOf("\u0002");
  const imagePlaceholder = typedContent && a >= 0 && b > a + 1 ? probe.slice(a + 1, b) : null;
  // (A placeholder is only removed from user text: images themselves go in as marker text.)
  c = { template, typedContent, imagePlaceholder };
  compiled.set(source, c);
  return c;
}

/**
 * Renders the GGUF's template. Images go in as text parts holding mtmd's marker, as llama.cpp's
 * server and mtmd-cli pass them (so `User: <marker>…`, token-for-token what llama.cpp's tools
 * feed the model); the template's own image placeholder is removed from typed text so a user
 * cannot add image tokens.
 */
function renderJinja(
  source: string,
  flat: readonly FlatMessage[],
  marker: string,
  images: number,
): string {
  const { template, typedContent, imagePlaceholder } = compile(source);
  const messages = flat.map((m) => {
    const parts = m.parts.map((p) =>
      p.type === "image"
        ? marker
        : p.type === "media"
        ? p.text
        : imagePlaceholder
        ? p.text.replaceAll(imagePlaceholder, "")
        : p.text
    );
    return typedContent
      ? { role: m.role, content: parts.map((text) => ({ type: "text", text })) }
      : { role: m.role, content: parts.join("") };
  });
  let text: string;
  try {
    text = template.render({
      messages,
      add_generation_prompt: true,
      bos_token: "",
      eos_token: "",
    });
  } catch (e) {
    throw new InvalidRequestError(
      "invalid_request",
      `the model's chat template cannot render these messages: ${(e as Error).message}`,
    );
  }
  const slots = text.split(marker).length - 1;
  if (slots !== images) {
    throw new InvalidRequestError(
      "invalid_request",
      `the model's chat template wrote ${slots} image slots for ${images} images`,
    );
  }
  return text;
}

/** The hand-built SmolVLM prompt, exactly what SmolVLM's own template renders. */
export function renderHandBuilt(
  flat: readonly FlatMessage[],
  marker: string,
  addGenerationPrompt = true,
): string {
  const f = HAND_BUILT_FORMAT;
  let out = f.begin;
  for (const m of flat) {
    const name = (f.roles as Record<string, string>)[m.role] ??
      m.role.charAt(0).toUpperCase() + m.role.slice(1).toLowerCase();
    const sep = f.separator;
    const body = m.parts.map((p) =>
      p.type === "text"
        ? p.text.replaceAll(f.imagePlaceholder, "")
        : p.type === "media"
        ? p.text
        : marker
    ).join("");
    out += `${name}${sep}${body}${f.endOfTurn}`;
  }
  return addGenerationPrompt ? out + f.generationPrompt : out;
}

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

export function renderPrompt(
  messages: readonly ChatMessage[],
  template: string | null,
  marker: string,
): RenderedPrompt {
  if (messages.length === 0) {
    throw new InvalidRequestError("invalid_request", "messages must not be empty");
  }
  const images: RgbImage[] = [];
  const isFrame: boolean[] = [];
  const flat: FlatMessage[] = messages.map((message, m) => {
    // A marker typed by a user must not become an image slot.
    if (typeof message.content === "string") {
      return {
        role: message.role,
        parts: [{ type: "text", text: message.content.replaceAll(marker, "") }],
      };
    }
    const parts: Part[] = message.content.map((part, p): Part => {
      if (part.type === "text") return { type: "text", text: part.text.replaceAll(marker, "") };
      if (part.type === "video") {
        const { frames } = part.video;
        if (frames.length === 0) {
          throw new InvalidRequestError("invalid_video", `messages[${m}].content[${p}]: no frames`);
        }
        frames.forEach((f, i) => {
          validateImage(f.image, `messages[${m}].content[${p}].frames[${i}]`);
          images.push(f.image);
          isFrame.push(true);
        });
        return { type: "media", text: videoPromptText(part.video, marker) };
      }
      validateImage(part.image, `messages[${m}].content[${p}]`);
      images.push(part.image);
      if (part.singleTile) {
        // What SmolVLM's processor writes for an image it does not split.
        isFrame.push(true);
        return { type: "media", text: `${FRAME_OPEN}${marker}${FRAME_CLOSE}` };
      }
      isFrame.push(false);
      return { type: "image" };
    });
    return { role: message.role, parts };
  });
  const text = template === null
    ? renderHandBuilt(flat, marker)
    : renderJinja(template, flat, marker, images.length);
  return { text, images, isFrame };
}
