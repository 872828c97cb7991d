/**
 * `record[key]` when the key is the record's own, else undefined: honest about missing keys (the index type says
 * a value is always there) and deaf to inherited names such as `constructor` or `__proto__` from hostile input.
 */
export function ownValue<V>(record: Readonly<Record<string, V>>, key: string): V | undefined {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}
