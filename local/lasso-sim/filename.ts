/**
 * Report file names, as the simulator builds them.
 *
 * Rule (documented in README.md):
 *   [<internalCustomerId>_]<format with variables substituted>[<errorAppend> if Failed].pdf
 *
 * - `format` is the item's own `format` when given, else the batch `format`.
 * - Variables (case-insensitive): {name} company name ("" for an unknown company), {cvr}
 *   the 8 digits, {type} the report type name (e.g. "Revision"), {balanceday} the balance
 *   date of the latest annual report as YYYY-MM-DD ("" for an unknown company), {rundate}
 *   the UTC date the report was produced as YYYY-MM-DD. Any other {text} stays as written.
 * - internalCustomerId, when given, starts the name followed by "_" (e.g. "1234_...").
 * - errorAppend is appended (before ".pdf") to Failed reports only.
 * - Characters not allowed in file names on common systems (\ / : * ? " < > | and control
 *   characters) become "_", whitespace runs become one space, leading/trailing spaces and
 *   dots go, the stem is cut to 180 characters, and an empty stem becomes "report".
 *   Letters such as æ, ø, å are kept (NFC).
 */

export interface FileNameVariables {
  name: string;
  cvr: string;
  type: string;
  /** Balance date of the latest annual report; undefined for an unknown company. */
  balanceDate: Date | undefined;
  runDate: Date;
}

export interface FileNameInput extends FileNameVariables {
  format: string;
  internalCustomerId?: number | null | undefined;
  failed: boolean;
  errorAppend?: string | null | undefined;
}

export const MAX_STEM_LENGTH = 180;

const isoDate = (date: Date): string => date.toISOString().slice(0, 10);

/** Substitutes the format variables; unknown placeholders are left untouched. */
export function substituteFormat(format: string, vars: FileNameVariables): string {
  return format.replace(/\{(name|balanceday|cvr|type|rundate)\}/gi, (_match, variable: string) => {
    switch (variable.toLowerCase()) {
      case "name":
        return vars.name;
      case "cvr":
        return vars.cvr;
      case "type":
        return vars.type;
      case "balanceday":
        return vars.balanceDate === undefined ? "" : isoDate(vars.balanceDate);
      default:
        return isoDate(vars.runDate);
    }
  });
}

/** Makes a string safe as a file name stem (see the module comment). */
export function sanitizeFileStem(stem: string): string {
  const cleaned = stem
    .normalize("NFC")
    .replace(/\s+/g, " ")
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what is removed
    .replace(/[\\/:*?"<>|\u0000-\u001f\u007f]/g, "_")
    .replace(/^[\s.]+|[\s.]+$/g, "");
  const cut = Array.from(cleaned)
    .slice(0, MAX_STEM_LENGTH)
    .join("")
    .replace(/[\s.]+$/g, "");
  return cut === "" ? "report" : cut;
}

/** The full file name of a report, ".pdf" included. */
export function reportFileName(input: FileNameInput): string {
  let stem = substituteFormat(input.format, input);
  if (input.internalCustomerId !== undefined && input.internalCustomerId !== null) {
    stem = `${input.internalCustomerId}_${stem}`;
  }
  if (input.failed && input.errorAppend) stem += input.errorAppend;
  return `${sanitizeFileStem(stem)}.pdf`;
}
