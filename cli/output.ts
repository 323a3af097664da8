/**
 * What a command hands back: the data (printed as JSON with `--json`), the readable text
 * (tables, by default) and the exit code. Commands build it; main.ts prints it.
 */
import Table from "cli-table3";
import { EXIT, type ExitCode } from "./errors.ts";

export interface CommandResult {
  /** Printed with `--json` (stable field names: scripts read them). */
  data: unknown;
  /** Printed without `--json`. */
  text: string;
  exitCode: ExitCode;
  /** Printed exactly as it is in both modes (an export's file content), instead of the above. */
  raw?: string;
}

export const ok = (data: unknown, text: string): CommandResult => ({ data, text, exitCode: EXIT.ok });
export const failed = (data: unknown, text: string): CommandResult => ({
  data,
  text,
  exitCode: EXIT.failure,
});

/** A value as table cell text: lists joined, absent as "". */
export function cell(value: unknown): string {
  if (value === undefined || value === null) return "";
  if (value instanceof Set) return [...value].map(cell).join(", ");
  if (Array.isArray(value)) return value.map(cell).join(", ");
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

/** A plain table (no colours: the output is often piped or logged). */
export function table(head: readonly string[], rows: readonly (readonly unknown[])[]): string {
  const t = new Table({ head: [...head], style: { head: [], border: [], compact: true } });
  for (const row of rows) t.push(row.map(cell));
  return t.toString();
}

/** `key: value` lines, aligned. */
export function fields(entries: readonly (readonly [string, unknown])[]): string {
  const shown = entries.filter(([, value]) => value !== undefined && value !== "");
  const width = Math.max(0, ...shown.map(([key]) => key.length));
  return shown.map(([key, value]) => `${`${key}:`.padEnd(width + 2)}${cell(value)}`).join("\n");
}

/** A text progress bar for a fraction 0..1, e.g. `[######----] 60%`. */
export function bar(fraction: number | undefined, width = 10): string {
  if (fraction === undefined || !Number.isFinite(fraction)) return "";
  const clamped = Math.min(1, Math.max(0, fraction));
  const filled = Math.round(clamped * width);
  return `[${"#".repeat(filled)}${"-".repeat(width - filled)}] ${Math.round(clamped * 100)}%`;
}

/** Paragraphs joined by a blank line, empty ones dropped. */
export const blocks = (...parts: (string | undefined | false)[]): string =>
  parts.filter((part): part is string => typeof part === "string" && part !== "").join("\n\n");

/** A count with its noun: `1 row`, `4 rows` (`pluralWord` for irregular ones). */
export const plural = (n: number, word: string, pluralWord = `${word}s`): string =>
  `${n} ${n === 1 ? word : pluralWord}`;

/** Ids as a short list: the first `max`, then how many there are. */
export const ids = (list: readonly number[], max = 12): string =>
  list.length <= max ? list.join(", ") : `${list.slice(0, max).join(", ")}, … (${list.length})`;
