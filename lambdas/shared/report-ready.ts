/**
 * The report-ready message: what both the poller and the webhook put on the report-ready
 * queue, and what the delivery reads. One schema, validated on both ends.
 */
import * as z from "zod";
import { ITEM_STATUSES, REPORT_TYPES, type ReportType } from "./lasso/enums.ts";

/** `test`: an operator's test send (`lasso-reports test-send`), to `testTo` only, never a delivery. */
export const REPORT_READY_SOURCES = ["poll", "webhook", "resend", "test"] as const;

/** The batch id of a test send without a report of the customer: the sample PDF. */
export const SAMPLE_BATCH_ID = "sample";
export type ReportReadySource = (typeof REPORT_READY_SOURCES)[number];

export const reportReadyMessageSchema = z
  .object({
    version: z.literal(1),
    /** Lasso's batch id. */
    batchId: z.string().min(1).max(200),
    /** The company, 8 digits. */
    cvr: z.string().regex(/^\d{8}$/, "cvr must be 8 digits"),
    /** Absent when a webhook did not say; the delivery then takes it from the batch. */
    reportType: z.enum(REPORT_TYPES).optional(),
    itemStatus: z.enum(ITEM_STATUSES),
    internalCustomerId: z.number().int().optional(),
    /** Lasso's id of this report (item), when known. Identifies reports of listener batches. */
    reportId: z.string().min(1).max(200).optional(),
    lassoId: z.string().max(200).optional(),
    companyName: z.string().max(500).optional(),
    pdfUrl: z.string().max(4000).optional(),
    fileName: z.string().max(500).optional(),
    errorMessage: z.string().max(2000).optional(),
    /** When Lasso finished the report, if it said. */
    finishedAt: z.string().max(100).optional(),
    source: z.enum(REPORT_READY_SOURCES),
    /** When our side saw it (ISO 8601). */
    seenAt: z.string().min(1),
    /** Fields of a webhook payload that we do not know, kept as they came (bounded in size). */
    extra: z.record(z.string(), z.unknown()).optional(),
    /** A test send's one recipient (source `test` only). */
    testTo: z.email().optional(),
  })
  .refine((message) => (message.source === "test") === (message.testTo !== undefined), {
    message: "testTo is given exactly for a test send (source test)",
    path: ["testTo"],
  });

export type ReportReadyMessage = z.infer<typeof reportReadyMessageSchema>;

export function parseReportReadyMessage(body: string): ReportReadyMessage {
  return reportReadyMessageSchema.parse(JSON.parse(body));
}

export function serialiseReportReadyMessage(message: ReportReadyMessage): string {
  return JSON.stringify(reportReadyMessageSchema.parse(message));
}

export interface ReportIdentityInput {
  batchId: string;
  cvr: string;
  reportType: ReportType;
  reportId?: string | undefined;
}

/**
 * The identity of one report: what makes "handed on once" and "delivered once" decidable,
 * however often and by whichever path the report is seen. A non-listener batch has one
 * report per company and type; a listener batch produces a new report for the same
 * company on every change, so its reports are told apart by Lasso's report id.
 */
export function reportIdentity(input: ReportIdentityInput, batch: { isListener: boolean }): string {
  const base = `${input.batchId}#${input.cvr}#${input.reportType}`;
  if (!batch.isListener) return base;
  if (!input.reportId) {
    throw new Error(`report of listener batch ${input.batchId} for cvr ${input.cvr} has no report id`);
  }
  return `${base}#${input.reportId}`;
}
