// @ts-check
/**
 * Model answers as Markdown, rendered safely: the text is parsed into DOM nodes built with
 * createElement and textContent, so nothing the model writes is ever parsed as HTML (no
 * innerHTML anywhere). Hand-written because the page has no build step and a strict CSP: a small
 * subset (paragraphs, headings, lists, code blocks, inline code, bold, italic, links to http(s))
 * avoids shipping a Markdown library plus an HTML sanitizer.
 */

/**
 * Inline spans: `code`, **bold**, *italic* / _italic_, [text](http…) links; the rest is text.
 * @param {string} text
 * @returns {Node[]}
 */
export function renderInline(text) {
  /** @type {Node[]} */
  const out = [];
  const pattern =
    /`([^`]+)`|\*\*([^*]+)\*\*|\*([^*\s][^*]*)\*|_([^_\s][^_]*)_|\[([^\]]+)\]\((https?:\/\/[^\s)]+)\)/g;
  let last = 0;
  for (const m of text.matchAll(pattern)) {
    const at = m.index ?? 0;
    if (at > last) out.push(document.createTextNode(text.slice(last, at)));
    if (m[1] !== undefined) out.push(element("code", m[1]));
    else if (m[2] !== undefined) out.push(element("strong", ...renderInline(m[2])));
    else if (m[3] !== undefined) out.push(element("em", ...renderInline(m[3])));
    else if (m[4] !== undefined) out.push(element("em", ...renderInline(m[4])));
    else if (m[5] !== undefined && m[6] !== undefined) {
      const a = element("a", m[5]);
      a.setAttribute("href", m[6]);
      a.setAttribute("rel", "noopener noreferrer nofollow");
      a.setAttribute("target", "_blank");
      out.push(a);
    }
    last = at + m[0].length;
  }
  if (last < text.length) out.push(document.createTextNode(text.slice(last)));
  return out;
}

/**
 * @param {string} tag
 * @param {...(Node | string)} children
 */
function element(tag, ...children) {
  const e = document.createElement(tag);
  e.append(...children);
  return e;
}

/**
 * Block structure, line by line (a streamed, half-finished answer renders too: an open code
 * fence simply runs to the end).
 * @param {string} text
 * @returns {DocumentFragment}
 */
export function renderMarkdown(text) {
  const frag = document.createDocumentFragment();
  const lines = text.replace(/\r\n?/g, "\n").split("\n");
  /** @type {string[]} */
  let paragraph = [];
  /** @type {HTMLElement | null} */
  let list = null;
  const flushParagraph = () => {
    if (paragraph.length) frag.append(element("p", ...renderInline(paragraph.join(" "))));
    paragraph = [];
  };
  const closeList = () => {
    list = null;
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? "";
    const fence = /^\s*```/.exec(line);
    if (fence) {
      flushParagraph();
      closeList();
      /** @type {string[]} */
      const code = [];
      i++;
      while (i < lines.length && !/^\s*```/.test(lines[i] ?? "")) code.push(lines[i++] ?? "");
      frag.append(element("pre", element("code", code.join("\n"))));
      continue;
    }
    const heading = /^(#{1,6})\s+(.*)$/.exec(line);
    const bullet = /^\s*[-*+]\s+(.*)$/.exec(line);
    const numbered = /^\s*\d+[.)]\s+(.*)$/.exec(line);
    if (heading) {
      flushParagraph();
      closeList();
      // Answers sit under the page's own headings: keep theirs small (h4-h6).
      const level = Math.min(6, 3 + (heading[1]?.length ?? 1));
      frag.append(element(`h${level}`, ...renderInline(heading[2] ?? "")));
    } else if (bullet || numbered) {
      flushParagraph();
      const tag = bullet ? "ul" : "ol";
      if (!list || list.tagName.toLowerCase() !== tag) {
        list = document.createElement(tag);
        frag.append(list);
      }
      list.append(element("li", ...renderInline((bullet ?? numbered)?.[1] ?? "")));
    } else if (line.trim() === "") {
      flushParagraph();
      closeList();
    } else {
      closeList();
      paragraph.push(line.trim());
    }
  }
  flushParagraph();
  return frag;
}
