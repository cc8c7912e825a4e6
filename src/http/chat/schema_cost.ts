/**
 * The cost of a `response_format` JSON schema, measured before anything recursive touches it:
 * nesting depth, node count, enum sizes and serialized size, against the operator's ceilings.
 * The walk is iterative with an explicit stack and stops at the first ceiling crossed, so a
 * schema nested 100,000 deep or with a million enum values is refused in time linear in what
 * it read up to the ceiling — never a stack overflow (500) or a stall.
 *
 * @module
 */
import type { RequestLimits } from "../../config/service_config.ts";

/** A message naming the ceiling crossed, or null when the schema is within all of them. */
export function checkSchemaCost(schema: unknown, limits: RequestLimits): string | null {
  const stack: { value: unknown; depth: number }[] = [{ value: schema, depth: 1 }];
  let nodes = 0;
  while (stack.length > 0) {
    const { value, depth } = stack.pop()!;
    if (typeof value !== "object" || value === null) continue;
    if (depth > limits.maxSchemaDepth) {
      return `nests deeper than ${limits.maxSchemaDepth} levels (the server's limit)`;
    }
    if (++nodes > limits.maxSchemaNodes) {
      return `has more than ${limits.maxSchemaNodes} objects and arrays (the server's limit)`;
    }
    if (Array.isArray(value)) {
      for (const item of value) stack.push({ value: item, depth: depth + 1 });
      continue;
    }
    const record = value as Record<string, unknown>;
    const values = record.enum;
    if (Array.isArray(values) && values.length > limits.maxEnumValues) {
      return `has an enum of ${values.length} values; at most ${limits.maxEnumValues} (the server's limit)`;
    }
    for (const key in record) stack.push({ value: record[key], depth: depth + 1 });
  }
  // Depth and node count are bounded now, so serializing is safe and cheap.
  const bytes = JSON.stringify(schema).length;
  if (bytes > limits.maxSchemaBytes) {
    return `is ${bytes} bytes as JSON; at most ${limits.maxSchemaBytes} (the server's limit)`;
  }
  return null;
}
