/**
 * Tolerant access to JSON objects whose key spelling is not under our control.
 *
 * The Lasso API (and, undocumented, its webhook payloads) spells the same field in several
 * ways: `pdfurl` / `pdfUrl` / `PdfUrl`, `IsListener` / `isListener`,
 * `notificationWebHookUrl` / `notificationWebhookUrl`. Code that reads such objects looks
 * fields up through these helpers instead of by exact key.
 *
 * Keys are compared in their *folded* form (see {@link foldKey}): lower case, with `_`, `-`
 * and white space removed, so `pdfUrl`, `PDFURL`, `pdf_url` and `Pdf-Url` are one field.
 *
 * Nothing here validates values: pair these helpers with a schema (see schemas.ts).
 */

export type JsonRecord = Record<string, unknown>;

/** A plain JSON object (not null, not an array). */
export function isRecord(value: unknown): value is JsonRecord {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The folded form of a key: lower case, without `_`, `-` and white space. */
export function foldKey(key: string): string {
  return key.replace(/[\s_-]/g, "").toLowerCase();
}

/** Index of an object's own keys by folded form, each list in the object's key order. */
function foldedIndex(obj: JsonRecord): Map<string, string[]> {
  const index = new Map<string, string[]>();
  for (const key of Object.keys(obj)) {
    const folded = foldKey(key);
    const keys = index.get(folded);
    if (keys === undefined) index.set(folded, [key]);
    else keys.push(key);
  }
  return index;
}

/**
 * The keys of `obj` that match `names`, best first: names are tried in the given order;
 * for each name the exact spelling comes first, then the other spellings in key order.
 */
function matchingKeys(obj: JsonRecord, index: Map<string, string[]>, names: readonly string[]): string[] {
  const keys: string[] = [];
  for (const name of names) {
    if (Object.hasOwn(obj, name) && !keys.includes(name)) keys.push(name);
    for (const key of index.get(foldKey(name)) ?? []) {
      if (!keys.includes(key)) keys.push(key);
    }
  }
  return keys;
}

/**
 * The value of the first field of `obj` that matches one of `names` (case-insensitively,
 * see {@link foldKey}); `undefined` when `obj` is not an object or has no such field.
 * Names are tried in order, so `pickField(batch, "batchName", "name")` prefers `batchName`.
 * A field present with the value `null` is returned as `null`.
 *
 * @example pickField({ PdfURL: "https://x" }, "pdfUrl") // "https://x"
 */
export function pickField(obj: unknown, ...names: readonly [string, ...string[]]): unknown {
  if (!isRecord(obj)) return undefined;
  const [key] = matchingKeys(obj, foldedIndex(obj), names);
  return key === undefined ? undefined : obj[key];
}

/** Whether `obj` has a field matching one of `names` (case-insensitively), whatever its value. */
export function hasField(obj: unknown, ...names: readonly [string, ...string[]]): boolean {
  return isRecord(obj) && matchingKeys(obj, foldedIndex(obj), names).length > 0;
}

/**
 * Maps an object with unknown key spelling onto canonical keys. `spec` gives, for every
 * canonical key, the names (aliases) to look for, best first; each is matched
 * case-insensitively. The result holds only the canonical keys that were found with a
 * value other than `undefined` or `null` (JSON `null` is treated as absent); other fields
 * of `obj` are dropped.
 *
 * @example
 * canonicaliseKeys({ BatchName: "x", IsListener: true }, { name: ["batchName", "name"], isListener: ["isListener"] })
 * // { name: "x", isListener: true }
 */
export function canonicaliseKeys<K extends string>(
  obj: JsonRecord,
  spec: Readonly<Record<K, readonly string[]>>,
): Partial<Record<K, unknown>> {
  const index = foldedIndex(obj);
  const out: Partial<Record<K, unknown>> = {};
  for (const canonical of Object.keys(spec) as K[]) {
    for (const key of matchingKeys(obj, index, spec[canonical])) {
      const value = obj[key];
      if (value !== undefined && value !== null) {
        out[canonical] = value;
        break;
      }
    }
  }
  return out;
}

/**
 * A copy of `value` in which every object key is replaced by its folded form
 * ({@link foldKey}), walking nested objects and arrays down to `maxDepth` levels (deeper
 * values are kept as they are). When two keys fold to the same form, the first one wins.
 * The result is built with `Object.fromEntries` (and `__proto__` folds to `proto`), so no
 * key of the input can change a prototype.
 */
export function foldKeys(value: unknown, maxDepth = 8): unknown {
  if (maxDepth <= 0) return value;
  if (Array.isArray(value)) return value.map((element) => foldKeys(element, maxDepth - 1));
  if (!isRecord(value)) return value;
  const entries: [string, unknown][] = [];
  const seen = new Set<string>();
  for (const [key, inner] of Object.entries(value)) {
    const folded = foldKey(key);
    if (seen.has(folded)) continue;
    seen.add(folded);
    entries.push([folded, foldKeys(inner, maxDepth - 1)]);
  }
  return Object.fromEntries(entries);
}
