/**
 * Streams text through a set of stop strings: text that could still become the start of a stop
 * string is held back, so a stop string never reaches the client, even split across tokens.
 */
export class StopMatcher {
  readonly #stops: readonly string[];
  #pending = "";
  #stopped = false;

  constructor(stops: readonly string[]) {
    this.#stops = stops.filter((s) => s.length > 0);
  }

  get stopped(): boolean {
    return this.#stopped;
  }

  /** Adds text; returns what is safe to emit now. After a match, `stopped` is true. */
  push(text: string): string {
    if (this.#stopped) return "";
    if (this.#stops.length === 0) return text;
    this.#pending += text;
    let cut = -1;
    for (const stop of this.#stops) {
      const at = this.#pending.indexOf(stop);
      if (at !== -1 && (cut === -1 || at < cut)) cut = at;
    }
    if (cut !== -1) {
      this.#stopped = true;
      const out = this.#pending.slice(0, cut);
      this.#pending = "";
      return out;
    }
    const hold = this.#longestPartialSuffix();
    const out = this.#pending.slice(0, this.#pending.length - hold);
    this.#pending = this.#pending.slice(this.#pending.length - hold);
    return out;
  }

  /** Emits what was held back (the generation ended without a match). */
  flush(): string {
    const out = this.#stopped ? "" : this.#pending;
    this.#pending = "";
    return out;
  }

  #longestPartialSuffix(): number {
    let best = 0;
    for (const stop of this.#stops) {
      const max = Math.min(stop.length - 1, this.#pending.length);
      for (let n = max; n > best; n--) {
        if (this.#pending.endsWith(stop.slice(0, n))) {
          best = n;
          break;
        }
      }
    }
    return best;
  }
}
