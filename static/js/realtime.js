// @ts-check
/**
 * Realtime mode's scheduling, free of the DOM so it can be tested on its own.
 *
 * - createLatestFrameScheduler: at most one request in flight, ever (a stopped request still
 *   counts until its promise settles); frames offered meanwhile wait in a one-slot queue where
 *   a newer frame replaces (supersedes) an older one; stopping aborts the request and drops
 *   the waiting frame; results of a request started before a stop are ignored.
 * - createTicker: one timer, whatever the number of start() calls (no doubled loops).
 */

/**
 * @template F
 * @typedef {object} SchedulerOptions
 * @property {(frame: F, signal: AbortSignal) => Promise<void>} send
 * @property {(frame: F) => void} [onDrop] called for every frame that is never sent
 * @property {(error: unknown, consecutive: number) => void} [onError] a send failed
 * @property {(error: unknown) => void} [onAutoStop] stopped after too many failures in a row
 * @property {() => void} [onChange] any state or counter changed
 * @property {(error: unknown) => number | null} [retryAfterMs] how long the server asked to wait
 * @property {number} [maxConsecutiveFailures] default 3
 * @property {() => number} [now]
 */

/**
 * @typedef {object} SchedulerStats
 * @property {number} offered
 * @property {number} sent
 * @property {number} completed
 * @property {number} failed
 * @property {number} superseded frames replaced in the queue by a newer one
 * @property {number} skipped frames dropped while the server asked to wait
 * @property {number} inFlight
 * @property {number} maxInFlight
 */

/**
 * @template F
 * @param {SchedulerOptions<F>} options
 */
export function createLatestFrameScheduler(options) {
  const now = options.now ?? (() => Date.now());
  const maxFailures = options.maxConsecutiveFailures ?? 3;
  let running = false;
  let epoch = 0;
  let pausedUntil = 0;
  let consecutiveFailures = 0;
  /** @type {{ frame: F, controller: AbortController } | null} */
  let inFlight = null;
  /** @type {{ frame: F } | null} */
  let pending = null;
  /** @type {SchedulerStats} */
  let stats = freshStats();

  function freshStats() {
    return {
      offered: 0,
      sent: 0,
      completed: 0,
      failed: 0,
      superseded: 0,
      skipped: 0,
      inFlight: 0,
      maxInFlight: 0,
    };
  }

  function changed() {
    options.onChange?.();
  }

  /** @param {F} frame */
  function drop(frame) {
    options.onDrop?.(frame);
  }

  /** @param {F} frame */
  function dispatch(frame) {
    const myEpoch = epoch;
    const controller = new AbortController();
    inFlight = { frame, controller };
    stats.inFlight = 1;
    stats.maxInFlight = Math.max(stats.maxInFlight, 1);
    stats.sent++;
    Promise.resolve()
      .then(() => options.send(frame, controller.signal))
      .then(
        () => settle(myEpoch, controller, null, true),
        (error) => settle(myEpoch, controller, error, false),
      );
    changed();
  }

  /**
   * @param {number} myEpoch
   * @param {AbortController} controller
   * @param {unknown} error
   * @param {boolean} ok
   */
  function settle(myEpoch, controller, error, ok) {
    inFlight = null;
    stats.inFlight = 0;
    if (myEpoch === epoch && !controller.signal.aborted) {
      if (ok) {
        stats.completed++;
        consecutiveFailures = 0;
      } else {
        stats.failed++;
        consecutiveFailures++;
        const wait = options.retryAfterMs?.(error) ?? null;
        if (wait !== null && wait > 0) {
          pausedUntil = now() + wait;
          if (pending) {
            drop(pending.frame);
            stats.skipped++;
            pending = null;
          }
        }
        options.onError?.(error, consecutiveFailures);
        if (consecutiveFailures >= maxFailures) {
          stop();
          options.onAutoStop?.(error);
          return;
        }
      }
    }
    if (running && pending) {
      const next = pending.frame;
      pending = null;
      dispatch(next);
      return;
    }
    changed();
  }

  function stop() {
    if (!running && !pending && !inFlight) return;
    running = false;
    epoch++;
    if (pending) {
      drop(pending.frame);
      pending = null;
    }
    inFlight?.controller.abort();
    changed();
  }

  return {
    /** Starts accepting frames; counters start from zero. */
    start() {
      if (running) return;
      running = true;
      epoch++;
      pausedUntil = 0;
      consecutiveFailures = 0;
      const wasInFlight = stats.inFlight;
      stats = freshStats();
      // A request aborted by the last stop may not have settled yet: it still counts.
      stats.inFlight = wasInFlight;
      stats.maxInFlight = wasInFlight;
      changed();
    },
    stop,
    /**
     * Offers a new frame: sent at once when nothing is in flight, else it waits, replacing
     * any older waiting frame.
     * @param {F} frame
     * @returns {"sent" | "queued" | "ignored" | "paused"}
     */
    offer(frame) {
      if (!running) {
        drop(frame);
        return "ignored";
      }
      stats.offered++;
      if (now() < pausedUntil) {
        stats.skipped++;
        drop(frame);
        changed();
        return "paused";
      }
      if (inFlight) {
        if (pending) {
          drop(pending.frame);
          stats.superseded++;
        }
        pending = { frame };
        changed();
        return "queued";
      }
      dispatch(frame);
      return "sent";
    },
    get running() {
      return running;
    },
    get busy() {
      return inFlight !== null;
    },
    get hasPending() {
      return pending !== null;
    },
    /** @returns {SchedulerStats} */
    get stats() {
      return { ...stats };
    },
    /** Milliseconds until frames are taken again after a Retry-After; 0 when not paused. */
    get pausedForMs() {
      return Math.max(0, pausedUntil - now());
    },
  };
}

/**
 * @typedef {object} TickerOptions
 * @property {() => void} onTick
 * @property {(fn: () => void, ms: number) => unknown} [setInterval]
 * @property {(id: unknown) => void} [clearInterval]
 */

/**
 * A periodic tick that fires at once on start, then every intervalMs; start() while running
 * only changes the interval.
 * @param {TickerOptions} options
 */
export function createTicker(options) {
  const set = options.setInterval ?? ((fn, ms) => globalThis.setInterval(fn, ms));
  const clear = options.clearInterval ??
    ((id) => globalThis.clearInterval(/** @type {number} */ (id)));
  /** @type {unknown} */
  let timer = null;
  let interval = 1000;
  return {
    /** @param {number} intervalMs */
    start(intervalMs) {
      const restart = timer !== null && intervalMs !== interval;
      interval = intervalMs;
      if (timer !== null && !restart) return;
      if (timer !== null) clear(timer);
      timer = set(() => options.onTick(), interval);
      if (!restart) options.onTick();
    },
    stop() {
      if (timer === null) return;
      clear(timer);
      timer = null;
    },
    get running() {
      return timer !== null;
    },
    get intervalMs() {
      return interval;
    },
  };
}
