/**
 * Which customers a schedule covers: enabled customers of its group that want its report
 * type. Broken rows are skipped with their reason; the selection goes on for every other.
 */
import { type Customer, isExplicitlyDisabled, type Language, parseCustomerItem } from "#shared/customers.ts";
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

export async function selectCustomers(
  source: CustomerSource,
  criteria: { group: string; reportType: ReportType },
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
      selection.customersRead++;
      // A switched-off row is not a problem to report, whatever else is wrong with it.
      if (isExplicitlyDisabled(raw)) {
        selection.disabled++;
        continue;
      }
      const parsed = parseCustomerItem(raw, options);
      if (!parsed.ok) {
        const row: SkippedRow = { reason: parsed.reason };
        if (parsed.customerId !== undefined) row.customerId = parsed.customerId;
        if (parsed.cvr !== undefined) row.cvr = parsed.cvr;
        selection.skipped.push(row);
        continue;
      }
      const { customer } = parsed;
      if (!customer.reportTypes.includes(criteria.reportType)) {
        selection.notWanted++;
        continue;
      }
      // The table key makes ids unique; a re-read page (never expected) must not double a customer.
      if (seen.has(customer.customerId)) continue;
      seen.add(customer.customerId);
      for (const warning of parsed.warnings) {
        selection.warnings.push({ customerId: customer.customerId, warning });
      }
      selection.selected.push(customer);
    }
  }
  selection.selected.sort((a, b) => a.customerId - b.customerId);
  return selection;
}
