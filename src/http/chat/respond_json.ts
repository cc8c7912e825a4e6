/**
 * Respond stage, non-streaming: waits for the generation and answers one `chat.completion`.
 *
 * @module
 */
import type { Context } from "hono";
import { completionJson } from "../sse.ts";
import { settle } from "./aborts.ts";
import { finished, type StartedGeneration } from "./generate.ts";

export async function respondJson(c: Context, g: StartedGeneration): Promise<Response> {
  const result = await settle(g.generation, g.run.signal);
  const { timings, fields } = finished(g, result, null);
  Object.assign(g.run.fields, fields);
  const body = completionJson(
    g.chunk,
    result.text,
    result.finishReason,
    result.usage,
    timings,
    g.images.reports,
  );
  return c.json(body, 200);
}
