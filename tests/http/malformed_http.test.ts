/**
 * Malformed HTTP over a real socket: an invalid or lying Content-Length, a body larger than
 * the limit, huge or countless headers — each gets an error answer, never a silent close, and
 * the server keeps serving.
 */
import assert from "node:assert/strict";
import { FakeEngine } from "./fake_engine.ts";
import { chatBody, makeApp } from "./helpers.ts";

/** Writes raw bytes, optionally half-closes, and returns the status line's code (0 if none). */
async function raw(
  port: number,
  request: string,
  halfClose = false,
): Promise<{ status: number; text: string }> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    const bytes = new TextEncoder().encode(request);
    for (let off = 0; off < bytes.length;) {
      off += await conn.write(bytes.subarray(off)).catch(() => bytes.length);
    }
    if (halfClose) await conn.closeWrite();
    let text = "";
    const buf = new Uint8Array(65536);
    const dec = new TextDecoder();
    const deadline = setTimeout(() => {
      try {
        conn.close();
      } catch { /* closed */ }
    }, 5000);
    try {
      for (;;) {
        const n = await conn.read(buf).catch(() => null);
        if (n === null) break;
        text += dec.decode(buf.subarray(0, n), { stream: true });
        if (/\r\n\r\n/.test(text) && /content-length: (\d+)/i.test(text)) {
          const len = Number(/content-length: (\d+)/i.exec(text)![1]);
          if (text.length - text.indexOf("\r\n\r\n") - 4 >= len) break;
        }
      }
    } finally {
      clearTimeout(deadline);
    }
    return { status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0), text };
  } finally {
    try {
      conn.close();
    } catch { /* closed */ }
  }
}

const head = (extra: string) =>
  `POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n${extra}`;

Deno.test("malformed requests get error answers and the server keeps serving", async () => {
  const { app } = makeApp(new FakeEngine(), { maxBodyBytes: 10_000 });
  await using server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    (req, info) => app.fetch(req, info),
  );
  const port = server.addr.port;
  const body = chatBody();
  const cases: [string, string, boolean, number][] = [
    [
      "invalid Content-Length",
      head(`Content-Length: abc\r\nConnection: close\r\n\r\n${body}`),
      false,
      400,
    ],
    [
      "two Content-Lengths",
      head(`Content-Length: 5\r\nContent-Length: 6\r\nConnection: close\r\n\r\n${body}`),
      false,
      400,
    ],
    [
      "Content-Length above the limit",
      head(`Content-Length: 99999999\r\nConnection: close\r\n\r\n${body}`),
      false,
      413,
    ],
    [
      "Content-Length longer than the body",
      head(`Content-Length: ${body.length + 50}\r\nConnection: close\r\n\r\n${body}`),
      true,
      400,
    ],
    [
      "a 100 KB header",
      head(`X-Big: ${"a".repeat(100_000)}\r\nContent-Length: ${body.length}\r\n\r\n${body}`),
      false,
      400,
    ],
    [
      "5,000 headers",
      head(`${"X-H: 1\r\n".repeat(5000)}Content-Length: ${body.length}\r\n\r\n${body}`),
      false,
      400,
    ],
  ];
  for (const [name, request, halfClose, expected] of cases) {
    const { status, text } = await raw(port, request, halfClose);
    assert.equal(status, expected, `${name}: status ${status}\n${text.slice(0, 300)}`);
  }
  const ok = await fetch(`http://127.0.0.1:${port}/v1/chat/completions`, {
    method: "POST",
    body,
    headers: { "content-type": "application/json" },
  });
  assert.equal(ok.status, 200);
  await ok.body?.cancel();
});
