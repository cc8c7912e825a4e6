/**
 * Golden test: SmolVLM's chat template as the GGUFs carry it (tools/gguf/smolvlm.ts), rendered by
 * @huggingface/jinja, equals the hand-built prompt for the family's conversations.
 */
import assert from "node:assert/strict";
import { renderPrompt } from "../../src/engine/prompt.ts";
import type { ChatMessage, RgbImage } from "../../src/engine/types.ts";
import { SMOLVLM_CHAT_TEMPLATE } from "../../tools/gguf/smolvlm.ts";

const MARKER = "<__media__>";
const image: RgbImage = { width: 2, height: 1, data: new Uint8Array(6) };

const conversations: Record<string, ChatMessage[]> = {
  "text only": [{ role: "user", content: "Hello there" }],
  "image first": [{
    role: "user",
    content: [{ type: "image", image }, { type: "text", text: "Describe this image." }],
  }],
  "text then two images": [{
    role: "user",
    content: [
      { type: "text", text: "Compare " },
      { type: "image", image },
      { type: "text", text: " and " },
      { type: "image", image },
    ],
  }],
  "multi-turn with a system prompt": [
    { role: "system", content: "Be brief." },
    { role: "user", content: [{ type: "image", image }, { type: "text", text: "What is it?" }] },
    { role: "assistant", content: "A cat." },
    { role: "user", content: "Which colour?" },
  ],
  "typed placeholders are text, not image slots": [{
    role: "user",
    content: [{ type: "text", text: `no <image> and no ${MARKER} here` }],
  }],
};

for (const [name, messages] of Object.entries(conversations)) {
  Deno.test(`renderPrompt() with SmolVLM's Jinja template equals the hand-built prompt: ${name}`, () => {
    const jinja = renderPrompt(messages, SMOLVLM_CHAT_TEMPLATE, MARKER);
    const hand = renderPrompt(messages, null, MARKER);
    assert.equal(jinja.text, hand.text);
    assert.equal(jinja.images.length, hand.images.length);
    assert.equal(jinja.text.split(MARKER).length - 1, jinja.images.length);
  });
}

Deno.test("renderPrompt() writes SmolVLM's turn format with images as marker text, as llama.cpp does", () => {
  const { text } = renderPrompt(conversations["image first"]!, SMOLVLM_CHAT_TEMPLATE, MARKER);
  assert.equal(
    text,
    `<|im_start|>User: ${MARKER}Describe this image.<end_of_utterance>\nAssistant:`,
  );
  const typed = renderPrompt(
    conversations["typed placeholders are text, not image slots"]!,
    SMOLVLM_CHAT_TEMPLATE,
    MARKER,
  );
  assert.equal(typed.text, "<|im_start|>User: no  and no  here<end_of_utterance>\nAssistant:");
});

Deno.test("renderPrompt() renders a template that reads string content (ChatML)", () => {
  const chatml = "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n" +
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}";
  const { text, images } = renderPrompt(
    [{ role: "user", content: [{ type: "text", text: "Hi " }, { type: "image", image }] }],
    chatml,
    MARKER,
  );
  assert.equal(text, `<|im_start|>user\nHi ${MARKER}<|im_end|>\n<|im_start|>assistant\n`);
  assert.equal(images.length, 1);
});

Deno.test("renderPrompt() turns a broken template into an invalid_request error", () => {
  assert.throws(
    () => renderPrompt([{ role: "user", content: "x" }], "{% for %}", MARKER),
    /chat template does not parse/,
  );
});

Deno.test("renderPrompt() writes a single-tile image as SmolVLM's unsplit image and marks it a frame", () => {
  const image: RgbImage = { width: 2, height: 2, data: new Uint8Array(12) };
  const messages: ChatMessage[] = [{
    role: "user",
    content: [{ type: "image", image, singleTile: true }, { type: "text", text: "What?" }],
  }];
  for (const template of [SMOLVLM_CHAT_TEMPLATE, null]) {
    const { text, isFrame } = renderPrompt(messages, template, MARKER);
    assert.ok(
      text.includes(`<fake_token_around_image><global-img>${MARKER}<fake_token_around_image>`),
      text,
    );
    assert.deepEqual(isFrame, [true]);
  }
});
