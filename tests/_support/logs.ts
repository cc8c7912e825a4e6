/** LogTape records captured in memory, for tests of what the service logs. */
import { configure, type LogLevel, type LogRecord, reset } from "@logtape/logtape";

/** Runs `fn` with the service's records (category smolvlm) from `level` up kept, then resets. */
export async function captureLogs(
  level: LogLevel,
  fn: () => Promise<void>,
): Promise<LogRecord[]> {
  const records: LogRecord[] = [];
  await configure({
    reset: true,
    sinks: { memory: (record) => void records.push(record) },
    loggers: [
      { category: ["smolvlm"], lowestLevel: level, sinks: ["memory"] },
      { category: ["logtape", "meta"], lowestLevel: "warning", sinks: ["memory"] },
    ],
  });
  try {
    await fn();
  } finally {
    await reset();
  }
  return records;
}

/** A record's message as the console shows it: string values bare, others as JSON. */
export function rendered(record: LogRecord): string {
  return record.message.map((part, i) =>
    i % 2 === 0 || typeof part === "string" ? String(part) : JSON.stringify(part)
  ).join("");
}
