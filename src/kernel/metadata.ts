/**
 * Stripe's metadata update: a key set to null (sent as "") is removed, and null changes (sent as
 * `metadata=""`) remove every key.
 */
export function mergeMetadata(current: Record<string, string>, changes: Record<string, string | null> | null): Record<string, string> {
  if (changes === null) return {};
  // A Map, not `merged[key] =`: a key named `__proto__` must stay a key, not set a prototype.
  const merged = new Map(Object.entries(current));
  for (const [key, value] of Object.entries(changes)) {
    if (value === null) merged.delete(key);
    else merged.set(key, value);
  }
  return Object.fromEntries(merged);
}
