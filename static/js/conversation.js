// @ts-check
/**
 * A conversation about one image as OpenAI chat messages: the image goes with the first
 * question, each earlier answer follows its question, the new question comes last.
 */

/**
 * @typedef {{ question: string, answer: string }} Exchange
 * @typedef {{ role: "user" | "assistant", content: string | object[] }} ChatMessage
 */

/**
 * `detail` is OpenAI's `image_url.detail`: "low" asks the server for one encoder pass (one
 * tile), "high" for all tiles; absent, the server decides.
 * @param {{ image: string, exchanges: readonly Exchange[], question: string,
 *   detail?: "low" | "high" }} turn
 * @returns {ChatMessage[]}
 */
export function chatMessages(turn) {
  const image = {
    type: "image_url",
    image_url: turn.detail ? { url: turn.image, detail: turn.detail } : { url: turn.image },
  };
  /** @param {string} text @param {boolean} first @returns {ChatMessage} */
  const ask = (text, first) => ({
    role: "user",
    content: first ? [image, { type: "text", text }] : text,
  });
  /** @type {ChatMessage[]} */
  const messages = [];
  turn.exchanges.forEach((ex, i) => {
    messages.push(ask(ex.question, i === 0));
    messages.push({ role: "assistant", content: ex.answer });
  });
  messages.push(ask(turn.question, turn.exchanges.length === 0));
  return messages;
}
