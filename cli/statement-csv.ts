/**
 * A statement as CSV for Excel: csv-stringify, `;` separated (the list separator of a
 * Danish Excel), CRLF, UTF-8 with a byte order mark (so Excel reads æøå right), one row
 * per recipient of each send. A cell Excel would run as a formula gets a leading
 * apostrophe, as in `customers export`.
 */
import { stringify } from "csv-stringify/sync";
import { neutraliseFormula } from "./customer-views.ts";
import type { Statement } from "./statement.ts";

export const STATEMENT_COLUMNS = [
  "firm",
  "customerId",
  "customerName",
  "deliveryId",
  "kind",
  "state",
  "reportType",
  "companyName",
  "cvr",
  "lassoBatchId",
  "recipient",
  "outcome",
  "outcomeAt",
  "outcomeDetail",
  "sentAt",
  "deliveredAt",
  "sesMessageId",
  "pdfSha256",
  "messageSha256",
  "fileName",
  "archiveMessageKey",
] as const;

type Row = Record<(typeof STATEMENT_COLUMNS)[number], string | number>;

export function statementRows(statement: Statement): Row[] {
  return statement.customers.flatMap((customer) =>
    customer.deliveries.flatMap((delivery) =>
      delivery.recipients.map(
        (recipient): Row => ({
          firm: statement.firm,
          customerId: customer.customerId,
          customerName: customer.customerName,
          deliveryId: delivery.deliveryId,
          kind: delivery.kind,
          state: delivery.state,
          reportType: delivery.reportType,
          companyName: delivery.companyName,
          cvr: delivery.cvr,
          lassoBatchId: delivery.lassoBatchId,
          recipient: recipient.address,
          outcome: recipient.outcome ?? "",
          outcomeAt: recipient.at ?? "",
          outcomeDetail: recipient.detail ?? "",
          sentAt: delivery.sentAt ?? "",
          deliveredAt: recipient.outcome === "Delivery" ? (recipient.at ?? "") : "",
          sesMessageId: delivery.sesMessageId ?? "",
          pdfSha256: delivery.pdfSha256,
          messageSha256: delivery.messageSha256,
          fileName: delivery.fileName,
          archiveMessageKey: delivery.archive.messageKey,
        }),
      ),
    ),
  );
}

/** The CSV text, starting with the byte order mark. */
export function statementCsv(statement: Statement): string {
  return stringify(statementRows(statement), {
    bom: true,
    header: true,
    columns: [...STATEMENT_COLUMNS],
    delimiter: ";",
    record_delimiter: "windows",
    cast: { string: (value) => neutraliseFormula(value) },
  });
}
