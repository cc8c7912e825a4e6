/**
 * The engine's one loop, shaped like llama.cpp's server `update_slots()`: N slots over one
 * unified KV cache. Each step admits queued requests into free slots (the slot holding the
 * longest common prefix wins and keeps those KV cells), runs at most one image tile through the
 * encoder (or takes it from the embedding cache) and decodes it, then packs one token for every
 * generating slot plus prompt tokens of slots in prefill (up to n_batch) into ONE llama_decode,
 * and samples each slot from its own logits row with its own sampler chain.
 */
import { SamplerChain } from "../../../ffi/llama.ts";
import {
  ContextOverflowError,
  EngineClosedError,
  EngineError,
  InvalidRequestError,
  ModelReloadingError,
  NativeCallError,
} from "../errors.ts";
import type { StopReason, WireRequest, WorkerStats } from "../protocol.ts";
import { resolveSampling } from "../sampling.ts";
import { StopMatcher } from "../stop_strings.ts";
import type { FinishReason, GenerationResult, SlotStats } from "../types.ts";
import { Utf8Stream } from "../utf8.ts";
import { EmbeddingCache } from "./image_cache.ts";
import type { NativeLog } from "./native_log.ts";
import type { NativeSession } from "./native_session.ts";
import { type CachedItem, commonPrefix, toCachedItem } from "./prefix.ts";
import { type PreparedPrompt, preparePrompt } from "./prepare.ts";

/** What the loop tells the main thread; the worker entry turns these into messages. */
export interface LoopEvents {
  started(id: string): void;
  delta(id: string, text: string): void;
  result(id: string, result: GenerationResult): void;
  failed(id: string, error: unknown): void;
  stats(stats: WorkerStats): void;
}

/**
 * Why the loop stops a running generation: a client's reason, or "reload" (still running when a
 * reload's grace period ran out: it fails with ModelReloadingError).
 */
type LoopStopReason = StopReason | "reload";

interface Task {
  readonly request: WireRequest;
  readonly receivedAt: number;
  stopReason: LoopStopReason | null;
}

interface Generation {
  readonly task: Task;
  readonly slot: Slot;
  readonly prompt: PreparedPrompt;
  readonly sampler: SamplerChain;
  readonly stops: StopMatcher;
  readonly utf8: Utf8Stream;
  readonly maxTokens: number;
  readonly deadline: number;
  readonly queueMs: number;
  readonly startedAt: number;
  readonly reusedPositions: number;
  /** Next prompt item to evaluate. */
  cursor: number;
  /** Index of the prompt's last image item; -1 without images. */
  readonly lastImage: number;
  /** Next position in the slot's sequence. */
  position: number;
  phase: "prefill" | "generate";
  /** Row of this slot's logits in the current batch; -1 when it has none. */
  logitsRow: number;
  /** The sampled token still to be decoded (the last one sampled). */
  pending: number | null;
  readonly tokens: number[];
  /** Generated tokens already decoded into the KV cache. */
  decodedTokens: number;
  text: string;
  encodeMs: number;
  encoderPasses: number;
  cacheHits: number;
  firstTokenAt: number;
  /** Fault injection (tests): its first prompt token is replaced by an invalid one. */
  readonly faulty: boolean;
}

interface Slot {
  readonly sequence: number;
  /** What the sequence holds in the KV cache, item by item (prefix reuse). */
  cached: CachedItem[];
  cachedPositions: number;
  generation: Generation | null;
  lastUsed: number;
}

export class StepLoop {
  #session: NativeSession;
  readonly #log: NativeLog;
  readonly #events: LoopEvents;
  readonly #mailbox: Int32Array;
  #slots: Slot[] = [];
  readonly #queue: Task[] = [];
  #imageCache!: EmbeddingCache;
  #contextSize = 0;
  #batchSize = 0;
  #mailboxSeen = 0;
  #closed = false;
  /** A reload is under way: nothing new is admitted; queued requests wait for the new model. */
  #paused = false;
  /** The grace of the reload under way (the message of the generations it stops). */
  #reloadGraceMs = 0;
  #onIdle: (() => void) | null = null;
  /** A step is under way (it may be awaiting a prompt's preparation on the current session). */
  #stepping = false;
  #wake: (() => void) | null = null;
  #imageTurn = 0;
  #completed = 0;
  #failed = 0;
  #superseded = 0;
  #evaluated = 0;
  #reused = 0;
  #statsDirty = true;

  constructor(session: NativeSession, log: NativeLog, events: LoopEvents, mailbox: Int32Array) {
    this.#session = session;
    this.#log = log;
    this.#events = events;
    this.#mailbox = mailbox;
    this.#install(session);
  }

  /** The native session the loop runs on (replaced by swapSession). */
  get session(): NativeSession {
    return this.#session;
  }

  #install(session: NativeSession): void {
    this.#session = session;
    this.#slots = Array.from({ length: session.options.parallel }, (_, sequence) => ({
      sequence,
      cached: [],
      cachedPositions: 0,
      generation: null,
      lastUsed: 0,
    }));
    // Embeddings of the previous projector mean nothing to a new one.
    this.#imageCache = new EmbeddingCache(session.options.imageCacheBytes);
    this.#contextSize = session.context.contextSize;
    this.#batchSize = session.context.batchSize;
    this.#statsDirty = true;
  }

  /**
   * Reload: stops admitting, lets running generations finish within `graceMs` (those still
   * running then are stopped at the next step and fail with ModelReloadingError), then opens
   * the next session with `open` while the current one stays open. On success the loop
   * continues on the new session and the old one is freed; when `open` throws, the old session
   * keeps serving and the error is rethrown. Queued requests wait either way and run afterwards.
   */
  async swapSession(open: () => Promise<NativeSession>, graceMs: number): Promise<void> {
    if (this.#paused) throw new Error("a reload is already under way");
    this.#paused = true;
    this.#reloadGraceMs = graceMs;
    try {
      if (this.#stepping || this.#slots.some((s) => s.generation !== null)) {
        const idle = new Promise<void>((resolve) => this.#onIdle = resolve);
        let timer: ReturnType<typeof setTimeout> | undefined;
        const graceOver = new Promise<"grace">((resolve) => {
          timer = setTimeout(() => resolve("grace"), graceMs);
        });
        if (await Promise.race([idle, graceOver]) === "grace") {
          this.#stopRunning("reload");
          await idle;
        }
        clearTimeout(timer);
      }
      const next = await open();
      if (this.#closed) {
        next[Symbol.dispose]();
        throw new EngineClosedError();
      }
      const old = this.#session;
      this.#install(next);
      old[Symbol.dispose]();
    } finally {
      this.#paused = false;
      this.#wakeUp();
    }
  }

  submit(request: WireRequest): void {
    if (this.#closed) {
      this.#failed++;
      this.#events.failed(request.id, new EngineClosedError());
      return;
    }
    this.#queue.push({ request, receivedAt: performance.now(), stopReason: null });
    this.#wakeUp();
  }

  /** Marks a generation to stop; a queued one ends now, a running one at the next step. */
  stop(id: string, reason: StopReason): void {
    const queued = this.#queue.findIndex((t) => t.request.id === id);
    if (queued !== -1) {
      const [task] = this.#queue.splice(queued, 1);
      this.#endUnstarted(task!, reason);
      this.#publishStats();
      return;
    }
    for (const slot of this.#slots) {
      if (slot.generation?.task.request.id === id) slot.generation.task.stopReason ??= reason;
    }
    this.#wakeUp();
  }

  /** Marks every running generation to stop at the next step (queued ones are left alone). */
  #stopRunning(reason: LoopStopReason): void {
    for (const slot of this.#slots) {
      if (slot.generation) slot.generation.task.stopReason ??= reason;
    }
    this.#wakeUp();
  }

  close(): void {
    this.#closed = true;
    this.#wakeUp();
    this.#idle();
  }

  /** Resolves a reload's wait when no generation runs. */
  #idle(): void {
    if (this.#onIdle && !this.#stepping && this.#slots.every((s) => s.generation === null)) {
      const resolve = this.#onIdle;
      this.#onIdle = null;
      resolve();
    }
  }

  /** Runs steps until close(); then ends every generation and returns (the caller frees). */
  async run(yieldToEvents: () => Promise<void>): Promise<void> {
    while (!this.#closed) {
      if (!this.#hasWork()) {
        this.#publishStats();
        await new Promise<void>((resolve) => this.#wake = resolve);
        this.#wake = null;
        continue;
      }
      this.#stepping = true;
      try {
        await this.#step();
      } catch (error) {
        // A failure outside a native call's own handling: fail what was running, keep serving.
        for (const slot of this.#slots) {
          if (slot.generation) this.#failGeneration(slot.generation, error);
        }
        this.#resetAfterFailure();
      } finally {
        this.#stepping = false;
      }
      this.#publishStats();
      if (this.#paused) this.#idle();
      // Lets stop/close/generate messages in before the next step.
      await yieldToEvents();
    }
    for (const task of this.#queue.splice(0)) this.#endUnstarted(task, "closed");
    for (const slot of this.#slots) {
      if (slot.generation) this.#finish(slot.generation, "abort", true);
    }
    this.#publishStats();
  }

  #wakeUp(): void {
    const wake = this.#wake;
    this.#wake = null;
    wake?.();
  }

  #hasWork(): boolean {
    return (this.#queue.length > 0 && !this.#paused) ||
      this.#slots.some((s) => s.generation !== null);
  }

  /** True when the main thread posted a stop since the last look (a shared counter). */
  #mailboxChanged(): boolean {
    const now = Atomics.load(this.#mailbox, 0);
    if (now === this.#mailboxSeen) return false;
    this.#mailboxSeen = now;
    return true;
  }

  async #step(): Promise<void> {
    this.#mailboxChanged();
    await this.#admit();
    this.#endStopped();
    const burst = !this.#slots.some((s) => s.generation?.phase === "generate");
    if (this.#imagePhase(burst) && this.#mailboxChanged()) return; // a stop arrived mid-step
    if (burst && this.#mediaPending()) return; // media first, then everyone's tokens together
    this.#tokenPhase();
  }

  // --- admission -------------------------------------------------------------------------

  async #admit(): Promise<void> {
    while (this.#queue.length > 0 && !this.#paused) {
      const free = this.#slots.filter((s) => s.generation === null);
      if (free.length === 0) return;
      const task = this.#queue[0]!;
      let prompt: PreparedPrompt;
      try {
        prompt = await preparePrompt(this.#session, task.request.messages);
      } catch (error) {
        if (this.#queue[0] === task) {
          this.#queue.shift();
          this.#fail(task.request.id, error);
        }
        continue;
      }
      if (this.#queue[0] !== task) {
        // Stopped while its prompt was being prepared.
        prompt[Symbol.dispose]();
        continue;
      }
      if (this.#paused) {
        // A reload began meanwhile: the task waits for the new session (and a new prompt).
        prompt[Symbol.dispose]();
        return;
      }
      if (prompt.positions >= this.#contextSize) {
        prompt[Symbol.dispose]();
        this.#queue.shift();
        this.#fail(task.request.id, new ContextOverflowError(prompt.positions, this.#contextSize));
        continue;
      }
      const slot = this.#chooseSlot(free, prompt);
      if (!this.#makeRoom(slot, prompt, task)) {
        prompt[Symbol.dispose]();
        return; // waits for running generations to free KV cells
      }
      this.#queue.shift();
      try {
        this.#start(task, slot, prompt);
      } catch (error) {
        prompt[Symbol.dispose]();
        this.#fail(task.request.id, error);
      }
    }
  }

  /**
   * The free slot with the longest common prefix; on a tie the one holding the least (so other
   * slots' caches survive), then the least recently used.
   */
  #chooseSlot(free: Slot[], prompt: PreparedPrompt): Slot {
    let best = free[0]!;
    let bestPositions = -1;
    for (const slot of free) {
      const { positions } = commonPrefix(slot.cached, prompt.items);
      const tie = positions === bestPositions;
      if (
        positions > bestPositions ||
        (tie && slot.cachedPositions < best.cachedPositions) ||
        (tie && slot.cachedPositions === best.cachedPositions && slot.lastUsed < best.lastUsed)
      ) {
        best = slot;
        bestPositions = positions;
      }
    }
    return best;
  }

  /**
   * Frees idle slots' cached cells (least recently used first) until the new generation's
   * worst case fits the unified KV cache. False when running generations hold too much.
   */
  #makeRoom(chosen: Slot, prompt: PreparedPrompt, task: Task): boolean {
    const maxTokens = this.#maxTokens(task.request);
    const reuse = commonPrefix(chosen.cached, prompt.items).positions;
    const need = prompt.positions - reuse + maxTokens;
    const committed = () =>
      this.#slots.reduce((sum, s) => {
        if (s === chosen) return sum + reuse;
        const g = s.generation;
        if (g) return sum + g.position + Math.max(0, g.maxTokens - g.tokens.length);
        return sum + s.cachedPositions;
      }, 0);
    const idle = this.#slots
      .filter((s) => s !== chosen && s.generation === null && s.cachedPositions > 0)
      .sort((a, b) => a.lastUsed - b.lastUsed);
    while (committed() + need > this.#contextSize && idle.length > 0) {
      this.#forget(idle.shift()!);
    }
    if (committed() + need <= this.#contextSize) return true;
    // Nothing else runs: start anyway; the generation stops at the context's end ("length").
    return this.#slots.every((s) => s.generation === null);
  }

  #maxTokens(request: WireRequest): number {
    return request.maxTokens ?? this.#session.options.defaultMaxTokens;
  }

  #start(task: Task, slot: Slot, prompt: PreparedPrompt): void {
    const { request } = task;
    const maxTokens = this.#maxTokens(request);
    if (!Number.isInteger(maxTokens) || maxTokens < 1) {
      throw new InvalidRequestError("invalid_request", "max_tokens must be a positive integer");
    }
    const sampler = SamplerChain.createNow(this.#session.model, resolveSampling(request.sampling));
    if (sampler === null) {
      throw new InvalidRequestError("grammar_invalid", "the grammar could not be parsed");
    }
    const prefix = commonPrefix(slot.cached, prompt.items);
    const { context } = this.#session;
    // Keep the shared prefix's cells, drop the rest of what the slot held.
    if (!context.removeSequence(slot.sequence, prefix.positions, -1)) {
      context.removeSequence(slot.sequence);
      slot.cached = [];
      slot.cachedPositions = 0;
      return this.#startAt(task, slot, prompt, sampler, maxTokens, { items: 0, positions: 0 });
    }
    this.#startAt(task, slot, prompt, sampler, maxTokens, prefix);
  }

  #startAt(
    task: Task,
    slot: Slot,
    prompt: PreparedPrompt,
    sampler: SamplerChain,
    maxTokens: number,
    prefix: { items: number; positions: number },
  ): void {
    const now = performance.now();
    slot.cached = slot.cached.slice(0, prefix.items);
    slot.cachedPositions = prefix.positions;
    slot.lastUsed = now;
    slot.generation = {
      task,
      slot,
      prompt,
      sampler,
      stops: new StopMatcher(task.request.stop ?? []),
      utf8: new Utf8Stream(),
      maxTokens,
      deadline: task.request.timeoutMs === undefined ? Infinity : now + task.request.timeoutMs,
      // The prompt was prepared once a slot was free: that is not waiting.
      queueMs: now - task.receivedAt - prompt.tokenizeMs,
      startedAt: now - prompt.tokenizeMs,
      reusedPositions: prefix.positions,
      cursor: prefix.items,
      lastImage: prompt.items.findLastIndex((item) => item.kind === "image"),
      position: prefix.positions,
      phase: "prefill",
      logitsRow: -1,
      pending: null,
      tokens: [],
      decodedTokens: 0,
      text: "",
      encodeMs: 0,
      encoderPasses: 0,
      cacheHits: 0,
      firstTokenAt: 0,
      faulty: this.#faulty(task.request),
    };
    this.#reused += prefix.positions;
    this.#statsDirty = true;
    this.#events.started(task.request.id);
  }

  #faulty(request: WireRequest): boolean {
    const marker = this.#session.options.injectDecodeFault;
    if (!marker) return false;
    return request.messages.some((m) =>
      typeof m.content === "string"
        ? m.content.includes(marker)
        : m.content.some((p) => p.type === "text" && p.text.includes(marker))
    );
  }

  // --- stopping --------------------------------------------------------------------------

  /**
   * Stopped (abort, superseded, close) and timed-out generations end and free their cells; those
   * a reload stopped fail with ModelReloadingError (their clients get an error, not a result).
   */
  #endStopped(): void {
    const now = performance.now();
    for (const slot of this.#slots) {
      const g = slot.generation;
      if (!g) continue;
      if (g.task.stopReason === "reload") {
        this.#failGeneration(g, new ModelReloadingError(this.#reloadGraceMs));
      } else if (g.task.stopReason) {
        this.#finish(g, g.task.stopReason === "superseded" ? "superseded" : "abort", true);
      } else if (now > g.deadline) {
        this.#finish(g, "timeout", true);
      }
    }
  }

  /** Queued requests are never cut by a reload: they end only by their client or a close. */
  #endUnstarted(task: Task, reason: StopReason | "closed"): void {
    if (reason === "closed") {
      this.#failed++;
      this.#events.failed(task.request.id, new EngineClosedError());
      return;
    }
    if (reason === "superseded") this.#superseded++;
    this.#completed++;
    this.#events.result(task.request.id, emptyResult(reason, performance.now() - task.receivedAt));
  }

  // --- images ----------------------------------------------------------------------------

  /**
   * The image work of a step: one image tile (encode or cache hit, then decode), round robin
   * over the slots in prefill. While some slot generates, the token phase follows, so the
   * generating slots get a token between encoder passes. While none does, the tile's leading
   * text is decoded here too and the token phase waits until no prompt has media left (see
   * #step), as llama.cpp's server evaluates all media in one step: on a CPU the encoder and the
   * decoder share the cores, so interleaving would only shrink later decode batches, and
   * requests that arrived together start generating together, in full batches.
   */
  #imagePhase(burst: boolean): boolean {
    if (this.#session.vision === null) return false;
    const n = this.#slots.length;
    for (let k = 0; k < n; k++) {
      const slot = this.#slots[(this.#imageTurn + k) % n]!;
      const g = slot.generation;
      if (g?.phase !== "prefill" || g.cursor > g.lastImage) continue;
      const textFirst = g.prompt.items[g.cursor]?.kind === "text";
      if (textFirst && !burst) continue; // the token phase decodes it with the others' tokens
      this.#imageTurn = (this.#imageTurn + k + 1) % n;
      if (textFirst && !this.#evaluateInnerText(g)) return true;
      this.#evaluateImage(g);
      return true;
    }
    return false;
  }

  /** Some prompt in prefill still has an image ahead of its cursor. */
  #mediaPending(): boolean {
    return this.#slots.some((s) => {
      const g = s.generation;
      return g?.phase === "prefill" && g.cursor <= g.lastImage;
    });
  }

  /**
   * Decodes the run of text at the cursor when an image follows it (the markers between tiles),
   * so the next tile's embeddings see it. False for the prompt's last text, which the token
   * phase decodes with the other slots' tokens.
   */
  #evaluateInnerText(g: Generation): boolean {
    const items = g.prompt.items;
    let end = g.cursor;
    while (items[end]?.kind === "text") end++;
    if (end === g.cursor || end >= items.length) return false;
    const { batch } = this.#session;
    while (g.cursor < end) {
      batch.clear();
      const from = g.cursor;
      for (let i = from; i < end && batch.length < batch.capacity; i++) {
        const item = items[i]!;
        if (item.kind === "text") {
          batch.add(item.token, g.position + (i - from), g.slot.sequence, false);
        }
      }
      const code = this.#decode();
      if (code !== 0) {
        this.#failGeneration(g, this.#decodeError(code));
        this.#resetAfterFailure();
        return false;
      }
      g.cursor += batch.length;
      g.position += batch.length;
      this.#evaluated += batch.length;
    }
    this.#statsDirty = true;
    return true;
  }

  /** One image tile: embeddings from the cache or the encoder, then decoded into the slot. */
  #evaluateImage(g: Generation): boolean {
    const { vision, context, model } = this.#session;
    const item = g.prompt.items[g.cursor];
    if (vision === null || item?.kind !== "image") return false;
    try {
      let embeddings = this.#imageCache.get(item.key);
      if (embeddings === undefined) {
        const t0 = performance.now();
        this.#log.clearLastError();
        embeddings = vision.encodeChunk(item.chunk, model.embeddingSize);
        g.encodeMs += performance.now() - t0;
        g.encoderPasses++;
        this.#imageCache.set(item.key, embeddings);
      } else {
        g.cacheHits++;
      }
      this.#log.clearLastError();
      g.position = vision.decodeImageChunk(
        context,
        item.chunk,
        embeddings,
        g.position,
        g.slot.sequence,
        this.#batchSize,
      );
    } catch (error) {
      this.#failGeneration(
        g,
        new NativeCallError(
          "encode_failed",
          `image tile ${item.key.slice(-8)}: ${errorText(error)}${this.#log.reason()}`,
        ),
      );
      return false;
    }
    g.cursor++;
    this.#evaluated += item.positions;
    this.#statsDirty = true;
    return true;
  }

  // --- tokens ----------------------------------------------------------------------------

  #tokenPhase(): void {
    const { batch } = this.#session;
    batch.clear();
    const inBatch: Generation[] = [];
    for (const slot of this.#slots) {
      const g = slot.generation;
      if (g?.phase !== "generate" || g.pending === null) continue;
      g.logitsRow = batch.length;
      batch.add(g.pending, g.position, slot.sequence, true);
      inBatch.push(g);
    }
    const prefillTokens = new Map<Generation, number>();
    for (const slot of this.#slots) {
      const g = slot.generation;
      if (g?.phase !== "prefill") continue;
      const items = g.prompt.items;
      let added = 0;
      for (let item = items[g.cursor]; batch.length < batch.capacity; item = items[g.cursor]) {
        if (item?.kind !== "text") break;
        const last = g.cursor === items.length - 1;
        if (last) g.logitsRow = batch.length;
        const token = g.faulty ? this.#session.info.vocabSize + 1 : item.token;
        batch.add(token, g.position + added, slot.sequence, last);
        added++;
        g.cursor++;
      }
      if (added > 0) {
        prefillTokens.set(g, added);
        inBatch.push(g);
      }
    }
    if (batch.length === 0) return;
    const code = this.#decode();
    if (code !== 0) {
      for (const g of inBatch) {
        if (g.phase === "generate") this.#finish(g, "length", true);
        else this.#failGeneration(g, this.#decodeError(code));
      }
      this.#resetAfterFailure();
      return;
    }
    for (const g of inBatch) {
      const added = prefillTokens.get(g);
      if (added !== undefined) {
        g.position += added;
        this.#evaluated += added;
      } else {
        g.position++;
        g.decodedTokens++;
        g.pending = null;
      }
    }
    for (const g of inBatch) {
      if (g.logitsRow >= 0) this.#sample(g);
    }
    this.#statsDirty = true;
  }

  /** llama_decode of the shared batch; when the KV cache is full, idle slots' caches go first. */
  #decode(): number {
    const { batch, context } = this.#session;
    this.#log.clearLastError();
    let code = context.decode(batch);
    if (code === 1) {
      for (const slot of this.#slots) if (slot.generation === null) this.#forget(slot);
      code = context.decode(batch);
    }
    return code;
  }

  #decodeError(code: number): NativeCallError {
    const why = code === 1 ? "the KV cache is full" : `llama_decode returned ${code}`;
    return new NativeCallError("decode_failed", why + this.#log.reason());
  }

  /**
   * Context reset after a failed decode: what it left in the KV cache is unknown, so no cached
   * prefix is trusted again. With nothing running the whole memory is cleared; otherwise the
   * idle slots' sequences are (running generations outside the failed batch keep theirs).
   */
  #resetAfterFailure(): void {
    const { context } = this.#session;
    if (this.#slots.every((s) => s.generation === null)) {
      context.clearMemory();
      for (const slot of this.#slots) {
        slot.cached = [];
        slot.cachedPositions = 0;
      }
    } else {
      for (const slot of this.#slots) if (slot.generation === null) this.#forget(slot);
    }
    this.#statsDirty = true;
  }

  #sample(g: Generation): void {
    const { model, context } = this.#session;
    const token = g.sampler.sample(context, g.logitsRow);
    g.logitsRow = -1;
    if (g.phase === "prefill") {
      g.phase = "generate";
      g.firstTokenAt = performance.now();
    }
    if (model.vocab.isEndOfGeneration(token)) return this.#finish(g, "stop", false);
    g.tokens.push(token);
    this.#emit(g, g.stops.push(g.utf8.push(model.vocab.tokenBytes(token))));
    if (g.stops.stopped) return this.#finish(g, "stop", false);
    if (g.tokens.length >= g.maxTokens || g.position + 1 >= this.#contextSize) {
      return this.#finish(g, "length", false);
    }
    g.pending = token;
  }

  #emit(g: Generation, text: string): void {
    if (text.length === 0) return;
    g.text += text;
    this.#events.delta(g.task.request.id, text);
  }

  // --- endings ---------------------------------------------------------------------------

  /**
   * Ends a generation with a result. A cancelled one (`drop`) frees its KV cells; a finished one
   * keeps them, so a later prompt with the same prefix reuses them.
   */
  #finish(g: Generation, reason: FinishReason, drop: boolean): void {
    if (!drop) {
      this.#emit(g, g.stops.stopped ? "" : g.stops.push(g.utf8.end()) + g.stops.flush());
    }
    this.#release(g, drop);
    if (reason === "superseded") this.#superseded++;
    this.#completed++;
    const now = performance.now();
    const prefillEnd = g.firstTokenAt || now;
    const prefillMs = Math.max(0, prefillEnd - g.startedAt - g.prompt.tokenizeMs - g.encodeMs);
    const decodeMs = g.firstTokenAt ? now - g.firstTokenAt : 0;
    const evaluated = g.prompt.positions - g.reusedPositions;
    this.#publishStats();
    this.#events.result(g.task.request.id, {
      text: g.text,
      tokens: g.tokens,
      finishReason: reason,
      usage: {
        promptTokens: g.prompt.positions,
        imageTokens: g.prompt.imageTokens,
        completionTokens: g.tokens.length,
        cachedTokens: g.reusedPositions,
      },
      timings: {
        queueMs: g.queueMs,
        tokenizeMs: g.prompt.tokenizeMs,
        encodeMs: g.encodeMs,
        prefillMs,
        decodeMs,
        totalMs: now - g.startedAt,
        imageEncoderPasses: g.encoderPasses,
        imageCacheHits: g.cacheHits,
        prefillTokensPerSecond: prefillMs > 0 ? evaluated / (prefillMs / 1000) : 0,
        // The first token is sampled from prefill logits; the rest each cost one decode.
        decodeTokensPerSecond: decodeMs > 0
          ? Math.max(0, g.tokens.length - 1) / (decodeMs / 1000)
          : 0,
      },
    });
  }

  #failGeneration(g: Generation, error: unknown): void {
    this.#release(g, true);
    this.#fail(g.task.request.id, error);
  }

  #fail(id: string, error: unknown): void {
    this.#failed++;
    this.#statsDirty = true;
    this.#publishStats();
    this.#events.failed(
      id,
      error instanceof EngineError ? error : new NativeCallError(
        "decode_failed",
        `generation failed: ${errorText(error)}${this.#log.reason()}`,
      ),
    );
  }

  /** Frees the slot; records what its KV cells hold, or drops them. */
  #release(g: Generation, drop: boolean): void {
    const { slot } = g;
    slot.generation = null;
    slot.lastUsed = performance.now();
    if (drop) {
      this.#forget(slot);
    } else {
      const kept = g.prompt.items.slice(0, g.cursor).map(toCachedItem);
      for (const token of g.tokens.slice(0, g.decodedTokens)) kept.push({ kind: "text", token });
      slot.cached = kept;
      slot.cachedPositions = g.position;
    }
    g.sampler.close();
    g.prompt[Symbol.dispose]();
    this.#statsDirty = true;
  }

  #forget(slot: Slot): void {
    this.#session.context.removeSequence(slot.sequence);
    slot.cached = [];
    slot.cachedPositions = 0;
  }

  // --- stats -----------------------------------------------------------------------------

  #publishStats(): void {
    if (!this.#statsDirty) return;
    this.#statsDirty = false;
    const { context } = this.#session;
    const slots: SlotStats[] = this.#slots.map((slot) => ({
      sequence: slot.sequence,
      state: slot.generation?.phase ?? "idle",
      kvTokens: context.lastPosition(slot.sequence) + 1,
    }));
    this.#events.stats({
      completed: this.#completed,
      failed: this.#failed,
      superseded: this.#superseded,
      slots,
      imageCache: this.#imageCache.stats(),
      promptTokensEvaluated: this.#evaluated,
      promptTokensReused: this.#reused,
    });
  }
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function emptyResult(reason: StopReason, queueMs: number): GenerationResult {
  return {
    text: "",
    tokens: [],
    finishReason: reason === "superseded" ? "superseded" : "abort",
    usage: { promptTokens: 0, imageTokens: 0, completionTokens: 0, cachedTokens: 0 },
    timings: {
      queueMs,
      tokenizeMs: 0,
      encodeMs: 0,
      prefillMs: 0,
      decodeMs: 0,
      totalMs: queueMs,
      imageEncoderPasses: 0,
      imageCacheHits: 0,
      prefillTokensPerSecond: 0,
      decodeTokensPerSecond: 0,
    },
  };
}
