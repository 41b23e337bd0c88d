/**
 * The fields that differ between two versions of an object, with their old values: an event's
 * `previous_attributes`. A field the old version lacked was null to the client, so it reads as null;
 * `version` is bookkeeping for optimistic writes, never part of the object.
 */
export function previousAttributes(before: object, after: object): Record<string, unknown> {
  const old = before as Record<string, unknown>;
  const current = after as Record<string, unknown>;
  const changed = Object.keys(current).filter((key) => key !== 'version' && JSON.stringify(old[key]) !== JSON.stringify(current[key]));
  return Object.fromEntries(changed.map((key) => [key, old[key] ?? null]));
}
