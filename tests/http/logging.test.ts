/** The service's log file: one JSON object per record, its message as the console renders it. */
import assert from "node:assert/strict";
import { getLogger, reset } from "@logtape/logtape";
import { setupLogging } from "../../src/http/logging.ts";

/** The records setupLogging() wrote to its file while `write` ran, parsed. */
async function fileRecords(write: () => void): Promise<Record<string, unknown>[]> {
  const dir = await Deno.makeTempDir();
  try {
    const logging = await setupLogging({ logDir: dir, level: "debug", console: false });
    try {
      write();
    } finally {
      await logging.close();
      await reset();
    }
    const text = await Deno.readTextFile(logging.logFile!);
    return text.trimEnd().split("\n").map((line) => JSON.parse(line));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("setupLogging() writes string values unquoted in the file's message, raw in its properties", async () => {
  const properties = {
    request_id: "req_4f2a",
    status: 499,
    caller: 'addr:"127.0.0.1"',
    reason: "client closed the stream",
    timings: { queue_ms: 1.5 },
    empty: "",
  };
  const records = await fileRecords(() =>
    getLogger(["smolvlm", "test"]).info(
      "chat {request_id} {status} for {caller}: {reason}; {timings}{empty}",
      properties,
    )
  );
  assert.equal(records.length, 1);
  const [record] = records;
  assert.equal(
    record!.message,
    'chat req_4f2a 499 for addr:"127.0.0.1": client closed the stream; {"queue_ms":1.5}',
  );
  assert.deepEqual(record!.properties, properties);
  assert.equal(record!.level, "INFO");
  assert.equal(record!.logger, "smolvlm.test");
});

Deno.test("setupLogging() keeps a message without values and one that is all values", async () => {
  const records = await fileRecords(() => {
    const log = getLogger(["smolvlm", "test"]);
    log.warn("no values here");
    log.debug("{a}{b}", { a: "x", b: 2 });
  });
  assert.deepEqual(records.map((r) => [r.level, r.message]), [
    ["WARN", "no values here"],
    ["DEBUG", "x2"],
  ]);
});
