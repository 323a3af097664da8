/**
 * Danish CVR numbers: 8 digits, first not 0, weighted modulus-11 check digit
 * (weights 2,7,6,5,4,3,2,1; the weighted digit sum is divisible by 11).
 */

const WEIGHTS = [2, 7, 6, 5, 4, 3, 2, 1] as const;

export type CvrCheck =
  | { ok: true; cvr: string }
  | { ok: false; cvr: string; reason: "format" | "checksum"; message: string };

/** Normalises a CVR given as number or string (spaces and a "DK" prefix allowed). */
export function normaliseCvr(value: unknown): string {
  const text = typeof value === "number" ? String(value) : typeof value === "string" ? value : "";
  return text.trim().replace(/^DK/i, "").replace(/[\s-]/g, "");
}

export function hasValidCvrChecksum(cvr: string): boolean {
  let sum = 0;
  for (let i = 0; i < WEIGHTS.length; i++) sum += Number(cvr[i]) * (WEIGHTS[i] ?? 0);
  return sum % 11 === 0;
}

export function checkCvr(value: unknown): CvrCheck {
  const cvr = normaliseCvr(value);
  if (!/^[1-9]\d{7}$/.test(cvr)) {
    return { ok: false, cvr, reason: "format", message: `CVR "${cvr}" must be 8 digits, the first not 0` };
  }
  if (!hasValidCvrChecksum(cvr)) {
    return { ok: false, cvr, reason: "checksum", message: `CVR ${cvr} fails the modulus-11 check` };
  }
  return { ok: true, cvr };
}
