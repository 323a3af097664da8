/**
 * What a command hands back: the data (printed as JSON with `--json`), the readable text
 * (tables, by default) and the exit code. Commands build it; main.ts prints it.
 *
 * The readable text is made for the operator's terminal: tables fit its width (long cells
 * wrap; `--wide` turns that off) and times are shown in the operator's time zone with the
 * UTC offset. Both come from {@link withReadable}, which the command context sets around a
 * command's work, so the render functions need no extra parameters; outside it (unit tests)
 * there is no width limit and the time zone is the default. JSON keeps UTC ISO times.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import Table from "cli-table3";
import { EXIT, type ExitCode } from "./errors.ts";

/** The operators' time zone unless the deploy config or `--time-zone` says otherwise. */
export const DEFAULT_TIME_ZONE = "Europe/Copenhagen";

export interface Readable {
  /** Columns of the terminal; undefined: no limit (`--wide`, or no terminal and no COLUMNS). */
  width?: number;
  timeZone: string;
}

const readable = new AsyncLocalStorage<Readable>();
const current = (): Readable => readable.getStore() ?? { timeZone: DEFAULT_TIME_ZONE };

/** Runs `work` with the output settings that tables, text and times read. */
export const withReadable = <T>(settings: Readable, work: () => Promise<T>): Promise<T> =>
  readable.run(settings, work);

/**
 * How wide the output may be: nothing with `--wide`; a terminal's columns; else the
 * COLUMNS variable (what shells export, and what tests set); else no limit (a pipe or a file).
 */
export function outputWidth(
  stream: { isTTY?: boolean; columns?: number },
  env: NodeJS.ProcessEnv,
  wide: boolean,
): number | undefined {
  if (wide) return undefined;
  if (stream.isTTY === true && typeof stream.columns === "number" && stream.columns > 0)
    return stream.columns;
  const columns = Number(env.COLUMNS);
  return Number.isInteger(columns) && columns > 0 ? columns : undefined;
}

const zoneFormats = new Map<string, Intl.DateTimeFormat>();

function zoneFormat(timeZone: string): Intl.DateTimeFormat {
  let format = zoneFormats.get(timeZone);
  if (format === undefined) {
    format = new Intl.DateTimeFormat("en-CA", {
      timeZone,
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
      hourCycle: "h23",
      timeZoneName: "longOffset",
    });
    zoneFormats.set(timeZone, format);
  }
  return format;
}

/**
 * An ISO time as the operator reads it: `2025-06-01 06:12:12 +02:00` in the time zone of
 * the output settings, with its UTC offset (so it is never ambiguous). Absent stays absent;
 * text that is no time is shown as it is.
 */
export function localTime(iso: string | undefined, timeZone = current().timeZone): string | undefined {
  if (iso === undefined || iso === "") return undefined;
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  const parts = Object.fromEntries(
    zoneFormat(timeZone)
      .formatToParts(date)
      .map((part) => [part.type, part.value]),
  );
  const offset = (parts.timeZoneName ?? "GMT").replace(/^GMT/, "") || "+00:00";
  return `${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute}:${parts.second} ${offset}`;
}

/** The time zone of the output settings (for column headings). */
export const outputTimeZone = (): string => current().timeZone;

/**
 * One line as lines of at most `width` characters: broken at spaces, a word longer than the
 * width broken inside; continuation lines start with `indent`.
 */
export function wrapLine(line: string, width: number, indent = ""): string[] {
  if (line.length <= width) return [line];
  const lead = /^\s*/.exec(line)?.[0] ?? "";
  const out: string[] = [];
  let prefix = lead;
  let current: string | undefined;
  const room = (): number => width - prefix.length;
  const push = (): void => {
    out.push(`${prefix}${current ?? ""}`);
    current = undefined;
    prefix = indent;
  };
  // Split on single spaces: runs of spaces inside the line (aligned columns) are kept.
  for (const word of line.slice(lead.length).split(" ")) {
    let rest = word;
    if (current !== undefined && current.length + 1 + rest.length > room()) push();
    while (rest.length > room() && room() > 0) {
      if (current !== undefined) push();
      current = rest.slice(0, room());
      rest = rest.slice(room());
      push();
    }
    current = current === undefined ? rest : `${current} ${rest}`;
  }
  if (current !== undefined || out.length === 0) push();
  return out;
}

/**
 * Text fitted to the output width: a table's lines are left as the table made them (it
 * fitted itself, as `fields` does); any other long line wraps at its own indentation.
 */
export function fitText(text: string, width = current().width): string {
  if (width === undefined) return text;
  return text
    .split("\n")
    .flatMap((line) => {
      if (line.length <= width || /^[┌│├└]/.test(line)) return [line];
      return wrapLine(line, width, /^\s*/.exec(line)?.[0] ?? "");
    })
    .join("\n");
}

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

/**
 * Content widths that fit `budget` characters in all: the widest columns are narrowed to a
 * common cap (the narrow ones keep their width), below `min` only when nothing else fits;
 * columns in `keep` are never narrowed (ids people copy).
 */
export function fitColumns(
  natural: readonly number[],
  budget: number,
  keep: ReadonlySet<number> = new Set(),
  min = 6,
): number[] {
  const total = (cap: number): number =>
    natural.reduce((sum, width, index) => sum + (keep.has(index) ? width : Math.min(width, cap)), 0);
  if (total(Number.POSITIVE_INFINITY) <= budget) return [...natural];
  let cap = Math.max(...natural);
  while (cap > min && total(cap) > budget) cap--;
  // Many columns: narrower than `min` rather than wider than the terminal.
  while (cap > 1 && total(cap) > budget) cap--;
  return natural.map((width, index) => (keep.has(index) ? width : Math.min(width, cap)));
}

export interface TableOptions {
  /** Columns never wrapped (ids to copy into the next command). */
  keep?: readonly number[];
}

/**
 * A plain table (no colours: the output is often piped or logged) that fits the output
 * width: long cells wrap inside their column.
 */
export function table(
  head: readonly string[],
  rows: readonly (readonly unknown[])[],
  options: TableOptions = {},
): string {
  const cells = rows.map((row) => row.map(cell));
  const width = current().width;
  const style = { head: [], border: [], compact: true };
  if (width === undefined) {
    const t = new Table({ head: [...head], style });
    for (const row of cells) t.push(row);
    return t.toString();
  }
  const longest = (text: string): number => Math.max(0, ...text.split("\n").map((line) => line.length));
  const natural = head.map((title, index) =>
    Math.max(longest(title), ...cells.map((row) => longest(row[index] ?? ""))),
  );
  // Each column has a space either side and a border on its right, the table one more on the left.
  const widths = fitColumns(natural, width - 3 * head.length - 1, new Set(options.keep ?? []));
  const wrap = (text: string, index: number): string =>
    text
      .split("\n")
      .flatMap((line) => wrapLine(line, widths[index] ?? line.length))
      .join("\n");
  const t = new Table({
    head: head.map(wrap),
    style,
    colWidths: widths.map((content) => content + 2),
  });
  for (const row of cells) t.push(row.map(wrap));
  return t.toString();
}

/** `key: value` lines, aligned; in a narrow terminal a long value wraps under itself. */
export function fields(entries: readonly (readonly [string, unknown])[]): string {
  const shown = entries.filter(([, value]) => value !== undefined && value !== "");
  const keyWidth = Math.max(0, ...shown.map(([key]) => key.length)) + 2;
  const width = current().width;
  return shown
    .map(([key, value]) => {
      const line = `${`${key}:`.padEnd(keyWidth)}${cell(value)}`;
      // Under the value, unless the keys take half the width (then under the key).
      const indent = " ".repeat(width !== undefined && keyWidth <= width / 2 ? keyWidth : 0);
      return width === undefined ? line : wrapLine(line, width, indent).join("\n");
    })
    .join("\n");
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
