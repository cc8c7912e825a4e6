/**
 * llama.cpp's and mtmd's log lines, routed into the engine: printed or not by mode, and the last
 * error line always kept so a failed load or call can say why ("CLIP cannot be used as main
 * model", ...).
 */
import { type NativeLogLevel, setNativeLogHandler } from "../../../ffi/llama.ts";

export type NativeLogMode = "silent" | "errors" | "verbose";

export class NativeLog {
  readonly #mode: NativeLogMode;
  readonly #encoder = new TextEncoder();
  #level: NativeLogLevel = "info";
  #line = "";
  #firstError: string | null = null;
  #lastError: string | null = null;

  constructor(mode: NativeLogMode) {
    this.#mode = mode;
  }

  /** The last complete line logged at error level, without its trailing newline. */
  get lastError(): string | null {
    return this.#lastError;
  }

  /** The first error line since clearLastError(): the root cause, before generic follow-ups. */
  get firstError(): string | null {
    return this.#firstError;
  }

  /** Forgets earlier errors (before a call whose own failure should be reported). */
  clearLastError(): void {
    this.#firstError = null;
    this.#lastError = null;
  }

  /** " (llama.cpp: <first error since clearLastError>)" for messages, or "". */
  reason(): string {
    return this.#firstError ? ` (llama.cpp: ${this.#firstError})` : "";
  }

  async install(): Promise<void> {
    await setNativeLogHandler((level, text) => this.write(level, text));
  }

  async uninstall(): Promise<void> {
    await setNativeLogHandler(null);
  }

  /** One callback's worth of text; "cont" continues the previous line at its level. */
  write(level: NativeLogLevel, text: string): void {
    const effective = level === "cont" ? this.#level : level;
    if (level !== "cont" && this.#line.length > 0) this.#endLine();
    this.#level = effective;
    this.#line += text;
    if (text.endsWith("\n")) this.#endLine();
    const show = this.#mode === "verbose" ||
      (this.#mode === "errors" && (effective === "warn" || effective === "error"));
    if (show) Deno.stderr.writeSync(this.#encoder.encode(text));
  }

  #endLine(): void {
    const line = this.#line.trim();
    if (this.#level === "error" && line.length > 0) {
      this.#firstError ??= line;
      this.#lastError = line;
    }
    this.#line = "";
  }
}
