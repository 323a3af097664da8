/**
 * `test-send --customer ID --type TYPE --to ADDRESS`: puts a test send on the report-ready
 * queue (source `test`), for deliver-report to compose exactly the mail the customer would
 * get, with the customer's latest report of the type (its latest Lasso batch, the PDF fresh
 * from Lasso's item list) or the sample PDF, and send it to ADDRESS only, marked as a test.
 * Then waits for its record in the delivery history (kind `test`).
 */

import type { SQSClient } from "@aws-sdk/client-sqs";
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { paginateQuery } from "@aws-sdk/lib-dynamodb";
import { getCustomer } from "#shared/customer-reads.ts";
import type { ReportType } from "#shared/lasso/enums.ts";
import { type ReportReadyMessage, SAMPLE_BATCH_ID } from "#shared/report-ready.ts";
import { sendReportReady } from "#shared/report-ready-queue.ts";
import { type DeliveryRecord, listCustomerDeliveries } from "#shared/state/delivery-history.ts";
import type { ReportRecord } from "#shared/state/records.ts";
import type { StateTable } from "#shared/state/state-table.ts";
import { REPORTS_BY_CUSTOMER } from "./deliveries-view.ts";
import { CliFailure } from "./errors.ts";

export interface TestSendRequest {
  customerId: number;
  reportType: ReportType;
  to: string;
  /** Use the sample PDF even when the customer has a report. */
  sample?: boolean;
  timeoutMs: number;
}

export interface TestSendPorts {
  state: StateTable;
  customers: { doc: DynamoDBDocumentClient; tableName: string };
  sqs: SQSClient;
  queueUrl: string;
  clock?: () => Date;
  sleep?: (ms: number) => Promise<void>;
}

export interface TestSendOutcome {
  customerId: number;
  reportType: ReportType;
  to: string;
  /** The Lasso batch whose report it carries, or "sample". */
  batchId: string;
  /** The test's delivery record, once deliver-report sent it. */
  delivery?: DeliveryRecord;
}

/** The customer's latest report of the type that a customer got (or would get): not Failed. */
export async function latestReportOf(
  state: StateTable,
  customerId: number,
  reportType: ReportType,
): Promise<ReportRecord | undefined> {
  let latest: ReportRecord | undefined;
  const pages = paginateQuery(
    { client: state.doc },
    {
      TableName: state.tableName,
      IndexName: REPORTS_BY_CUSTOMER,
      KeyConditionExpression: "customerId = :id",
      ExpressionAttributeValues: { ":id": customerId },
    },
  );
  for await (const page of pages) {
    for (const item of page.Items ?? []) {
      const record = item as ReportRecord;
      if (
        record.recordType !== "report" ||
        record.reportType !== reportType ||
        record.itemStatus === "Failed"
      )
        continue;
      if (latest === undefined || record.createdAt > latest.createdAt) latest = record;
    }
  }
  return latest;
}

export async function testSend(request: TestSendRequest, ports: TestSendPorts): Promise<TestSendOutcome> {
  const clock = ports.clock ?? (() => new Date());
  const sleep = ports.sleep ?? ((ms: number) => new Promise((resolve) => setTimeout(resolve, ms)));
  const row = await getCustomer(ports.customers.doc, ports.customers.tableName, request.customerId);
  if (row === undefined) throw new CliFailure(`no customer ${request.customerId}`);
  if (!row.ok) throw new CliFailure(`customer ${request.customerId}'s row is unusable: ${row.reason}`);
  const customer = row.customer;
  // The latest report the customer was sent (the history names its company as mailed), else
  // the latest finished report on record, else the sample.
  const sentBefore =
    request.sample === true
      ? undefined
      : (await listCustomerDeliveries(ports.state, customer.customerId))
          .filter((record) => record.kind !== "test" && record.reportType === request.reportType)
          .at(-1);
  const report =
    request.sample === true || sentBefore !== undefined
      ? sentBefore
      : await latestReportOf(ports.state, customer.customerId, request.reportType);
  const started = clock();
  const message: ReportReadyMessage = {
    version: 1,
    batchId: report?.lassoBatchId ?? SAMPLE_BATCH_ID,
    cvr: report?.cvr ?? customer.cvr,
    reportType: request.reportType,
    itemStatus: report !== undefined && "itemStatus" in report ? report.itemStatus : "Completed",
    internalCustomerId: customer.customerId,
    ...(report?.reportId === undefined ? {} : { reportId: report.reportId }),
    ...(report?.fileName === undefined ? {} : { fileName: report.fileName }),
    ...(sentBefore === undefined ? {} : { companyName: sentBefore.companyName }),
    source: "test",
    seenAt: started.toISOString(),
    testTo: request.to,
  };
  await sendReportReady({ sqs: ports.sqs, queueUrl: ports.queueUrl }, [message]);
  const outcome: TestSendOutcome = {
    customerId: customer.customerId,
    reportType: request.reportType,
    to: request.to,
    batchId: message.batchId,
  };
  const deadline = started.getTime() + request.timeoutMs;
  // Delivery ids start with their UTC time: the test's record is one at or after `started`.
  const since = new Date(started.getTime() - 1000);
  while (clock().getTime() < deadline) {
    const tests = (await listCustomerDeliveries(ports.state, customer.customerId, { from: since })).filter(
      (record) =>
        record.kind === "test" && record.recipients.includes(request.to) && record.state !== "archived",
    );
    const found = tests.at(-1);
    if (found !== undefined) return { ...outcome, delivery: found };
    await sleep(500);
  }
  return outcome;
}
