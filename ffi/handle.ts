/**
 * Ownership of one native pointer: freed exactly once by close()/Symbol.dispose, with a
 * FinalizationRegistry as a backstop for handles that were dropped without closing (the backstop
 * is a leak guard, not the plan: owners close deterministically).
 */

type Free = (pointer: Deno.PointerObject) => void;

const backstop = new FinalizationRegistry<{ pointer: Deno.PointerObject; free: Free }>(
  ({ pointer, free }) => free(pointer),
);

export abstract class NativeHandle implements Disposable {
  #pointer: Deno.PointerObject | null;
  readonly #free: Free;
  readonly #what: string;

  protected constructor(what: string, pointer: Deno.PointerObject, free: Free) {
    this.#pointer = pointer;
    this.#free = free;
    this.#what = what;
    backstop.register(this, { pointer, free }, this);
  }

  /** The live pointer; throws after close() so use-after-free becomes a JS error. */
  protected get pointer(): Deno.PointerObject {
    if (this.#pointer === null) throw new Error(`${this.#what} is closed`);
    return this.#pointer;
  }

  get closed(): boolean {
    return this.#pointer === null;
  }

  close(): void {
    const pointer = this.#pointer;
    if (pointer === null) return;
    this.#pointer = null;
    backstop.unregister(this);
    this.#free(pointer);
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/** Converts a nullable pointer result into a PointerObject or throws the given error. */
export function nonNull(pointer: Deno.PointerValue, error: () => Error): Deno.PointerObject {
  if (pointer === null) throw error();
  return pointer;
}

/** For ffi/ modules only: the pointer behind a handle, to pass into another native call. */
export function unwrap(handle: NativeHandle): Deno.PointerObject {
  return NativeHandleAccess.pointerOf(handle);
}

abstract class NativeHandleAccess extends NativeHandle {
  static pointerOf(handle: NativeHandle): Deno.PointerObject {
    return (handle as NativeHandleAccess).pointer;
  }
}
