/**
 * A prompt as the KV cache sees it: one item per text token, one per image tile (which fills
 * several positions). A slot remembers the items its sequence holds; a new prompt reuses the
 * longest common prefix, matching image tiles by content key, never half a tile.
 */

export type CachedItem =
  | { readonly kind: "text"; readonly token: number }
  | { readonly kind: "image"; readonly key: string; readonly positions: number };

export interface CommonPrefix {
  /** Items of the new prompt already in the slot's KV cache. */
  readonly items: number;
  /** The positions those items fill. */
  readonly positions: number;
}

function sameItem(a: CachedItem, b: CachedItem): boolean {
  if (a.kind === "text") return b.kind === "text" && a.token === b.token;
  return b.kind === "image" && a.key === b.key && a.positions === b.positions;
}

function positionsOf(item: CachedItem): number {
  return item.kind === "text" ? 1 : item.positions;
}

/**
 * The reusable prefix of `prompt` given what a slot holds. At least the prompt's last item is
 * left to evaluate, since its logits give the first token.
 */
export function commonPrefix(
  cached: readonly CachedItem[],
  prompt: readonly CachedItem[],
): CommonPrefix {
  const limit = Math.min(cached.length, prompt.length - 1);
  let items = 0;
  let positions = 0;
  while (items < limit && sameItem(cached[items]!, prompt[items]!)) {
    positions += positionsOf(prompt[items]!);
    items++;
  }
  return { items, positions };
}

/** The item as the slot stores it (no native chunk reference: chunks die with their request). */
export function toCachedItem(item: CachedItem): CachedItem {
  return item.kind === "text"
    ? { kind: "text", token: item.token }
    : { kind: "image", key: item.key, positions: item.positions };
}
