/**
 * The report-ready message: what both the poller and the webhook put on the report-ready
 * queue, and what the delivery reads. One schema, validated on both ends.
 */
import * as z from "zod/mini";
import "./zod-english.ts";
import { ITEM_STATUSES, REPORT_TYPES, type ReportType } from "./lasso/enums.ts";

/** `test`: an operator's test send (`lasso-reports test-send`), to `testTo` only, never a delivery. */
export const REPORT_READY_SOURCES = ["poll", "webhook", "resend", "test"] as const;

/** The batch id of a test send without a report of the customer: the sample PDF. */
export const SAMPLE_BATCH_ID = "sample";
export type ReportReadySource = (typeof REPORT_READY_SOURCES)[number];

/** Text of at most `max` characters. */
const text = (max: number) => z.string().check(z.maxLength(max));
/** Text of 1 to `max` characters. */
const someText = (max: number) => z.string().check(z.minLength(1), z.maxLength(max));

export const reportReadyMessageSchema = z
  .object({
    version: z.literal(1),
    /** Lasso's batch id. */
    batchId: someText(200),
    /** The company, 8 digits. */
    cvr: z.string().check(z.regex(/^\d{8}$/, "cvr must be 8 digits")),
    /** Absent when a webhook did not say; the delivery then takes it from the batch. */
    reportType: z.optional(z.enum(REPORT_TYPES)),
    itemStatus: z.enum(ITEM_STATUSES),
    internalCustomerId: z.optional(z.int()),
    /** Lasso's id of this report (item), when known. Identifies reports of listener batches. */
    reportId: z.optional(someText(200)),
    lassoId: z.optional(text(200)),
    companyName: z.optional(text(500)),
    pdfUrl: z.optional(text(4000)),
    fileName: z.optional(text(500)),
    errorMessage: z.optional(text(2000)),
    /** When Lasso finished the report, if it said. */
    finishedAt: z.optional(text(100)),
    source: z.enum(REPORT_READY_SOURCES),
    /** When our side saw it (ISO 8601). */
    seenAt: z.string().check(z.minLength(1)),
    /** Fields of a webhook payload that we do not know, kept as they came (bounded in size). */
    extra: z.optional(z.record(z.string(), z.unknown())),
    /** A test send's one recipient (source `test` only). */
    testTo: z.optional(z.email()),
  })
  .check(
    z.refine((message) => (message.source === "test") === (message.testTo !== undefined), {
      message: "testTo is given exactly for a test send (source test)",
      path: ["testTo"],
    }),
  );

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
