import assert from "node:assert/strict";
import { chatMessages } from "../../static/js/conversation.js";

const IMAGE = "data:image/jpeg;base64,/9j/";

Deno.test("chatMessages() sends the image with the first question", () => {
  assert.deepEqual(chatMessages({ image: IMAGE, exchanges: [], question: "What is it?" }), [{
    role: "user",
    content: [{ type: "image_url", image_url: { url: IMAGE } }, {
      type: "text",
      text: "What is it?",
    }],
  }]);
});

Deno.test("chatMessages() replays earlier turns before a follow-up question", () => {
  const messages = chatMessages({
    image: IMAGE,
    exchanges: [{ question: "Describe it", answer: "A cat." }, {
      question: "Colour?",
      answer: "Grey.",
    }],
    question: "Is it asleep?",
  });
  assert.deepEqual(messages.map((m) => m.role), ["user", "assistant", "user", "assistant", "user"]);
  assert.equal((messages[0]!.content as { type: string }[])[0]!.type, "image_url");
  assert.deepEqual(messages.slice(1), [
    { role: "assistant", content: "A cat." },
    { role: "user", content: "Colour?" },
    { role: "assistant", content: "Grey." },
    { role: "user", content: "Is it asleep?" },
  ]);
});
