/**
 * `suppressions list | lift ADDRESS`: the recipient addresses SES reported as bounced or
 * complaining (docs/operations.md#mailbounced). The delivery skips a suppressed address
 * (its record `SUPPRESS#<address>` in the state table); lifting it deletes that record and,
 * on a deployment, takes the address off SES's account-level suppression list too, which
 * would otherwise still keep the mail from being sent.
 */
import { DeleteCommand, paginateScan } from "@aws-sdk/lib-dynamodb";
import { suppressionKey } from "#shared/state/keys.ts";
import type { StateTable } from "#shared/state/state-table.ts";
import {
  getSuppression,
  normaliseEmailAddress,
  type SuppressionReason,
  type SuppressionRecord,
} from "#shared/state/suppression.ts";
import type { ProgressFactory } from "./progress.ts";

/** SES's account-level suppression list (a deployment's; the local SES emulator has none). */
export interface SesSuppressionList {
  /** Takes the address off the list: false when it was not on it. */
  remove(address: string): Promise<boolean>;
}

export interface SuppressionRow {
  email: string;
  reason: SuppressionReason;
  detail: string;
  /** When SES saw the (latest) bounce or complaint. */
  eventAt: string;
  sesMessageId: string;
  /** Our tags on the mail that bounced: the customer, batch and report type. */
  customerId?: string;
  lassoBatchId?: string;
  reportType?: string;
}

function suppressionRow(record: SuppressionRecord): SuppressionRow {
  const tags = record.mailTags ?? {};
  return {
    email: record.email,
    reason: record.reason,
    detail: record.detail,
    eventAt: record.eventAt,
    sesMessageId: record.sesMessageId,
    // The tags deliver-report puts on every mail (lambdas/deliver-report/send.ts).
    ...(tags.customer === undefined ? {} : { customerId: tags.customer }),
    ...(tags.batch === undefined ? {} : { lassoBatchId: tags.batch }),
    ...(tags.reportType === undefined ? {} : { reportType: tags.reportType }),
  };
}

/** Every suppressed address, newest event first (a scan of the state table, with progress). */
export async function listSuppressions(
  state: StateTable,
  progress: ProgressFactory,
): Promise<SuppressionRow[]> {
  const out: SuppressionRow[] = [];
  const bar = progress("scanning the state table");
  try {
    const pages = paginateScan(
      { client: state.doc },
      {
        TableName: state.tableName,
        FilterExpression: "recordType = :suppression",
        ExpressionAttributeValues: { ":suppression": "suppression" },
      },
    );
    for await (const page of pages) {
      for (const item of page.Items ?? []) out.push(suppressionRow(item as SuppressionRecord));
      bar.tick(page.ScannedCount ?? 0);
    }
  } finally {
    bar.done();
  }
  return out.sort((a, b) => b.eventAt.localeCompare(a.eventAt));
}

export interface LiftOutcome {
  email: string;
  /** The suppression record that was deleted (absent: the address had none). */
  lifted?: SuppressionRow;
  /** SES's account-level list: taken off, was not on it, or not asked (local). */
  ses: "removed" | "not-listed" | "no-list";
}

/** Lifts the suppression of `address` (our record, and SES's account-level entry when there is a list). */
export async function liftSuppression(
  ports: { state: StateTable; ses?: SesSuppressionList },
  address: string,
): Promise<LiftOutcome> {
  const email = normaliseEmailAddress(address);
  const record = await getSuppression(ports.state, email);
  if (record !== undefined) {
    await ports.state.doc.send(
      new DeleteCommand({ TableName: ports.state.tableName, Key: suppressionKey(email) }),
    );
  }
  const ses =
    ports.ses === undefined ? "no-list" : (await ports.ses.remove(email)) ? "removed" : "not-listed";
  return { email, ...(record === undefined ? {} : { lifted: suppressionRow(record) }), ses };
}
