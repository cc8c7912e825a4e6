/**
 * LogTape setup for the service: human-readable lines on the console, JSON lines (one per
 * record, properties included) in `logs/app_<timestamp>.log` as in the seed. Both render string
 * values bare in the message (`chat req_1 200`, not `chat "req_1" 200`).
 *
 * @module
 */
import {
  configure,
  dispose,
  getConsoleSink,
  getTextFormatter,
  jsonLinesFormatter,
  type LogLevel,
  type LogRecord,
  type Sink,
} from "@logtape/logtape";

/**
 * The message parts with each string value folded into the text around it. LogTape's JSON-lines
 * formatter renders every value of the message as JSON, quotes and escapes included, and in
 * 2.4.2 has no option like the text formatter's `value`: what it gets to render are then only
 * the non-string values (numbers, objects), still as JSON. The record's properties are untouched.
 */
function inlineStringValues(message: readonly unknown[]): unknown[] {
  const parts: unknown[] = [message[0]];
  for (let i = 1; i < message.length; i += 2) {
    const value = message[i];
    const after = message[i + 1] ?? "";
    if (typeof value === "string") parts[parts.length - 1] = `${parts.at(-1)}${value}${after}`;
    else parts.push(value, after);
  }
  return parts;
}

/**
 * JSON lines appended with one synchronous write per record, so the file is current while the
 * server runs (LogTape's stream sink over FsFile.writable held lines back until dispose).
 */
function fileSink(file: Deno.FsFile): Sink & Disposable {
  const encoder = new TextEncoder();
  const sink = (record: LogRecord) => {
    const line = jsonLinesFormatter({ ...record, message: inlineStringValues(record.message) });
    const bytes = encoder.encode(line);
    let off = 0;
    while (off < bytes.length) off += file.writeSync(bytes.subarray(off));
  };
  return Object.assign(sink, { [Symbol.dispose]: () => file.close() });
}

export interface LoggingOptions {
  /** Directory for `app_<timestamp>.log`; null logs to the console only. */
  readonly logDir: string | null;
  readonly level: LogLevel;
  /** Console output (default true). */
  readonly console?: boolean;
  readonly now?: Date;
}

export interface LoggingHandle {
  /** The log file's path, or null. */
  readonly logFile: string | null;
  /** Flushes and closes the sinks. */
  close(): Promise<void>;
}

/** `app_YYYYMMDD_HHMMSS.log` in UTC (the seed's name pattern). */
export function logFileName(now: Date): string {
  const p = (n: number) => String(n).padStart(2, "0");
  return `app_${now.getUTCFullYear()}${p(now.getUTCMonth() + 1)}${p(now.getUTCDate())}_${
    p(now.getUTCHours())
  }${p(now.getUTCMinutes())}${p(now.getUTCSeconds())}.log`;
}

/**
 * Configures LogTape for the categories `smolvlm` (ours) and `logtape` (its own warnings).
 * A log directory that cannot be written is reported on the console, not fatal.
 */
export async function setupLogging(opts: LoggingOptions): Promise<LoggingHandle> {
  const sinks: Record<string, Sink> = {};
  const names: string[] = [];
  if (opts.console !== false) {
    sinks.console = getConsoleSink({
      formatter: getTextFormatter({
        timestamp: "date-time-timezone",
        category: ".",
        value: (v, inspect) => (typeof v === "string" ? v : inspect(v)),
      }),
    });
    names.push("console");
  }
  let logFile: string | null = null;
  let fileWarning: string | null = null;
  if (opts.logDir) {
    const path = `${opts.logDir.replace(/\/$/, "")}/${logFileName(opts.now ?? new Date())}`;
    try {
      await Deno.mkdir(opts.logDir, { recursive: true });
      const file = await Deno.open(path, { write: true, create: true, append: true });
      sinks.file = fileSink(file);
      names.push("file");
      logFile = path;
    } catch (e) {
      fileWarning = `cannot write log file ${path}: ${(e as Error).message}`;
    }
  }
  await configure({
    reset: true,
    sinks,
    loggers: [
      { category: ["smolvlm"], lowestLevel: opts.level, sinks: names },
      { category: ["logtape", "meta"], lowestLevel: "warning", sinks: names },
    ],
  });
  if (fileWarning) console.error(fileWarning);
  return {
    logFile,
    close: () => dispose(),
  };
}
