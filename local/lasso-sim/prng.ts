/**
 * Small seeded pseudo-random numbers for the simulator: everything "random" it does (company
 * names, fault injection) comes from here, so a given seed always gives the same outcome.
 */

/** mulberry32: a tiny 32-bit PRNG; returns a function yielding floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** FNV-1a over the parts' string forms (joined by a separator): a stable 32-bit hash. */
export function hash32(...parts: readonly (string | number)[]): number {
  let h = 0x811c9dc5;
  const text = parts.map(String).join("\u001f");
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** A PRNG whose stream depends only on the given key parts (order-independent across keys). */
export function derivedRandom(...parts: readonly (string | number)[]): () => number {
  return mulberry32(hash32(...parts));
}

/** Picks one element of a non-empty list with a random number in [0, 1). */
export function pick<T>(list: readonly [T, ...T[]], r: number): T {
  return list[Math.min(list.length - 1, Math.floor(r * list.length))] ?? list[0];
}

/** A deterministic RFC 4122 version-4-shaped UUID built from a hash of the key parts. */
export function derivedUuid(...parts: readonly (string | number)[]): string {
  const random = derivedRandom(...parts);
  const bytes = Array.from({ length: 16 }, () => Math.floor(random() * 256));
  bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x40;
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80;
  const hex = bytes.map((b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
