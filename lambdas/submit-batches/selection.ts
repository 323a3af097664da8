/**
 * Which customers a schedule covers: enabled customers of its group that want its report
 * type. Broken rows are skipped with their reason; the selection goes on for every other.
 *
 * `judgeRow` is the one decision "takes part / skipped because …" for a stored row. The
 * run, `plan` and `customers validate` all come here (validate through `selectCustomers`
 * for each schedule), so what the tools say is what a run does.
 */
import {
  type Customer,
  isExplicitlyDisabled,
  type Language,
  meantGroup,
  parseCustomerItem,
} from "#shared/customers.ts";
import type { ReportType } from "#shared/lasso/enums.ts";
import type { RowWarning, SkippedRow } from "#shared/state/runs.ts";
import type { CustomerSource } from "./ports.ts";

export interface Selection {
  /** In customerId order. */
  selected: Customer[];
  skipped: SkippedRow[];
  warnings: RowWarning[];
  customersRead: number;
  disabled: number;
  notWanted: number;
}

export interface SelectionCriteria {
  group: string;
  reportType: ReportType;
}

/** What a run of `criteria` does with one stored row. */
export type RowDecision =
  /** Meant for another group (or none): not this run's business. */
  | { kind: "otherGroup" }
  /** Switched off: never selected, never reported as broken. */
  | { kind: "disabled" }
  | { kind: "skipped"; row: SkippedRow }
  /** Usable, but does not want this report type. */
  | { kind: "notWanted" }
  | { kind: "selected"; customer: Customer; warnings: string[] };

/**
 * The decision for one stored row. The group is compared in its normalised form, so a row
 * stored as "default " is this run's row too, and is skipped with the reason why the index
 * cannot find it (the parser's `origin: "table"` rules).
 */
export function judgeRow(
  raw: Record<string, unknown>,
  criteria: SelectionCriteria,
  options: { defaultLanguage?: Language } = {},
): RowDecision {
  if (meantGroup(raw) !== criteria.group) return { kind: "otherGroup" };
  // A switched-off row is not a problem to report, whatever else is wrong with it.
  if (isExplicitlyDisabled(raw)) return { kind: "disabled" };
  const parsed = parseCustomerItem(raw, { ...options, origin: "table" });
  if (!parsed.ok) return { kind: "skipped", row: skippedRow(raw, parsed) };
  if (!parsed.customer.reportTypes.includes(criteria.reportType)) return { kind: "notWanted" };
  return { kind: "selected", customer: parsed.customer, warnings: parsed.warnings };
}

/** The skipped row of a refused item: its id as stored when the parser could not use it. */
export function skippedRow(
  raw: Record<string, unknown>,
  parsed: { customerId?: number; cvr?: string; reason: string },
): SkippedRow {
  const row: SkippedRow = { reason: parsed.reason };
  if (parsed.customerId !== undefined) row.customerId = parsed.customerId;
  else {
    // The table key always exists; an unusable one (0, 1.5, too large) still names the item.
    const stored = raw.customerId;
    if (typeof stored === "number" && Number.isFinite(stored)) row.customerId = stored;
  }
  if (parsed.cvr !== undefined) row.cvr = parsed.cvr;
  return row;
}

export async function selectCustomers(
  source: CustomerSource,
  criteria: SelectionCriteria,
  options: { defaultLanguage?: Language } = {},
): Promise<Selection> {
  const selection: Selection = {
    selected: [],
    skipped: [],
    warnings: [],
    customersRead: 0,
    disabled: 0,
    notWanted: 0,
  };
  const seen = new Set<number>();
  for await (const page of source.readGroup(criteria.group)) {
    for (const raw of page) {
      const decision = judgeRow(raw, criteria, options);
      if (decision.kind === "otherGroup") continue;
      selection.customersRead++;
      if (decision.kind === "disabled") selection.disabled++;
      else if (decision.kind === "skipped") selection.skipped.push(decision.row);
      else if (decision.kind === "notWanted") selection.notWanted++;
      else {
        const { customer } = decision;
        // The table key makes ids unique; a re-read page (never expected) must not double a customer.
        if (seen.has(customer.customerId)) continue;
        seen.add(customer.customerId);
        for (const warning of decision.warnings) {
          selection.warnings.push({ customerId: customer.customerId, warning });
        }
        selection.selected.push(customer);
      }
    }
  }
  selection.selected.sort((a, b) => a.customerId - b.customerId);
  return selection;
}

/**
 * The source limited to some customers (an operator's run of those only): the rows of the
 * group whose customerId is one of `customerIds`; the others are not read into the run.
 */
export function onlyCustomers(source: CustomerSource, customerIds: readonly number[]): CustomerSource {
  const wanted = new Set(customerIds);
  return {
    async *readGroup(group) {
      for await (const page of source.readGroup(group)) {
        // customerId is the table's key: every stored item has it under exactly this name.
        yield page.filter((item) => wanted.has(Number(item.customerId)));
      }
    },
  };
}
