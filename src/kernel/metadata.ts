/**
 * Stripe's metadata update: a key set to null (sent as "") is removed, and null changes (sent as
 * `metadata=""`) remove every key.
 */
export function mergeMetadata(current: Record<string, string>, changes: Record<string, string | null> | null): Record<string, string> {
  if (changes === null) return {};
  const merged = { ...current };
  for (const [key, value] of Object.entries(changes)) {
    if (value === null) delete merged[key];
    else merged[key] = value;
  }
  return merged;
}
