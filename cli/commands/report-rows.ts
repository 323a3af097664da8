/** The table of reports shown by `status --batch` (per customer) and `deliveries` (per batch). */
import { localTime, table } from "../output.ts";
import type { ReportView } from "../state-views.ts";

export function reportRows(reports: readonly ReportView[], withBatch: boolean): string {
  const head = [
    ...(withBatch ? ["when", "lasso batch", "type"] : ["customerId", "cvr"]),
    "state",
    "recipients",
    ...(withBatch ? [] : ["when"]),
    "SES message id",
    "source",
    "reason / detail",
  ];
  return table(
    head,
    reports.map((report) => {
      const when = localTime(report.deliveredAt ?? report.updatedAt);
      return [
        ...(withBatch ? [when, report.lassoBatchId, report.reportType] : [report.customerId, report.cvr]),
        report.state,
        report.recipients,
        ...(withBatch ? [] : [report.state === "waiting" ? undefined : when]),
        report.sesMessageId,
        report.source,
        [report.reason, report.detail].filter(Boolean).join("; "),
      ];
    }),
  );
}
